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
#include <cstdint>
#include <string>
#include <thread>

#include <ee/event.hpp>

#include "tests/benchmark/pipeline_events.hpp"

namespace ee::bench {

namespace {

/// A bounded single-producer single-consumer ring of events.
class spsc_ring {
public:
  static constexpr std::size_t capacity = 1024;

  /// Producer only. @returns false if the ring is full.
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

  /// Consumer only. @returns false if the ring is empty.
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

private:
  std::array<ee::event, capacity> slots_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::size_t tail_seen_ = 0; // the consumer's
  alignas(64) std::atomic<std::size_t> tail_{0};
  alignas(64) std::size_t head_seen_ = 0; // the producer's
};

// Spins briefly, then yields, then naps: three threads share two cores (and
// the machine's other load), so a waiting stage must give its core to the
// one it waits for. A ring holds far more events than pass in one nap.
template <class F>
void until(F&& f) {
  for (unsigned i = 0; !f(); ++i)
    if (i >= 256)
      std::this_thread::sleep_for(std::chrono::microseconds{20});
    else if (i >= 64)
      std::this_thread::yield();
}

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
      until([&] { return to_operator.try_pop(in); });
      len = in.size() - initial_type.size();
      in = ee::event{};
      auto out = ee::event::concat(operator_type, std::to_string(len));
      until([&] { return to_accumulator.try_push(out); });
    }
  }};
  std::thread acc{[&] {
    ee::event in;
    std::uint64_t total = 0;
    for (std::uint64_t i = 0; i < n; ++i) {
      until([&] { return to_accumulator.try_pop(in); });
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
    until([&] { return to_operator.try_push(ev); });
    size = next_size(size);
  }
  op.join();
  acc.join();
  return print_pipeline_child(s, start_kb, 0, false);
}

} // namespace ee::bench
