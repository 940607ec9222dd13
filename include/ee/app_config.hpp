#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "ee/event_type.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// Application-wide settings. Every field has a working default.
struct app_config {
  /// TCP port where raw PUB clients publish into the engine (engine: SUB).
  /// 0 picks a free port. Range 0..65535.
  int publish_port = 5559;
  /// TCP port where raw SUB clients receive every event (engine: XPUB).
  /// 0 picks a free port. Range 0..65535.
  int subscribe_port = 5560;
  /// Address the TCP sockets bind to: loopback by default; `"*"` or
  /// `"0.0.0.0"` for every interface (containers).
  std::string bind_address = "127.0.0.1";
  /// If false, no TCP port is opened unless external plugins are registered
  /// (useful for purely in-process apps and tests).
  bool enable_tcp = true;
  /// Largest event accepted from the wire, in bytes; larger ones are
  /// rejected with an error reply and counted.
  std::size_t max_message_size = 64 * 1024 * 1024;
  /// Default capacity of each subscriber's queue, in events (queued plus
  /// delivered and not yet handled).
  std::size_t queue_capacity = 10000;
  /// Default capacity of each subscriber's queue, in bytes. An event larger
  /// than this still gets into an empty queue, so memory per subscriber is
  /// bounded by `queue_bytes + max_message_size`.
  std::size_t queue_bytes = 64 * 1024 * 1024;
  /// How many events may be delivered to a plugin before it acknowledges.
  std::size_t delivery_window = 1000;
  /// How many events a publisher may have in flight to the engine before it
  /// waits for credit (blocking plugins wait in `publish`; actor plugins'
  /// scheduled actions wait; the bridge stops reading its sockets).
  std::size_t publish_window = 1000;
  /// The same window in bytes: a publisher waits while this many bytes of
  /// its events are not yet routed.
  std::size_t publish_window_bytes = 64 * 1024 * 1024;
  /// Bytes of events on their way to raw SUB clients of the subscribe port
  /// (queued inside ZeroMQ). Beyond it, events for raw subscribers are
  /// dropped and counted (`engine_stats::raw_dropped`), as ZeroMQ drops at
  /// its high-water mark.
  std::size_t raw_subscriber_bytes = 64 * 1024 * 1024;
  /// Which plugins are restarted when one fails.
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Restart intensity: at most `max_restarts` within `restart_period`,
  /// else the app escalates (stops everything, `run()` fails).
  std::size_t max_restarts = 5;
  /// See `max_restarts`.
  std::chrono::milliseconds restart_period{10000};
  /// Bound on shutdown, from `stop()` (or the end of the last plugin) to
  /// `run()` returning: queues drain and plugins stop in reverse order
  /// within it; what is still running at the deadline is abandoned (a
  /// plugin stuck in its own code is named in the log and in `run()`'s
  /// result) and processes get SIGKILL. `run()` returns shortly after.
  std::chrono::milliseconds shutdown_grace{3000};
  /// Worker threads of the actor scheduler (0 = number of cores).
  std::size_t scheduler_threads = 0;
  /// Event types to count by (`engine_stats::types`), besides those the
  /// plugins subscribe to (whose names come from their `event_type`s).
  std::vector<event_type> event_types;
  /// If not zero, the engine publishes its counters this often as the event
  /// `ee.stats\n<JSON>` (see `to_json`), which reaches subscriptions that
  /// name it (`"ee.stats"`), internal or external.
  std::chrono::milliseconds stats_interval{0};
};

} // namespace ee
