#pragma once

// What one connection may make libzmq hold on a socket the bridge reads,
// derived from the budgets of `app_config` (docs/design.md, the memory
// table). libzmq bounds its pipes in messages only (RCVHWM per connection)
// and allocates a frame of the size its header announces (up to
// ZMQ_MAXMSGSIZE) before reading it.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ee {

/// @returns ZMQ_MAXMSGSIZE for a socket with this `max_message_size`: twice
/// it plus 1 MiB, so frames up to that get a `bad msg` reply or a counted
/// drop, bigger ones make libzmq drop the connection before allocating them.
inline std::int64_t frame_limit(std::size_t max_message_size) {
  return static_cast<std::int64_t>(max_message_size) * 2 + (1 << 20);
}

/// @returns ZMQ_RCVHWM per connection for a socket whose reader may stop
/// (no credit): as many maximum-size messages as fit in `window_bytes`, at
/// least one, at most libzmq's default of 1,000. One connection then holds
/// at most `window_bytes` (or one message) queued, plus the frame libzmq is
/// reading.
inline int receive_hwm(std::size_t window_bytes, std::size_t max_message_size) {
  auto n = window_bytes / std::max<std::size_t>(max_message_size, 1);
  return static_cast<int>(std::clamp<std::size_t>(n, 1, 1000));
}

/// ZMQ_RCVHWM per connection of an external plugin's command port:
/// `receive_hwm`, but at least 3. libzmq's reader tells the I/O thread it
/// may read more every HWM/2 messages (the low-water mark, at least 1);
/// with an HWM of 1 or 2 that is one more wake-up of the I/O thread per
/// request, two per publish + next_msg pair (docs/performance.md, round
/// trips). A REQ client has one request outstanding; only a client that
/// pipelines gets three read ahead, so a connection holds at most three
/// messages (or `window_bytes`) plus the frame libzmq is reading.
inline int command_port_hwm(std::size_t window_bytes,
                            std::size_t max_message_size) {
  return std::max(receive_hwm(window_bytes, max_message_size), 3);
}

/// ZMQ_HANDSHAKE_IVL of a CURVE port, in milliseconds: a client that holds
/// a connection in its handshake longer is dropped (libzmq's default: 30 s).
/// A CURVE handshake takes two round trips and a ZAP request.
inline constexpr int handshake_timeout_ms = 2000;

/// ZMQ_MAXMSGSIZE of the subscribe port: subscriptions are small, and a
/// huge one would cost libzmq about 32 bytes of trie per filter byte.
inline constexpr std::int64_t max_subscription_size = 64 * 1024;

/// ZMQ_RCVHWM of the subscribe port per connection: subscriptions libzmq
/// reads ahead (each at most `max_subscription_size`). One: libzmq applies
/// a subscription to its trie when the bridge's thread takes it from the
/// pipe, and takes on as long as the pipe refills; with one message per
/// pipe that stops after about one, and the bridge checks the limits.
inline constexpr int subscription_hwm = 1;

} // namespace ee
