#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ee {

/// Logs refused connections (a key not on the allow-list, a plain-text
/// client on a CURVE port, a wrong server key, ...) without letting a
/// hostile client flood the log: at most `burst` lines per `window`; the
/// refusals beyond are counted and summarized in one line when their window
/// is over. A plain class: time is an argument. Used by the bridge's thread;
/// the counters are readable from any thread.
class refusal_log {
public:
  using clock_type = std::chrono::steady_clock;

  /// Lines logged per window at most.
  static constexpr std::size_t default_burst = 20;

  /// The window.
  static constexpr std::chrono::milliseconds default_window{10000};

  explicit refusal_log(std::size_t burst = default_burst,
                       std::chrono::milliseconds window = default_window);

  /// A connection was refused for the reason `line` says: logs it as a
  /// warning unless `burst` lines were logged in the current window.
  void refused(const std::string& line, clock_type::time_point now);

  /// Logs how many refusals were not logged one by one, once their window
  /// is over. Call regularly (e.g. once per poll-loop iteration).
  void tick(clock_type::time_point now);

  /// @returns every refusal so far (thread-safe).
  std::uint64_t total() const noexcept { return total_.load(); }

  /// @returns the refusals that were not logged one by one (thread-safe).
  std::uint64_t unlogged() const noexcept { return unlogged_.load(); }

private:
  void summarize();

  std::size_t burst_;
  std::chrono::milliseconds window_;
  clock_type::time_point window_start_{};
  bool started_ = false;
  std::size_t logged_in_window_ = 0;
  std::uint64_t held_in_window_ = 0;
  std::atomic<std::uint64_t> total_{0};
  std::atomic<std::uint64_t> unlogged_{0};
};

} // namespace ee
