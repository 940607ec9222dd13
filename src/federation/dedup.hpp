#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ee::federation {

/// Which sequence numbers of one origin incarnation were seen: every number
/// within `window` below the highest seen is remembered exactly (a bitmap);
/// anything older counts as seen. Never accepts a number twice.
class dedup_window {
public:
  /// Default window: 2^20 sequence numbers (128 KiB of bits).
  static constexpr std::uint64_t default_size = std::uint64_t{1} << 20;

  explicit dedup_window(std::uint64_t size = default_size);

  /// @returns true the first time `seq` is offered, false for a copy (or a
  /// number older than the window).
  bool accept(std::uint64_t seq);

  /// @returns the highest number accepted (0: none).
  std::uint64_t highest() const noexcept { return high_; }

private:
  bool test_and_set(std::uint64_t seq);
  void clear(std::uint64_t seq);

  std::uint64_t size_;
  std::vector<std::uint64_t> bits_;
  // Every number below `high_ + 1 - size_` counts as seen.
  std::uint64_t high_ = 0;
  bool any_ = false;
};

/// Dedup windows per origin `(name, epoch)`, at most `epochs` incarnations
/// per name (the oldest forgotten first: its copies then pass again only if
/// they are still travelling after `epochs` restarts of their origin).
class dedup_table {
public:
  explicit dedup_table(std::uint64_t window = dedup_window::default_size,
                       std::size_t epochs = 4);

  /// @returns true the first time `(origin, epoch, seq)` is offered.
  bool accept(const std::string& origin, std::uint64_t epoch,
              std::uint64_t seq);

private:
  struct origin_state {
    // Epochs in order of first sight, with their windows.
    std::vector<std::pair<std::uint64_t, dedup_window>> epochs;
  };

  std::uint64_t window_;
  std::size_t max_epochs_;
  std::map<std::string, origin_state> origins_;
};

} // namespace ee::federation
