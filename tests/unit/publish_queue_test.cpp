// The outbox of a publisher (src/core/publish_queue.hpp): a single-producer
// ring with a doorbell and a spill list. Also run under ThreadSanitizer
// (docs/performance.md, "Round 2": no mutex per publish).

#include "src/core/publish_queue.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

using ee::event;
using ee::publish_queue;

namespace {

event numbered(std::uint64_t i) {
  return event{std::to_string(i)};
}

std::uint64_t number(const event& ev) {
  return std::stoull(std::string{ev.bytes()});
}

// Doorbells rung by the producer, taken by the consumer.
class doorbell {
public:
  void ring() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      ++rung_;
    }
    cv_.notify_one();
  }

  // @returns false if no doorbell came within 10 s (a lost wake-up).
  bool wait() {
    std::unique_lock<std::mutex> guard{mtx_};
    if (!cv_.wait_for(guard, std::chrono::seconds{10},
                      [this] { return rung_ > 0; }))
      return false;
    --rung_;
    return true;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::uint64_t rung_ = 0;
};

// How the producer of `hammer` paces itself.
struct pacing {
  // At most this many events not yet taken (0: no bound).
  std::uint64_t bound = 0;
  // After this many events, wait until all are taken (0: never). A push
  // that races with the end of a `take` is then the burst's last: if it
  // rang no doorbell, nothing would ever take it.
  std::uint64_t burst = 0;
  // Spin 0 to 7 times this long before each push.
  std::uint64_t spread_ns = 0;
};

// Pushes `n` numbered events on one thread, takes them on this one only
// when the doorbell rings, and checks that every event arrives once, in
// order.
void hammer(std::size_t capacity, std::uint64_t n, pacing pace) {
  publish_queue q{capacity};
  doorbell bell;
  std::atomic<std::uint64_t> taken{0};
  std::atomic<bool> gave_up{false};
  // Waits until at most `left` of the first `pushed` events are not taken.
  auto await_taken = [&](std::uint64_t pushed, std::uint64_t left) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds{10};
    while (pushed - taken.load(std::memory_order_acquire) > left)
      if (std::chrono::steady_clock::now() > until)
        return false;
      else
        std::this_thread::yield();
    return true;
  };
  std::thread producer{[&] {
    for (std::uint64_t i = 0; i < n && !gave_up; ++i) {
      if (pace.bound > 0 && !await_taken(i, pace.bound - 1))
        gave_up = true;
      // Within a burst, pushes spread over a few microseconds, so some land
      // while the consumer is inside `take`.
      auto until = std::chrono::steady_clock::now() +
                   std::chrono::nanoseconds{pace.spread_ns * (i % 8)};
      while (pace.spread_ns > 0 && std::chrono::steady_clock::now() < until)
        ; // spin
      if (q.push(numbered(i)))
        bell.ring();
      if (pace.burst > 0 && (i + 1) % pace.burst == 0 && !await_taken(i + 1, 0))
        gave_up = true;
    }
  }};
  std::vector<event> batch;
  std::uint64_t next = 0;
  bool lost = false;
  while (next < n) {
    if (!bell.wait()) {
      lost = true;
      break;
    }
    q.take(batch);
    for (auto& ev : batch) {
      ASSERT_EQ(number(ev), next);
      ++next;
    }
    batch.clear();
    taken.store(next, std::memory_order_release);
  }
  producer.join();
  EXPECT_FALSE(lost) << "the outbox held events and no doorbell rang (at "
                     << next << " of " << n << ")";
  EXPECT_EQ(next, n);
}

} // namespace

TEST(PublishQueue, TheFirstEventIntoAnIdleOutboxRingsTheDoorbell) {
  publish_queue q{8};
  EXPECT_TRUE(q.push(numbered(0)));
  EXPECT_FALSE(q.push(numbered(1)));
  std::vector<event> out;
  q.take(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(number(out[0]), 0u);
  EXPECT_EQ(number(out[1]), 1u);
  EXPECT_TRUE(q.push(numbered(2))); // idle again after the take
}

TEST(PublishQueue, AnEmptyTakeLeavesTheOutboxIdle) {
  publish_queue q{8};
  std::vector<event> out;
  q.take(out);
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(q.push(numbered(0)));
}

TEST(PublishQueue, CapacityIsAPowerOfTwoWithinBounds) {
  EXPECT_EQ(publish_queue{1000}.capacity(), 1024u);
  EXPECT_EQ(publish_queue{0}.capacity(), 2u);
  EXPECT_EQ(publish_queue{1u << 20}.capacity(), publish_queue::max_capacity);
}

TEST(PublishQueue, WhatDoesNotFitSpillsAndKeepsItsOrder) {
  publish_queue q{2};
  for (std::uint64_t i = 0; i < 10; ++i)
    q.push(numbered(i));
  std::vector<event> out;
  q.take(out);
  ASSERT_EQ(out.size(), 10u);
  for (std::uint64_t i = 0; i < 10; ++i)
    EXPECT_EQ(number(out[i]), i);
  // Back to the ring afterwards, around its end.
  out.clear();
  for (std::uint64_t i = 10; i < 13; ++i)
    q.push(numbered(i));
  q.take(out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(number(out[2]), 12u);
}

TEST(PublishQueue, TwoThreadsWithinTheWindowLoseNothing) {
  hammer(64, 200000, {64, 0, 0}); // the ring wraps ~3,000 times, no spill
}

TEST(PublishQueue, TwoThreadsBeyondTheRingLoseNothing) {
  hammer(16, 200000, {0, 0, 0}); // the producer runs ahead: ring and spill
}

TEST(PublishQueue, EveryBurstRingsTheDoorbellInTime) {
  hammer(64, 15000, {0, 3, 3000}); // 5,000 bursts, each waits to be taken
}
