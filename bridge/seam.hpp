#pragma once

// The one seam between the engine (actors/, CAF) and the bridge (bridge/,
// ZeroMQ). Neither side includes the other's machinery: the engine calls a
// `bridge_link`, the bridge calls an `engine_link`. Both are thread-safe and
// never block for long: each call queues work for the other side's thread.

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "ee/event.hpp"

namespace ee {

/// A batch of events in one hand-off.
using event_batch = std::vector<event>;

/// Identifies an external plugin: its slot in the engine. On the wire side
/// it also names the plugin's command port as a publisher.
using endpoint_id = std::uint32_t;

/// The publisher id of the raw publish port (raw PUB clients).
inline constexpr endpoint_id raw_publish_port =
    std::numeric_limits<endpoint_id>::max();

/// Publish credit: how much more a publisher may hand to the engine.
struct credit {
  std::uint64_t events = 0;
  std::uint64_t bytes = 0;
};

/// What happened to events the engine handed to an endpoint, reported in
/// batches (at most one report per endpoint per poll-loop iteration). The
/// events themselves come back (no bytes are copied), so the engine can count
/// them by size and by event type.
struct settlement {
  /// Events done with: confirmed by the connection's next request
  /// (at_least_once) or sent (at_most_once).
  event_batch handled;
  /// Events the endpoint threw away because the plugin was retired.
  event_batch discarded;
  /// Events that reached the delivery-attempt limit (at_least_once): they go
  /// to dead letters.
  event_batch dead_letters;

  /// @returns true if there is nothing to report.
  bool empty() const noexcept {
    return handled.empty() && discarded.empty() && dead_letters.empty();
  }
};

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
