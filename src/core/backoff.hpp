#pragma once

#include <algorithm>
#include <chrono>

#include "ee/supervision.hpp"

namespace ee {

/// @returns the delay before the next restart: `bo.initial` when `reset` (the
/// first restart, or the plugin ran longer than `bo.reset_after`), else
/// `previous * bo.factor`, never above `bo.max`.
inline std::chrono::milliseconds
next_backoff(const backoff& bo, std::chrono::milliseconds previous,
             bool reset) {
  if (reset)
    return std::min(bo.initial, bo.max);
  auto next = static_cast<double>(previous.count()) * std::max(bo.factor, 1.0);
  auto cap = static_cast<double>(bo.max.count());
  return std::chrono::milliseconds{static_cast<long long>(std::min(next, cap))};
}

/// @returns `delay` spread by ±`jitter` (a fraction): `unit` in [0, 1) picks
/// the point in that range (0.5 = no change).
inline std::chrono::milliseconds with_jitter(std::chrono::milliseconds delay,
                                             double jitter, double unit) {
  if (jitter <= 0 || delay.count() == 0)
    return delay;
  auto factor = 1.0 + jitter * (2.0 * unit - 1.0);
  return std::chrono::milliseconds{
      static_cast<long long>(static_cast<double>(delay.count()) * factor)};
}

} // namespace ee
