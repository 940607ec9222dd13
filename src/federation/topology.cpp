#include "src/federation/topology.hpp"

#include <deque>

namespace ee::federation {

topology::topology(std::string self) : self_(std::move(self)) {
  // nop
}

bool topology::update(const node_info& info) {
  auto i = nodes_.find(info.name);
  if (i != nodes_.end() && i->second.version >= info.version)
    return false;
  nodes_[info.name] = info;
  return true;
}

const node_info* topology::find(const std::string& name) const {
  auto i = nodes_.find(name);
  return i == nodes_.end() ? nullptr : &i->second;
}

std::vector<node_info> topology::all() const {
  std::vector<node_info> result;
  result.reserve(nodes_.size());
  for (auto& [name, info] : nodes_)
    result.push_back(info);
  return result;
}

std::set<std::string> topology::side(const std::string& peer) const {
  std::set<std::string> seen;
  if (peer == self_ || nodes_.count(peer) == 0)
    return seen;
  // A link counts if either end announces it: an engine that has not
  // flooded yet is still reachable through its announced neighbours.
  std::map<std::string, std::set<std::string>> edges;
  for (auto& [name, info] : nodes_)
    for (auto& n : info.neighbours) {
      edges[name].insert(n);
      edges[n].insert(name);
    }
  std::deque<std::string> todo{peer};
  seen.insert(peer);
  while (!todo.empty()) {
    auto cur = std::move(todo.front());
    todo.pop_front();
    for (auto& n : edges[cur])
      if (n != self_ && seen.insert(n).second)
        todo.push_back(n);
  }
  return seen;
}

std::vector<std::string> topology::side_filters(const std::string& peer) const {
  std::set<std::string> filters;
  for (auto& name : side(peer))
    if (auto info = find(name))
      filters.insert(info->filters.begin(), info->filters.end());
  return {filters.begin(), filters.end()};
}

} // namespace ee::federation
