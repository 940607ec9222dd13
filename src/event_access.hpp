#pragma once

// What tests may read of an event's internals (not part of the public API).

#include "ee/event.hpp"

namespace ee::detail {

struct event_access {
  /// @returns how many events share `x`'s buffer (0 for an empty event,
  /// whose buffer is not counted).
  static long use_count(const event& x) noexcept {
    return x.is_empty_block() ? 0 : x.b_->refs.load(std::memory_order_relaxed);
  }
};

} // namespace ee::detail
