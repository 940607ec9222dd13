// Section a's physical floor: the load-test pipeline (producer -> operator ->
// accumulator) with nothing but three threads passing the same events
// (ee::event, the same buffers) through two lock-free single-producer rings:
// no engine, no ZeroMQ. The fastest this machine moves these events through
// three stages; the engine's ratio to it is reported beside its ratio to raw
// libzmq.

#include "tests/benchmark/sections.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

#include <ee/event.hpp>

#include "tests/benchmark/pipeline_events.hpp"

namespace ee::bench {

namespace {

/// Where one thread sleeps until another has made progress: the sleeper
/// spins briefly, then flags that it sleeps and waits on a condition
/// variable; the other side locks and notifies only if that flag is set (a
/// fence on each side orders the flag against the ring's indices).
class waiter {
public:
  template <class F, class G>
  void until(F&& f, G&& before_sleep) {
    for (int i = 0; i < 256; ++i)
      if (f())
        return;
    before_sleep();
    std::unique_lock<std::mutex> guard{mtx_};
    while (true) {
      sleeping_.store(true, std::memory_order_relaxed);
      std::atomic_thread_fence(std::memory_order_seq_cst);
      if (f())
        break;
      // The timeout only bounds a wake-up lost to a bug; none is expected.
      cv_.wait_for(guard, std::chrono::milliseconds{10});
    }
    sleeping_.store(false, std::memory_order_relaxed);
  }

  void wake() {
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_relaxed)) {
      std::lock_guard<std::mutex> guard{mtx_};
      cv_.notify_one();
    }
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::atomic<bool> sleeping_{false};
};

/// A bounded single-producer single-consumer ring of events whose ends
/// block: `push` while full, `pop` while empty. Each end wakes the other
/// once per `batch` items, and whenever it is about to sleep itself (then
/// `before_sleep` also runs: a stage wakes its next stage too); `flush`
/// wakes the consumer at the end.
class spsc_ring {
public:
  static constexpr std::size_t capacity = 1024;
  static constexpr std::size_t batch = 64;

  /// Producer only.
  template <class G>
  void push(ee::event& ev, G&& before_sleep) {
    not_full_.until([&] { return try_push(ev); },
                    [&] {
                      flush();
                      before_sleep();
                    });
    if (++pushed_ % batch == 0)
      not_empty_.wake();
  }

  /// Producer only: wakes a sleeping consumer.
  void flush() { not_empty_.wake(); }

  /// Consumer only.
  template <class G>
  void pop(ee::event& out, G&& before_sleep) {
    not_empty_.until([&] { return try_pop(out); },
                     [&] {
                       not_full_.wake();
                       before_sleep();
                     });
    if (++popped_ % batch == 0)
      not_full_.wake();
  }

private:
  bool try_push(ee::event& ev) {
    auto t = tail_.load(std::memory_order_relaxed);
    if (t - head_seen_ == capacity) {
      head_seen_ = head_.load(std::memory_order_acquire);
      if (t - head_seen_ == capacity)
        return false;
    }
    slots_[t % capacity] = std::move(ev);
    tail_.store(t + 1, std::memory_order_release);
    return true;
  }

  bool try_pop(ee::event& out) {
    auto h = head_.load(std::memory_order_relaxed);
    if (h == tail_seen_) {
      tail_seen_ = tail_.load(std::memory_order_acquire);
      if (h == tail_seen_)
        return false;
    }
    out = std::move(slots_[h % capacity]);
    head_.store(h + 1, std::memory_order_release);
    return true;
  }

  std::array<ee::event, capacity> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::size_t tail_seen_ = 0; // the consumer's
  std::size_t popped_ = 0;
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) std::size_t head_seen_ = 0; // the producer's
  std::size_t pushed_ = 0;
  alignas(64) waiter not_empty_;
  alignas(64) waiter not_full_;
};

} // namespace

int child_floor_pipeline(std::uint64_t n) {
  long start_kb = status_kb("VmRSS");
  pipeline_shared s;
  s.n = n;
  spsc_ring to_operator;
  spsc_ring to_accumulator;
  std::thread op{[&] {
    ee::event in;
    std::size_t len = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      to_operator.pop(in, [&] { to_accumulator.flush(); });
      len = in.size() - initial_type.size();
      in = ee::event{};
      auto out = ee::event::concat(operator_type, std::to_string(len));
      to_accumulator.push(out, [] {});
    }
    to_accumulator.flush();
  }};
  std::thread acc{[&] {
    ee::event in;
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      to_accumulator.pop(in, [] {});
      std::uint64_t v = 0;
      for (char c : in.after(operator_type.size()))
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
      total += v;
      in = ee::event{};
    }
    s.ended();
    s.seen = n;
    s.total = total;
  }};
  std::string buf{initial_type};
  std::size_t size = min_size;
  s.started();
  for (std::uint64_t i = 0; i < n; ++i) {
    buf.resize(initial_type.size());
    buf.append(size, 'X');
    ee::event ev{std::string_view{buf}};
    to_operator.push(ev, [] {});
    size = next_size(size);
  }
  to_operator.flush();
  op.join();
  acc.join();
  return print_pipeline_child(s, start_kb, 0, false);
}

} // namespace ee::bench
