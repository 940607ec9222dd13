#pragma once

#include <atomic>
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

/// The publish credit of a publisher that runs on its own thread (a
/// blocking plugin): the engine grants from its thread, the publisher spends
/// on its own, without a lock. Grants are running totals the publisher
/// compares with what it spent; the totals only grow, so a publisher that
/// reads an older total only waits longer. `grant` is sequentially
/// consistent, so a publisher that announces it waits and then finds no
/// credit is seen waiting by the next grant (see `blocking_port`).
class shared_publish_credit {
public:
  explicit shared_publish_credit(credit initial) noexcept { grant(initial); }

  /// Adds `c` (the engine's thread; one caller at a time).
  void grant(credit c) noexcept {
    events_.fetch_add(c.events, std::memory_order_seq_cst);
    bytes_.fetch_add(c.bytes, std::memory_order_seq_cst);
  }

  /// Spends the credit of one event of `size` bytes (the publisher only).
  void spend(std::size_t size) noexcept {
    ++spent_events_;
    spent_bytes_ += size;
  }

  /// @returns true if the publisher may publish its next event (the
  /// publisher only).
  bool available() const noexcept {
    return left(events_, spent_events_) > 0 && left(bytes_, spent_bytes_) > 0;
  }

private:
  static std::int64_t left(const std::atomic<std::uint64_t>& granted,
                           std::uint64_t spent) noexcept {
    return static_cast<std::int64_t>(granted.load(std::memory_order_seq_cst) -
                                     spent);
  }

  std::atomic<std::uint64_t> events_{0};
  std::atomic<std::uint64_t> bytes_{0};
  // The publisher's own.
  std::uint64_t spent_events_ = 0;
  std::uint64_t spent_bytes_ = 0;
};

} // namespace ee
