#pragma once

#include <cstdint>
#include <cstring>
#include <iterator>
#include <optional>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

namespace ee {

/// One event of a ZeroMQ socket monitor (`zmq_socket_monitor`).
struct monitor_event {
  /// A `ZMQ_EVENT_*` id.
  std::uint16_t id = 0;
  /// Its value: a file descriptor (ACCEPTED, DISCONNECTED), an error code
  /// or a status (HANDSHAKE_FAILED_*), ...
  std::int32_t value = 0;
};

/// @returns the next event pending on the monitor socket `mon` without
/// waiting, or nothing if none is pending (malformed events are skipped).
inline std::optional<monitor_event> next_monitor_event(zmq::socket_t& mon) {
  for (;;) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(mon, std::back_inserter(frames),
                             zmq::recv_flags::dontwait))
      return std::nullopt;
    if (frames.empty() || frames[0].size() < 6)
      continue;
    monitor_event ev;
    auto data = static_cast<const char*>(frames[0].data());
    std::memcpy(&ev.id, data, sizeof(ev.id));
    std::memcpy(&ev.value, data + sizeof(ev.id), sizeof(ev.value));
    return ev;
  }
}

} // namespace ee
