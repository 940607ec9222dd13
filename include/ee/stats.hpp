#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ee {

/// Counters of one subscriber (plugin) as seen by the engine.
struct subscriber_stats {
  /// Events routed to it.
  std::uint64_t routed = 0;
  /// Events it acknowledged (handled).
  std::uint64_t handled = 0;
  /// Events dropped by its overflow policy.
  std::uint64_t dropped = 0;
  /// Events sent to dead letters (the event it failed on).
  std::uint64_t dead_letters = 0;
  /// Times it failed.
  std::uint64_t failures = 0;
  /// Times it was restarted.
  std::uint64_t restarts = 0;
  /// Largest number of queued (undelivered + unacknowledged) events seen.
  std::uint64_t peak_queue = 0;
};

/// Counters of the engine.
struct engine_stats {
  /// Events published into the engine.
  std::uint64_t published = 0;
  /// Events delivered to subscribers (counting each copy).
  std::uint64_t delivered = 0;
  /// Events dropped in total.
  std::uint64_t dropped = 0;
  /// Dead letters in total.
  std::uint64_t dead_letters = 0;
  /// Malformed or oversized messages rejected from the wire.
  std::uint64_t rejected = 0;
  /// Events dropped for slow raw TCP subscribers on the subscribe port
  /// (they keep ZeroMQ's drop-at-high-water-mark semantics).
  std::uint64_t raw_dropped = 0;
  /// Per plugin, by name.
  std::map<std::string, subscriber_stats> plugins;
};

} // namespace ee
