#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "src/federation/wire.hpp"

namespace ee::federation {

/// The outgoing side of one peer link: events not yet acknowledged by the
/// peer, in order, each with its link sequence number. Bounded by
/// `capacity` bytes: while the link is down (or its peer's subscriptions are
/// not known yet) a new event pushes out the oldest one never sent (what
/// was sent may have arrived: it is kept and sent again, so a drop is an
/// event the peer certainly never got); while it is up the caller stops
/// taking events when `full()`. At most a window of events is in flight
/// (sent, not acknowledged); on reconnect everything unacknowledged is sent
/// again, in order. Memory: `capacity` plus the window. Plain class.
class link_buffer {
public:
  struct entry {
    std::uint64_t seq = 0;
    std::shared_ptr<const wire_event> ev;
    custody_ref ref;
    std::size_t size() const noexcept { return ev->bytes.size(); }
  };

  link_buffer(std::size_t capacity, std::size_t window_events,
              std::size_t window_bytes);

  /// Appends `ev`. With `may_drop`, the oldest entries never sent go
  /// (appended to `dropped`) until it fits; the newest one always stays.
  void push(std::shared_ptr<const wire_event> ev, custody_ref ref,
            bool may_drop, std::vector<entry>& dropped);

  /// @returns true if the bytes kept reach the capacity.
  bool full() const noexcept { return bytes_ >= capacity_; }

  /// Moves what the window allows from unsent to sent, appending it to
  /// `out`.
  void take_sendable(std::vector<const entry*>& out);

  /// The peer has every entry up to `seq`: they leave (appended to `out`).
  void ack(std::uint64_t seq, std::vector<entry>& out);

  /// Removes the entries never sent for which `keep` is false (appended to
  /// `out`).
  void filter(const std::function<bool(const entry&)>& keep,
              std::vector<entry>& out);

  /// The link went down: everything unacknowledged is unsent again.
  void unsend() noexcept;

  std::size_t bytes() const noexcept { return bytes_; }
  std::size_t size() const noexcept { return entries_.size(); }
  std::size_t in_flight() const noexcept { return sent_; }

private:
  std::size_t capacity_;
  std::size_t window_events_;
  std::size_t window_bytes_;
  std::deque<entry> entries_;
  std::uint64_t next_seq_ = 1;
  std::size_t bytes_ = 0;
  // The first `sent_` entries are sent (`sent_bytes_` of them).
  std::size_t sent_ = 0;
  std::size_t sent_bytes_ = 0;
  // The first `tried_` entries were sent at least once (`tried_ >= sent_`).
  std::size_t tried_ = 0;
};

} // namespace ee::federation
