// The reference model's operations (router_model.hpp): each one the plain
// way, by scanning every subscriber and publisher.

#include "tests/unit/router_model.hpp"

#include <algorithm>

namespace ee::test {

namespace {

bool prefix_of(const std::string& f, const std::string& ev) {
  return f.size() <= ev.size() && ev.compare(0, f.size(), f) == 0;
}

} // namespace

std::uint32_t model::add_subscriber(subscriber_limits l, custody who) {
  msub s;
  s.lim = l;
  s.who = who;
  subs.push_back(s);
  return static_cast<std::uint32_t>(subs.size() - 1);
}

std::uint32_t model::add_publisher(credit w, std::uint32_t self) {
  mpub p;
  p.window = w;
  p.self = self;
  if (self != no_id)
    subs[self].self = static_cast<std::uint32_t>(pubs.size());
  pubs.push_back(p);
  return static_cast<std::uint32_t>(pubs.size() - 1);
}

void model::subscribe(std::uint32_t s, std::vector<std::string> fs) {
  subs[s].filters = subs[s].gone ? std::vector<std::string>{} : fs;
}

void model::set_active(std::uint32_t s, bool a) {
  subs[s].active = a && !subs[s].gone;
  if (subs[s].active && !subs[s].pending.empty())
    dirty(s);
}

void model::set_open(bool o) {
  if (open_ == o)
    return;
  open_ = o;
  if (!o)
    return;
  auto h = held_;
  held_.clear();
  for (auto p : h)
    retry(p);
}

void model::raw_subscribe(const std::string& f, bool on) {
  if (on) {
    raw_filters_.push_back(f);
  } else {
    auto i = std::find(raw_filters_.begin(), raw_filters_.end(), f);
    if (i != raw_filters_.end())
      raw_filters_.erase(i);
  }
}

void model::publish(std::uint32_t p, const std::string& ev) {
  auto& pb = pubs[p];
  ++pb.c.published;
  if (!open_) {
    if (!pb.blocked) {
      pb.blocked = true;
      held_.push_back(p);
    }
    park(p, ev, {});
    return;
  }
  if (!pb.parked.empty()) {
    park(p, ev, {});
    return;
  }
  std::vector<std::uint32_t> skip;
  if (route(p, ev, skip)) {
    owe(p, 1, ev.size());
    return;
  }
  park(p, ev, skip);
  if (!pb.blocked) {
    pb.blocked = true;
    ++pb.c.credit_waits;
  }
}

void model::publish_system(const std::string& ev) {
  ++totals.routed;
  ++totals.system;
  bool any = false;
  for (std::uint32_t i = 0; i < subs.size(); ++i)
    if (!subs[i].gone && matches(i, ev, true)) {
      enqueue(i, ev);
      any = true;
    }
  if (raw_matches(ev, true)) {
    raw(ev);
    any = true;
  }
  if (!any)
    ++totals.unmatched;
}

void model::ack(std::uint32_t s, std::uint64_t n) {
  auto& x = subs[s];
  n = std::min<std::uint64_t>(n, x.flight.size());
  if (n == 0)
    return;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto sz = x.flight.front().size();
    x.flight.pop_front();
    --x.flight_n;
    x.flight_b -= sz;
    --x.c.queued;
    x.c.queued_bytes -= sz;
  }
  x.c.handled += n;
  if (!x.pending.empty() && x.active)
    dirty(s);
  freed(s);
}

std::optional<std::string> model::take_dead_letter(std::uint32_t s) {
  auto& x = subs[s];
  if (x.flight.empty())
    return std::nullopt;
  auto ev = x.flight.front();
  x.flight.pop_front();
  --x.flight_n;
  x.flight_b -= ev.size();
  ++x.c.dead_letters;
  --x.c.queued;
  x.c.queued_bytes -= ev.size();
  freed(s);
  return ev;
}

void model::requeue(std::uint32_t s) {
  auto& x = subs[s];
  if (x.flight.empty())
    return;
  x.c.redelivered += x.flight.size();
  x.pending.insert(x.pending.begin(), x.flight.begin(), x.flight.end());
  x.flight.clear();
  x.flight_n = 0;
  x.flight_b = 0;
  if (x.active)
    dirty(s);
}

settlement model::settle_oldest(std::uint32_t s, std::uint64_t k) {
  auto& x = subs[s];
  settlement st;
  std::uint64_t n = 0, b = 0;
  for (; k > 0 && !x.flight.empty(); --k) {
    ++n;
    b += x.flight.front().size();
    st.handled.push_back(event{x.flight.front()});
    x.flight.pop_front();
  }
  x.flight_n -= n;
  x.flight_b -= b;
  x.c.queued -= n;
  x.c.queued_bytes -= b;
  x.c.handled += n;
  if (!x.pending.empty() && x.active)
    dirty(s);
  freed(s);
  return st;
}

