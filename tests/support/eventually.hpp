#pragma once

// Waiting in tests: on a condition, never for a while.
//
// `eventually(pred, limit)` polls a condition that another thread makes true
// (an atomic counter, a journal line, a stats snapshot) until it holds or
// `limit` passes. `gate` is a one-way door a plugin waits at until the test
// opens it, instead of spinning on an atomic flag.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace ee::test {

/// The default bound of every wait: long enough for a loaded machine (the
/// suite runs beside two CPU hogs), short enough that a broken engine fails
/// the test rather than CI's timeout.
inline constexpr std::chrono::milliseconds default_wait{20000};

/// Returns as soon as `pred()` holds (true), or false once `limit` passed.
/// @param pred a condition made true by another thread; called repeatedly.
template <class Pred>
[[nodiscard]] bool eventually(Pred&& pred,
                              std::chrono::milliseconds limit = default_wait) {
  auto until = std::chrono::steady_clock::now() + limit;
  auto pause = std::chrono::microseconds{50};
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    // The one pause of the suite's waits: nothing to block on, since the
    // conditions are other threads' counters. It grows to 2 ms, so a short
    // wait costs microseconds and a long one little CPU.
    std::this_thread::sleep_for(pause);
    if (pause < std::chrono::milliseconds{2})
      pause *= 2;
  }
  return true;
}

/// A door: `wait()` blocks until `open()` (or returns false after `limit`,
/// or once `give_up()` says so); while open every wait passes.
class gate {
public:
  void open() {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      open_ = true;
    }
    cv_.notify_all();
  }

  /// Shuts the gate again (between rounds of a test).
  void close() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = false;
  }

  bool is_open() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return open_;
  }

  /// Waits until the gate is open; checks `give_up()` every 10 ms (a
  /// blocking plugin passes its `stopping()`), returning false then.
  template <class GiveUp>
  bool wait_unless(GiveUp give_up,
                   std::chrono::milliseconds limit = default_wait) {
    auto until = std::chrono::steady_clock::now() + limit;
    std::unique_lock<std::mutex> guard{mtx_};
    while (!open_) {
      if (give_up() || std::chrono::steady_clock::now() > until)
        return false;
      cv_.wait_for(guard, std::chrono::milliseconds{10});
    }
    return true;
  }

  bool wait(std::chrono::milliseconds limit = default_wait) {
    return wait_unless([] { return false; }, limit);
  }

private:
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
};

} // namespace ee::test
