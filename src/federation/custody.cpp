#include "src/federation/custody.hpp"

#include <algorithm>

namespace ee::federation {

void custody_tracker::reset() {
  items_.clear();
  acked_ = 0;
  reported_ = 0;
}

void custody_tracker::add(std::uint64_t seq, std::uint32_t parts) {
  items_.push_back(item{seq, parts});
  advance();
}

void custody_tracker::done(std::uint64_t seq) {
  auto i = std::lower_bound(
      items_.begin(), items_.end(), seq,
      [](const item& x, std::uint64_t s) { return x.seq < s; });
  if (i == items_.end() || i->seq != seq || i->parts == 0)
    return;
  --i->parts;
  advance();
}

void custody_tracker::advance() {
  while (!items_.empty() && items_.front().parts == 0) {
    acked_ = items_.front().seq;
    items_.pop_front();
  }
}

std::optional<std::uint64_t> custody_tracker::take_ack() {
  if (acked_ == reported_)
    return std::nullopt;
  reported_ = acked_;
  return acked_;
}

} // namespace ee::federation
