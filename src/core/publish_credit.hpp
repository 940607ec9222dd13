#pragma once

#include <cstddef>
#include <cstdint>

#include "src/core/shared_types.hpp"

namespace ee {

/// The publish credit a publisher holds: granted by the engine (see
/// `router_sink::grant`), spent one event at a time. Publishing may go on
/// while both the events and the bytes left are positive, so an event larger
/// than the bytes left still goes and the bytes may end up negative: a
/// publisher overshoots its byte window by at most one event. (A plugin's
/// callback cannot be interrupted, so an actor plugin may overshoot by more;
/// it then waits until grants make up for it.) Plain, not thread-safe.
class publish_credit {
public:
  publish_credit() = default;

  explicit publish_credit(credit initial) noexcept { grant(initial); }

  /// Adds `c`.
  void grant(credit c) noexcept {
    events_ += static_cast<std::int64_t>(c.events);
    bytes_ += static_cast<std::int64_t>(c.bytes);
  }

  /// Spends the credit of one event of `size` bytes.
  void spend(std::size_t size) noexcept {
    --events_;
    bytes_ -= static_cast<std::int64_t>(size);
  }

  /// @returns true if the publisher may publish its next event.
  bool available() const noexcept { return events_ > 0 && bytes_ > 0; }

  /// @returns the events left (negative: overspent).
  std::int64_t events() const noexcept { return events_; }

  /// @returns the bytes left (negative: overspent).
  std::int64_t bytes() const noexcept { return bytes_; }

private:
  std::int64_t events_ = 0;
  std::int64_t bytes_ = 0;
};

} // namespace ee
