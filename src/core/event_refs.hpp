#pragma once

#include <cstdint>

#include "ee/event.hpp"

namespace ee::detail {

/// Counts many holders of an event with one atomic addition: fanning an
/// event out to K subscribers costs one `fetch_add(K)` on its block instead
/// of K increments (each a write to a cache line the subscribers' threads
/// keep taking back when they drop their copies). Usage: `add(ev, k)`, then
/// exactly `k` calls of `adopt(ev)`, each an event that owns one of them.
struct event_refs {
  /// Adds `n` references to `ev`'s block.
  static void add(const event& ev, std::uint32_t n) noexcept {
    if (n > 0 && !ev.is_empty_block())
      ev.b_->refs.fetch_add(n, std::memory_order_relaxed);
  }

  /// @returns an event owning one reference added by `add` (no atomic).
  static event adopt(const event& ev) noexcept { return event{ev.b_}; }
};

} // namespace ee::detail