void model::retire(std::uint32_t s) {
  auto& x = subs[s];
  if (x.gone)
    return;
  x.gone = true;
  x.active = false;
  x.filters.clear();
  std::uint64_t n = x.pending.size(), b = 0;
  for (auto& e : x.pending)
    b += e.size();
  x.pending.clear();
  if (x.who == custody::router) {
    n += x.flight.size();
    b += x.flight_b;
    x.flight.clear();
    x.flight_n = 0;
    x.flight_b = 0;
  }
  x.c.dropped_retired += n;
  x.c.queued -= n;
  x.c.queued_bytes -= b;
  freed(s);
}

void model::raw_released(std::uint64_t b) {
  totals.raw_bytes -= std::min(b, totals.raw_bytes);
}

void model::break_cycles() {
  if (!open_)
    return;
  for (std::uint32_t p = 0; p < pubs.size(); ++p)
    if (pubs[p].blocked)
      retry(p);
}

outputs model::flush() {
  outputs o;
  auto d = dirty_;
  dirty_.clear();
  for (auto s : d)
    deliver(s, o);
  auto g = grants_;
  grants_.clear();
  for (auto p : g) {
    auto& pb = pubs[p];
    pb.due = false;
    if (pb.blocked || (pb.owed_e == 0 && pb.owed_b == 0))
      continue;
    o.granted[p].first += pb.owed_e;
    o.granted[p].second += pb.owed_b;
    pb.owed_e = pb.owed_b = 0;
  }
  o.raw = raw_;
  raw_.clear();
  std::set<std::pair<pub_id, sub_id>> cs(cycles_.begin(), cycles_.end());
  o.cycles.assign(cs.begin(), cs.end());
  cycles_.clear();
  return o;
}

bool model::matches(std::uint32_t s, const std::string& ev, bool system) const {
  for (auto& f : subs[s].filters)
    if ((!system || !f.empty()) && prefix_of(f, ev))
      return true;
  return false;
}

bool model::raw_matches(const std::string& ev, bool system) const {
  for (auto& f : raw_filters_)
    if ((!system || !f.empty()) && prefix_of(f, ev))
      return true;
  return false;
}

bool model::full(const msub& x, std::size_t size) const {
  auto q = x.pending.size() + x.flight_n;
  return q >= x.lim.capacity || (q > 0 && x.bytes() + size > x.lim.bytes);
}

bool model::skips(const std::vector<std::uint32_t>& skip,
                  std::uint32_t s) const {
  return std::find(skip.begin(), skip.end(), s) != skip.end();
}

std::vector<std::uint32_t>
model::full_blockers(const std::string& ev,
                     const std::vector<std::uint32_t>& skip) const {
  std::vector<std::uint32_t> w;
  for (std::uint32_t i = 0; i < subs.size(); ++i) {
    auto& x = subs[i];
    if (!x.gone && !skips(skip, i) && matches(i, ev, false) &&
        x.lim.overflow == overflow_policy::block && full(x, ev.size()))
      w.push_back(i);
  }
  return w;
}

bool model::reaches(std::uint32_t from, std::uint32_t target,
                    std::set<std::uint32_t>& seen) const {
  if (from == target)
    return true;
  if (!seen.insert(from).second)
    return false;
  auto self = subs[from].self;
  if (self == no_id || !pubs[self].blocked || pubs[self].parked.empty())
    return false;
  auto& head = pubs[self].parked.front();
  for (auto w : full_blockers(head.ev, head.skip))
    if (reaches(w, target, seen))
      return true;
  return false;
}

bool model::route(std::uint32_t p, const std::string& ev,
                  std::vector<std::uint32_t>& skip) {
  auto wait = full_blockers(ev, skip);
  if (!wait.empty()) {
    auto self = pubs[p].self;
    std::vector<std::uint32_t> rest;
    for (auto w : wait) {
      std::set<std::uint32_t> seen;
      if (self != no_id && reaches(w, self, seen)) {
        ++subs[w].c.routed;
        ++subs[w].c.dropped_cycle;
        ++pubs[p].c.cycles_broken;
        cycles_.emplace_back(p, w);
        skip.push_back(w);
      } else {
        rest.push_back(w);
      }
    }
    if (!rest.empty()) {
      wait_on(p, rest);
      return false;
    }
  }
  ++totals.routed;
  bool any = !skip.empty();
  for (std::uint32_t i = 0; i < subs.size(); ++i)
    if (!subs[i].gone && !skips(skip, i) && matches(i, ev, false)) {
      enqueue(i, ev);
      any = true;
    }
  if (raw_matches(ev, false)) {
    raw(ev);
    any = true;
  }
  if (!any)
    ++totals.unmatched;
  return true;
}

