#pragma once

// The one seam between the engine (actors/, CAF) and the bridge (bridge/,
// ZeroMQ). Neither side includes the other's machinery: the engine calls a
// `bridge_link`, the bridge calls an `engine_link`. Both are thread-safe and
// never block for long: each call queues work for the other side's thread.

#include <cstdint>
#include <string>
#include <vector>

#include "src/core/shared_types.hpp"

namespace ee {

/// What the engine asks of the bridge. Implemented by the bridge.
/// Thread-safe; every call returns at once (it queues a command for the
/// bridge's thread and rings its doorbell).
class bridge_link {
public:
  virtual ~bridge_link();

  /// Events for external plugin `id`, in order. The engine hands over at
  /// most its delivery window and counts them in flight until settled.
  virtual void deliver(endpoint_id id, event_batch&& events) = 0;

  /// Events for raw SUB clients on the subscribe port. Their bytes count
  /// against the raw byte budget until `take_raw_released` returns them.
  virtual void deliver_raw(event_batch&& events) = 0;

  /// More publish credit for `pub` (an endpoint or `raw_publish_port`).
  virtual void grant(endpoint_id pub, credit c) = 0;

  /// Launches (or relaunches) the process of external plugin `id`. Events
  /// in flight to the old process go back to the front of its queue (one
  /// delivery attempt spent).
  virtual void launch(endpoint_id id) = 0;

  /// The plugin is gone for good: stop serving its port (requests get a
  /// `bad msg` reply), discard its events (reported as `discarded`), and
  /// terminate its process: SIGTERM now, SIGKILL at the shutdown deadline.
  virtual void retire(endpoint_id id) = 0;

  /// @returns the bytes of raw events that ZeroMQ released (sent or dropped)
  /// since the last call.
  virtual std::uint64_t take_raw_released() = 0;
};

/// What the bridge tells the engine. Implemented by the engine side.
/// Thread-safe; called from the bridge's thread only.
class engine_link {
public:
  virtual ~engine_link();

  /// Events published on the wire by `pub` (an endpoint or
  /// `raw_publish_port`), in order, within the credit it was granted.
  virtual void published(endpoint_id pub, event_batch&& events) = 0;

  /// Events handed to endpoint `id` are settled.
  virtual void settled(endpoint_id id, settlement&& s) = 0;

  /// The first request arrived on endpoint `id` (for `await_first_request`).
  virtual void first_request(endpoint_id id) = 0;

  /// External plugin `id` sent `plugin_command: quit`.
  virtual void quit(endpoint_id id) = 0;

  /// The process of external plugin `id` exited (`normal`: exit code 0) or
  /// could not be launched; `text` says how.
  virtual void exited(endpoint_id id, bool normal, std::string text) = 0;

  /// A raw SUB client subscribed to (or unsubscribed from) `filter`.
  virtual void raw_subscription(std::string filter, bool subscribed) = 0;

  /// The bridge's thread ended on an error (`what` says which): no port is
  /// served any more and every launched process was killed. The last call.
  virtual void failed(std::string what) = 0;
};

} // namespace ee
