#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ee::federation {

/// What one engine floods to the federation: who it is, its direct peers
/// (up or down) and the filters its local subscribers need.
struct node_info {
  std::string name;
  /// Random per incarnation.
  std::uint64_t epoch = 0;
  /// Grows with every change, also across restarts (wall-clock based).
  std::uint64_t version = 0;
  std::vector<std::string> neighbours;
  std::vector<std::string> filters;
};

/// The federation as this engine knows it (link-state): the newest
/// `node_info` of every engine, and from it, for each direct peer, the
/// engines on its *side* (reachable from the peer without passing through
/// this engine) and the filters they subscribe to. An event goes to a peer
/// iff it matches one of those filters. Plain class: no I/O, no clock.
class topology {
public:
  explicit topology(std::string self);

  /// Stores `info` if it is newer than what is known of its engine.
  /// @returns true if it was stored (then flood it on).
  bool update(const node_info& info);

  /// @returns the newest info of `name`, or null.
  const node_info* find(const std::string& name) const;

  /// @returns every known engine's info (this one's included, if set).
  std::vector<node_info> all() const;

  /// @returns the engines reachable from `peer` without passing through this
  /// engine (`peer` included; empty if `peer` is unknown).
  std::set<std::string> side(const std::string& peer) const;

  /// @returns the distinct filters of the engines on `peer`'s side.
  std::vector<std::string> side_filters(const std::string& peer) const;

  const std::string& self() const noexcept { return self_; }

private:
  std::string self_;
  std::map<std::string, node_info> nodes_;
};

} // namespace ee::federation
