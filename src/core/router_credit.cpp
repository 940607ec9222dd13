#include "src/core/router.hpp"

#include <algorithm>

// The router's publisher side: credit owed and granted in batches, parking
// an event a full `block` subscriber cannot take, and the wait-for cycles
// that parking could close (docs/design.md, "The router").

namespace ee {

// -- credit and parking -------------------------------------------------------

void router::owe(pub_id pub, std::uint64_t events, std::uint64_t bytes) {
  auto& p = pubs_[pub];
  p.owed_events += events;
  p.owed_bytes += bytes;
  if (p.blocked || p.grant_due)
    return;
  if (p.owed_events >= std::max<std::uint64_t>(1, p.window.events / 4) ||
      p.owed_bytes >= std::max<std::uint64_t>(1, p.window.bytes / 4)) {
    p.grant_due = true;
    grants_.push_back(pub);
  }
}

void router::block(pub_id pub) {
  auto& p = pubs_[pub];
  if (p.blocked)
    return;
  p.blocked = true;
  ++waiting_;
  ++p.counters.credit_waits;
}

void router::unblock(pub_id pub) {
  auto& p = pubs_[pub];
  if (p.blocked)
    --waiting_;
  p.blocked = false;
  set_waits_on(pub, {});
  // Everything owed goes back now: the publisher may be out of credit.
  if ((p.owed_events > 0 || p.owed_bytes > 0) && !p.grant_due) {
    p.grant_due = true;
    grants_.push_back(pub);
  }
  if (p.self.valid())
    mark_dirty(p.self); // deliveries resume
}

void router::set_waits_on(pub_id pub, std::vector<sub_id> subs) {
  auto& p = pubs_[pub];
  for (auto id : p.waits_on) {
    auto& w = subs_[id].waiters;
    w.erase(std::remove(w.begin(), w.end(), pub), w.end());
  }
  p.waits_on = std::move(subs);
  for (auto id : p.waits_on) {
    auto& w = subs_[id].waiters;
    if (std::find(w.begin(), w.end(), pub) == w.end())
      w.push_back(pub);
  }
}

void router::retry(pub_id pub) {
  auto& p = pubs_[pub];
  while (!p.parked.empty()) {
    auto& head = p.parked.front();
    if (try_route(pub, head.ev, head.skip) == outcome::waiting) {
      block(pub);
      return;
    }
    auto size = head.ev.size();
    p.parked.pop_front();
    --p.counters.parked;
    owe(pub, 1, size);
  }
  unblock(pub);
}

void router::room_freed(sub_id sub) {
  if (subs_[sub].waiters.empty())
    return;
  auto waiters = subs_[sub].waiters; // retry() edits the list
  for (auto pub : waiters)
    if (pubs_[pub].blocked && open_)
      retry(pub);
}

void router::blockers(pub_id pub, std::vector<sub_id>& out) {
  out.clear();
  auto& p = pubs_[pub];
  if (p.parked.empty())
    return;
  auto& head = p.parked.front();
  edge_matched_.clear();
  table_.match(head.ev.bytes(), edge_matched_, false);
  std::sort(edge_matched_.begin(), edge_matched_.end());
  for (auto raw : edge_matched_) {
    sub_id id{raw};
    auto& s = subs_[id];
    auto& skip = head.skip;
    if (!s.gone && std::find(skip.begin(), skip.end(), id) == skip.end() &&
        s.limits.overflow == overflow_policy::block && full(s, head.ev.size()))
      out.push_back(id);
  }
}

bool router::reaches(sub_id from, sub_id target) {
  ++stamp_;
  stack_.clear();
  stack_.push_back(from);
  while (!stack_.empty()) {
    auto id = stack_.back();
    stack_.pop_back();
    if (id == target)
      return true;
    if (visit_stamp_[id] == stamp_)
      continue;
    visit_stamp_[id] = stamp_;
    auto self = subs_[id].self;
    // A subscriber waits only while its own publisher side waits (then it
    // gets nothing new and cannot make room). What that publisher waits on
    // is computed now, not remembered: a queue may have filled since.
    if (!self.valid() || !pubs_[self].blocked)
      continue;
    blockers(self, edge_blockers_);
    for (auto w : edge_blockers_)
      stack_.push_back(w);
  }
  return false;
}

void router::break_cycles() {
  if (!open_)
    return;
  for (auto pub : pubs_.ids())
    if (pubs_[pub].blocked)
      retry(pub);
}

} // namespace ee
