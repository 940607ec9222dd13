#pragma once

#include <vector>

#include "ee/event_type.hpp"
#include "ee/supervision.hpp"

namespace ee {

namespace lifecycle {
/// Published when a federation link to peer `NAME` comes up:
/// `ee.lifecycle.peer_up:NAME` (docs/federation.md).
inline constexpr const char* peer_up = "ee.lifecycle.peer_up:";
/// Published when that link goes down: `ee.lifecycle.peer_down:NAME`.
inline constexpr const char* peer_down = "ee.lifecycle.peer_down:";
} // namespace lifecycle

/// The prefix of the periodic stats event: `ee.stats\n<JSON>` (see
/// `app_config::stats_interval`).
inline constexpr const char* stats_prefix = "ee.stats";

/// The engine's own events as named types, each named after its prefix
/// without the trailing ':' (`ee.stats`, `ee.lifecycle.started`, ...,
/// `ee.dead_letter`). The one list that `event-engine tap`, the TOML
/// loader (subscriptions by name) and the per-type metrics use.
inline const std::vector<event_type>& engine_event_types() {
  static const std::vector<event_type> types = [] {
    std::vector<event_type> result{event_type{stats_prefix}};
    for (const char* prefix :
         {lifecycle::started, lifecycle::stopped, lifecycle::failed,
          lifecycle::restarted, lifecycle::escalated, lifecycle::cycle,
          lifecycle::peer_up, lifecycle::peer_down, dead_letter_prefix}) {
      std::string filter{prefix};
      result.emplace_back(filter.substr(0, filter.size() - 1), filter);
    }
    return result;
  }();
  return types;
}

} // namespace ee
