#include "src/federation/dedup.hpp"

#include <algorithm>

namespace ee::federation {

dedup_window::dedup_window(std::uint64_t size)
    : size_(std::max<std::uint64_t>(64, (size + 63) / 64 * 64)),
      bits_(size_ / 64, 0) {
  // nop
}

bool dedup_window::test_and_set(std::uint64_t seq) {
  auto pos = seq % size_;
  auto& word = bits_[pos / 64];
  auto mask = std::uint64_t{1} << (pos % 64);
  bool seen = (word & mask) != 0;
  word |= mask;
  return seen;
}

void dedup_window::clear(std::uint64_t seq) {
  auto pos = seq % size_;
  bits_[pos / 64] &= ~(std::uint64_t{1} << (pos % 64));
}

bool dedup_window::accept(std::uint64_t seq) {
  if (!any_) {
    any_ = true;
    high_ = seq;
    test_and_set(seq);
    return true;
  }
  if (seq > high_) {
    // The numbers that leave the window forget their bits.
    if (seq - high_ >= size_) {
      std::fill(bits_.begin(), bits_.end(), 0);
    } else {
      for (auto s = high_ + 1; s <= seq; ++s)
        clear(s);
    }
    high_ = seq;
    test_and_set(seq);
    return true;
  }
  if (high_ - seq >= size_)
    return false; // older than the window: counts as seen
  return !test_and_set(seq);
}

dedup_table::dedup_table(std::uint64_t window, std::size_t epochs)
    : window_(window), max_epochs_(std::max<std::size_t>(1, epochs)) {
  // nop
}

bool dedup_table::accept(const std::string& origin, std::uint64_t epoch,
                         std::uint64_t seq) {
  auto& st = origins_[origin];
  for (auto& [e, w] : st.epochs)
    if (e == epoch)
      return w.accept(seq);
  if (st.epochs.size() >= max_epochs_)
    st.epochs.erase(st.epochs.begin());
  st.epochs.emplace_back(epoch, dedup_window{window_});
  return st.epochs.back().second.accept(seq);
}

} // namespace ee::federation