void model::enqueue(std::uint32_t s, const std::string& ev) {
  auto& x = subs[s];
  ++x.c.routed;
  if (full(x, ev.size())) {
    if (x.lim.overflow == overflow_policy::drop_oldest) {
      while (!x.pending.empty() && full(x, ev.size())) {
        auto sz = x.pending.front().size();
        x.pending.pop_front();
        --x.c.queued;
        x.c.queued_bytes -= sz;
        ++x.c.dropped_policy;
      }
    }
    if (full(x, ev.size())) {
      ++x.c.dropped_policy;
      return;
    }
  }
  x.pending.push_back(ev);
  ++x.c.queued;
  x.c.queued_bytes += ev.size();
  x.c.peak_queue = std::max(x.c.peak_queue, x.c.queued);
  x.c.peak_bytes = std::max(x.c.peak_bytes, x.c.queued_bytes);
  if (x.active)
    dirty(s);
}

void model::raw(const std::string& ev) {
  if (totals.raw_bytes > 0 && totals.raw_bytes + ev.size() > raw_budget_) {
    ++totals.raw_dropped;
    return;
  }
  raw_.push_back(ev);
  totals.raw_bytes += ev.size();
  ++totals.raw_routed;
}

void model::park(std::uint32_t p, const std::string& ev,
                 std::vector<std::uint32_t> skip) {
  pubs[p].parked.push_back({ev, std::move(skip)});
  ++pubs[p].c.parked;
  pubs[p].c.peak_parked = std::max(pubs[p].c.peak_parked, pubs[p].c.parked);
}

void model::owe(std::uint32_t p, std::uint64_t e, std::uint64_t b) {
  auto& pb = pubs[p];
  pb.owed_e += e;
  pb.owed_b += b;
  if (pb.blocked || pb.due)
    return;
  if (pb.owed_e >= std::max<std::uint64_t>(1, pb.window.events / 4) ||
      pb.owed_b >= std::max<std::uint64_t>(1, pb.window.bytes / 4)) {
    pb.due = true;
    grants_.push_back(p);
  }
}

void model::wait_on(std::uint32_t p, std::vector<std::uint32_t> subs_now) {
  for (auto s : pubs[p].waits_on) {
    auto& w = subs[s].waiters;
    w.erase(std::remove(w.begin(), w.end(), p), w.end());
  }
  pubs[p].waits_on = subs_now;
  for (auto s : subs_now) {
    auto& w = subs[s].waiters;
    if (std::find(w.begin(), w.end(), p) == w.end())
      w.push_back(p);
  }
}

void model::retry(std::uint32_t p) {
  auto& pb = pubs[p];
  while (!pb.parked.empty()) {
    auto& head = pb.parked.front();
    if (!route(p, head.ev, head.skip))
      return; // still waiting
    auto sz = head.ev.size();
    pb.parked.pop_front();
    --pb.c.parked;
    owe(p, 1, sz);
  }
  pb.blocked = false;
  wait_on(p, {});
  if ((pb.owed_e > 0 || pb.owed_b > 0) && !pb.due) {
    pb.due = true;
    grants_.push_back(p);
  }
  if (pb.self != no_id)
    dirty(pb.self);
}

void model::freed(std::uint32_t s) {
  auto w = subs[s].waiters;
  for (auto p : w)
    if (pubs[p].blocked && open_)
      retry(p);
}

void model::dirty(std::uint32_t s) {
  if (std::find(dirty_.begin(), dirty_.end(), s) == dirty_.end())
    dirty_.push_back(s);
}

void model::deliver(std::uint32_t s, outputs& o) {
  auto& x = subs[s];
  if (!x.active || x.gone || x.pending.empty())
    return;
  if (x.self != no_id && pubs[x.self].blocked)
    return;
  std::uint64_t window = std::min<std::uint64_t>(
      x.lim.window, std::max<std::size_t>(1, x.lim.capacity - 1));
  while (x.flight_n < window && !x.pending.empty()) {
    auto ev = x.pending.front();
    x.pending.pop_front();
    x.flight.push_back(ev); // owner custody: what the owner holds
    ++x.flight_n;
    x.flight_b += ev.size();
    ++x.c.delivered;
    o.delivered[s].push_back(ev);
  }
}

} // namespace ee::test
