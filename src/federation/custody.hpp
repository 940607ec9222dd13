#pragma once

#include <cstdint>
#include <deque>
#include <optional>

namespace ee::federation {

/// The inbound side of one peer link: which received events this engine is
/// done with. An event is done once each of its parts is (the local router
/// took it; each link it was forwarded to acknowledged or dropped it). The
/// peer gets a cumulative acknowledgement: the highest link sequence number
/// up to which every event is done. Plain class.
class custody_tracker {
public:
  /// A new session of the link: nothing is pending.
  void reset();

  /// Event `seq` (greater than every earlier one) arrived with `parts`
  /// parts outstanding (0: done at once, e.g. a duplicate).
  void add(std::uint64_t seq, std::uint32_t parts);

  /// One part of event `seq` is done (unknown numbers are ignored).
  void done(std::uint64_t seq);

  /// @returns the new acknowledgement, if it moved since the last call.
  std::optional<std::uint64_t> take_ack();

  /// @returns events not done yet.
  std::size_t pending() const noexcept { return items_.size(); }

private:
  void advance();

  struct item {
    std::uint64_t seq;
    std::uint32_t parts;
  };

  std::deque<item> items_;
  std::uint64_t acked_ = 0;
  std::uint64_t reported_ = 0;
};

} // namespace ee::federation
