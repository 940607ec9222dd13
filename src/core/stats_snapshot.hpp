#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ee/stats.hpp"
#include "src/core/router.hpp"
#include "src/core/supervisor.hpp"

// Copies a counter of a list in `ee/stats.hpp` from `from` to `to` (sums
// from `dropped()`).
#define EE_COPY(field, kind, ...) EE_COPY_##kind(field)
#define EE_COPY_counter(field) to.field = from.field;
#define EE_COPY_gauge(field) to.field = from.field;
#define EE_COPY_sum(field) to.field = from.field();

namespace ee {

/// Copies the `EE_PLUGIN_WIRE_COUNTERS` of an external plugin from the
/// bridge's `from` (fields of the same names) to `to`.
template <class Counters>
void copy_wire_counters(subscriber_stats& to, const Counters& from) {
  EE_PLUGIN_WIRE_COUNTERS(EE_COPY)
}

/// A plugin's ids in the router and the supervisor, and how it runs.
struct plugin_ids {
  sub_id sub;
  pub_id pub;
  child_id child;
  std::string kind;
};

/// @returns the engine's counters from its router and supervisor (plain:
/// no CAF), one entry per plugin of `plugins`.
engine_stats make_stats(const router& r, const supervisor* sup,
                        const std::vector<plugin_ids>& plugins,
                        std::uint64_t raw_published);

} // namespace ee
