#pragma once

// An event's reference count, for tests and the engine's router (not part
// of the public API).

#include <cstdint>

#include "ee/event.hpp"

namespace ee::detail {

struct event_access {
  /// Adds `n` references to `ev`'s block at once. Then exactly `n` calls of
  /// `adopt(ev)` follow, each an event that owns one of them. Fanning an
  /// event out to K subscribers so costs one `fetch_add(K)` instead of K
  /// increments, each a write to a cache line that the subscribers' threads
  /// keep taking back when they drop their copies (the router's `fan_out`).
  static void add(const event& ev, std::uint32_t n) noexcept {
    if (n > 0 && !ev.is_empty_block())
      ev.b_->refs.fetch_add(n, std::memory_order_relaxed);
  }

  /// @returns an event owning one reference added by `add` (no atomic).
  static event adopt(const event& ev) noexcept { return event{ev.b_}; }

  /// @returns how many events share `x`'s buffer (0 for an empty event,
  /// whose buffer is not counted).
  static long use_count(const event& x) noexcept {
    return x.is_empty_block() ? 0 : x.b_->refs.load(std::memory_order_relaxed);
  }
};

} // namespace ee::detail
