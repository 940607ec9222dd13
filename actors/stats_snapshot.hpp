#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actors/router.hpp"
#include "actors/supervisor.hpp"
#include "ee/stats.hpp"

namespace ee {

/// @returns the engine's counters from its router and supervisor (plain:
/// no CAF). Subscriber `i` of the router is plugin `i` of the supervisor;
/// `kinds[i]` says how it runs.
engine_stats make_stats(const router& r, const supervisor* sup,
                        const std::vector<std::string>& kinds,
                        std::uint64_t raw_published);

} // namespace ee
