#include "src/core/publish_queue.hpp"

#include <algorithm>

namespace ee {

namespace {

std::size_t ring_size(std::size_t capacity) {
  capacity = std::clamp<std::size_t>(capacity, 2, publish_queue::max_capacity);
  std::size_t n = 2;
  while (n < capacity)
    n *= 2;
  return n;
}

} // namespace

publish_queue::publish_queue(std::size_t capacity)
    : mask_(ring_size(capacity) - 1) {
  // nop
}

publish_queue::~publish_queue() {
  delete[] slots_.load(std::memory_order_relaxed);
}

// -- producer -----------------------------------------------------------------

bool publish_queue::push(event ev) {
  auto tail = tail_.load(std::memory_order_relaxed);
  auto* slots = slots_.load(std::memory_order_relaxed);
  // Once anything spilled, everything spills until the consumer took the
  // spill list (after the ring): order is kept.
  bool room =
      tail - head_seen_ <= mask_ ||
      tail - (head_seen_ = head_.load(std::memory_order_acquire)) <= mask_;
  if (room && !spilled_.load(std::memory_order_acquire)) {
    if (slots == nullptr) {
      slots = new event[mask_ + 1];
      // Published to the consumer by the tail store below.
      slots_.store(slots, std::memory_order_relaxed);
    }
    slots[tail & mask_] = std::move(ev);
    tail_.store(tail + 1, std::memory_order_seq_cst);
  } else {
    spill(std::move(ev));
  }
  return idle_.load(std::memory_order_seq_cst) &&
         idle_.exchange(false, std::memory_order_acq_rel);
}

void publish_queue::spill(event ev) {
  std::lock_guard<std::mutex> guard{spill_mtx_};
  spill_.push_back(std::move(ev));
  spilled_.store(true, std::memory_order_seq_cst);
}

// -- consumer -----------------------------------------------------------------

void publish_queue::take_ring(std::vector<event>& out) {
  auto head = head_.load(std::memory_order_relaxed);
  auto tail = tail_.load(std::memory_order_acquire);
  if (head == tail)
    return;
  auto* slots = slots_.load(std::memory_order_relaxed);
  for (; head != tail; ++head)
    out.push_back(std::move(slots[head & mask_]));
  head_.store(head, std::memory_order_release);
}

bool publish_queue::pending() const {
  return tail_.load(std::memory_order_seq_cst) !=
             head_.load(std::memory_order_relaxed) ||
         spilled_.load(std::memory_order_seq_cst);
}

void publish_queue::take(std::vector<event>& out) {
  for (;;) {
    take_ring(out);
    if (spilled_.load(std::memory_order_acquire)) {
      std::lock_guard<std::mutex> guard{spill_mtx_};
      // The producer pushed to the ring only before it spilled: what is in
      // the ring now is older than the spill list.
      take_ring(out);
      std::move(spill_.begin(), spill_.end(), std::back_inserter(out));
      spill_.clear();
      spilled_.store(false, std::memory_order_release);
    }
    idle_.store(true, std::memory_order_seq_cst);
    // A push after our last look found the outbox busy and rang nothing:
    // take the doorbell back and go on, unless the producer rang already.
    if (!pending() || !idle_.exchange(false, std::memory_order_acq_rel))
      return;
  }
}

} // namespace ee
