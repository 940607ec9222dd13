// The federation actor's view of the federation: its own node info, the
// flooded tables, the links' sides and filters (docs/federation.md,
// "Topology and subscriptions").

#include "actors/federation_state.hpp"

#include <algorithm>

namespace ee::federation {

std::uint64_t wall_clock_us() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<microseconds>(system_clock::now().time_since_epoch())
          .count());
}

// -- topology -----------------------------------------------------------------

node_info federation_state::self_info() {
  node_info info;
  info.name = name_;
  info.epoch = epoch_;
  version_ = std::max(version_ + 1, wall_clock_us());
  info.version = version_;
  for (auto& l : links_)
    if (!l->name.empty())
      info.neighbours.push_back(l->name);
  info.filters = local_filters_;
  return info;
}

void federation_state::local_changed() {
  auto info = self_info();
  auto old = topo_.find(name_);
  if (old && old->neighbours == info.neighbours && old->filters == info.filters)
    return;
  topo_.update(info);
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    if (links_[i]->up)
      send_nodes(i, {info});
}

void federation_state::send_nodes(std::uint32_t idx,
                                  std::vector<node_info> nodes) {
  auto& l = *links_[idx];
  if (l.up && l.remote && !nodes.empty())
    self_->send(l.remote, nodes_atom::value, nodes_msg{std::move(nodes)});
}

void federation_state::on_nodes(std::uint32_t idx, nodes_msg& msg) {
  std::vector<node_info> newer;
  for (auto& info : msg.nodes)
    if (info.name != name_ && topo_.update(info))
      newer.push_back(info);
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    if (i != idx)
      send_nodes(i, newer);
  auto& l = *links_[idx];
  bool first = !l.known && topo_.find(l.name) != nullptr;
  recompute_filters();
  if (first) {
    l.known = true;
    filter_held(idx);
  }
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    pump(i);
}

void federation_state::adopt(std::uint32_t into, std::uint32_t from) {
  // One link per name: the dialled link takes over what was kept for the
  // peer on its earlier (accepted or expected) link, filtered by its side;
  // what the dialled link held before its peer was known goes.
  auto& a = *links_[into];
  auto& b = *links_[from];
  std::vector<link_buffer::entry> released;
  a.out.filter([](const link_buffer::entry&) { return false; }, released);
  for (auto& e : released)
    custody_done(e.ref);
  std::swap(a.out, b.out);
  a.counters.forwarded += b.counters.forwarded;
  a.counters.received += b.counters.received;
  a.counters.dropped += b.counters.dropped;
  a.max_sent_seq = b.max_sent_seq;
  a.known = b.known;
  b.name.clear();
  b.known = false;
}

void federation_state::expect_neighbours() {
  // While a dialled peer's name is unknown, its link keeps everything.
  for (auto& l : links_)
    if (l->configured && l->name.empty())
      return;
  bool added = false;
  for (auto& info : topo_.all()) {
    if (info.name == name_ || find_name(info.name) != none)
      continue;
    auto& ns = info.neighbours;
    if (std::find(ns.begin(), ns.end(), name_) == ns.end())
      continue;
    // It was our peer before we restarted: keep its events until it is
    // back (docs/federation.md, custody).
    auto idx = add_link("", false);
    links_[idx]->name = info.name;
    links_[idx]->known = true;
    added = true;
  }
  if (added)
    local_changed();
}

void federation_state::recompute_filters() {
  expect_neighbours();
  std::set<std::string> all;
  bool everything = false;
  for (auto& l : links_) {
    if (l->name.empty() || topo_.find(l->name) == nullptr) {
      // Not known yet: hold everything for it (docs/federation.md).
      if (l->configured || l->up)
        everything = true;
      continue;
    }
    auto filters = topo_.side_filters(l->name);
    l->filter = subscription_table{};
    for (auto& f : filters)
      l->filter.add(f, 0);
    l->match_all = false;
    all.insert(filters.begin(), filters.end());
  }
  std::vector<std::string> result;
  if (everything)
    result.emplace_back();
  else
    result.assign(all.begin(), all.end());
  if (filters_sent_ && result == engine_filters_)
    return;
  filters_sent_ = true;
  engine_filters_ = result;
  self_->send(params_->engine, fed_filters_atom::value, std::move(result));
}

void federation_state::publish_stats() {
  federation_stats st;
  st.name = name_;
  st.refused = refused_;
  st.duplicates = duplicates_;
  for (auto& l : links_) {
    if (l->label().empty())
      continue;
    auto c = l->counters;
    c.buffered_bytes = l->out.bytes();
    st.peers[l->label()] = c;
  }
  params_->stats->set(std::move(st));
}

} // namespace ee::federation
