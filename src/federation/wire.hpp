#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace ee::federation {

/// An event as it crosses links: its origin engine, that engine's
/// incarnation and sequence number, and its bytes.
struct wire_event {
  std::string origin;
  std::uint64_t epoch = 0;
  std::uint64_t seq = 0;
  std::string bytes;
};

/// Where an engine must report that it is done with its part of an event it
/// received: inbound link `link`, that link's `session`, link sequence `seq`.
struct custody_ref {
  static constexpr std::uint32_t none =
      std::numeric_limits<std::uint32_t>::max();
  std::uint32_t link = none;
  std::uint64_t session = 0;
  std::uint64_t seq = 0;
};

} // namespace ee::federation
