#include "src/federation/link_buffer.hpp"

#include <algorithm>

namespace ee::federation {

link_buffer::link_buffer(std::size_t capacity, std::size_t window_events,
                         std::size_t window_bytes)
    : capacity_(capacity), window_events_(window_events),
      window_bytes_(window_bytes) {
  // nop
}

void link_buffer::push(std::shared_ptr<const wire_event> ev, custody_ref ref,
                       bool may_drop, std::vector<entry>& dropped) {
  entry e{next_seq_++, std::move(ev), ref};
  bytes_ += e.size();
  entries_.push_back(std::move(e));
  if (!may_drop)
    return;
  // The oldest entry never sent goes (one sent before may have arrived: it
  // stays, to be sent again; there are at most a window of them). While
  // the link is down nothing is in flight (`sent_` is 0).
  while (bytes_ > capacity_ && tried_ + 1 < entries_.size()) {
    auto victim = entries_.begin() + static_cast<std::ptrdiff_t>(tried_);
    bytes_ -= victim->size();
    dropped.push_back(std::move(*victim));
    entries_.erase(victim);
  }
}

void link_buffer::take_sendable(std::vector<const entry*>& out) {
  while (sent_ < entries_.size() && sent_ < window_events_ &&
         (sent_bytes_ < window_bytes_ || sent_ == 0)) {
    auto& e = entries_[sent_];
    sent_bytes_ += e.size();
    ++sent_;
    tried_ = std::max(tried_, sent_);
    out.push_back(&e);
  }
}

void link_buffer::ack(std::uint64_t seq, std::vector<entry>& out) {
  while (sent_ > 0 && entries_.front().seq <= seq) {
    auto& front = entries_.front();
    bytes_ -= front.size();
    sent_bytes_ -= front.size();
    --sent_;
    --tried_;
    out.push_back(std::move(front));
    entries_.pop_front();
  }
}

void link_buffer::filter(const std::function<bool(const entry&)>& keep,
                         std::vector<entry>& out) {
  std::deque<entry> kept;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    auto& e = entries_[i];
    if (i < tried_ || keep(e)) {
      kept.push_back(std::move(e));
    } else {
      bytes_ -= e.size();
      out.push_back(std::move(e));
    }
  }
  entries_.swap(kept);
}

void link_buffer::unsend() noexcept {
  sent_ = 0;
  sent_bytes_ = 0;
}

} // namespace ee::federation
