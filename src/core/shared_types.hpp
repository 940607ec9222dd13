#pragma once

// The plain types the engine's side (actors/) and the bridge's side
// (bridge/) share: neither side's header needs the other's to name them.

#include <cstdint>
#include <limits>
#include <vector>

#include "ee/event.hpp"
#include "src/core/ids.hpp"

namespace ee {

/// A batch of events in one hand-off.
using event_batch = std::vector<event>;

/// The publisher id of the raw publish port (raw PUB clients), beside the
/// external plugins' endpoints.
inline constexpr endpoint_id raw_publish_port = endpoint_id::none();

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

} // namespace ee
