#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include "ee/event.hpp"

namespace ee {

/// The outbox of one publisher: its thread appends events, the engine takes
/// them in batches. The first event into an idle outbox rings the doorbell
/// (one message to the engine), so a publisher costs no actor message per
/// event, and no event waits for a batch to fill up.
///
/// A single-producer, single-consumer ring: no lock on the way in or out.
/// The producer is the publisher's thread of control (an actor plugin's
/// callbacks; a blocking plugin's thread), the consumer the engine; each
/// side may move between threads as long as a message hands it over. The
/// ring holds up to `capacity` events and is allocated by the first push (an
/// idle publisher costs none of it); the publish window (credit) keeps a
/// blocking publisher within it. An actor plugin may publish more in one
/// callback than its credit allows: what does not fit goes to a
/// mutex-guarded spill list, drained after the ring, so order is kept.
///
/// Doorbell invariant: while the outbox is not empty, a doorbell is on its
/// way to the engine or being handled (`idle_` is false). The producer's
/// tail store and the consumer's `idle_` store are both sequentially
/// consistent, so each side sees the other's last write before deciding.
class publish_queue {
public:
  /// @param capacity events the ring holds before spilling (rounded up to a
  ///        power of two, at most `max_capacity`).
  explicit publish_queue(std::size_t capacity = 1024);

  publish_queue(const publish_queue&) = delete;
  publish_queue& operator=(const publish_queue&) = delete;

  ~publish_queue();

  /// The largest ring (events); a wider window spills past it.
  static constexpr std::size_t max_capacity = 4096;

  // -- producer ---------------------------------------------------------------

  /// Appends `ev`. @returns true if the caller must ring the doorbell.
  bool push(event ev);

  // -- consumer ---------------------------------------------------------------

  /// Appends every queued event to `out`, in order (its capacity is kept by
  /// the caller for the next batch), and marks the outbox idle: the next
  /// push rings the doorbell again.
  void take(std::vector<event>& out);

  /// @returns the ring's capacity.
  std::size_t capacity() const noexcept { return mask_ + 1; }

private:
  void spill(event ev);
  void take_ring(std::vector<event>& out);
  bool pending() const;

  static constexpr std::size_t line = 64;

  const std::size_t mask_;
  // Written once by the producer (first push), before the tail it
  // publishes; read by the consumer after that tail.
  std::atomic<event*> slots_{nullptr};
  // Producer's line: its position and its last view of the consumer's.
  alignas(line) std::atomic<std::size_t> tail_{0};
  std::size_t head_seen_ = 0;
  // Consumer's line: its position.
  alignas(line) std::atomic<std::size_t> head_{0};
  // Shared: the doorbell and the spill list.
  alignas(line) std::atomic<bool> idle_{true};
  std::atomic<bool> spilled_{false};
  std::mutex spill_mtx_;
  std::vector<event> spill_; // guarded by spill_mtx_
};

} // namespace ee
