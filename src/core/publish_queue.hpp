#pragma once

#include <mutex>
#include <vector>

#include "ee/event.hpp"

namespace ee {

/// The outbox of one publisher: its thread appends events, the engine takes
/// them in batches. The first event into an empty outbox rings the doorbell
/// (one message to the engine), so a publisher costs one lock per event
/// instead of one actor message, and no event waits for a batch to fill up.
///
/// Invariant: while the outbox is not empty, a doorbell is on its way to the
/// engine or being handled. Thread-safe.
class publish_queue {
public:
  /// Appends `ev`. @returns true if the caller must ring the doorbell.
  bool push(event ev) {
    std::lock_guard<std::mutex> guard{mtx_};
    items_.push_back(std::move(ev));
    return items_.size() == 1;
  }

  /// Moves every queued event into `out` (which must be empty; its capacity
  /// is kept for the next events).
  void take(std::vector<event>& out) {
    std::lock_guard<std::mutex> guard{mtx_};
    out.swap(items_);
  }

private:
  std::mutex mtx_;
  std::vector<event> items_; // guarded by mtx_
};

} // namespace ee
