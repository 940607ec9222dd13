// Differential test: the router against a naive reference model (linear
// scans, std::deque, no indexes, no batching tricks) on random workloads.
// Both get the same operations; after every one their counters must agree,
// and after every flush their outputs. Invariants are checked on the way,
// and at the end every workload must drain completely (no publisher left
// waiting): cycle breaking guarantees progress.

#include "src/core/router.hpp"

#include <algorithm>
#include <deque>
#include <limits>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace ee;

namespace {

// "None" for the model's own plain ids.
constexpr std::uint32_t no_id = std::numeric_limits<std::uint32_t>::max();

} // namespace

namespace {

// -- what a flush emitted -----------------------------------------------------

struct outputs {
  std::map<std::uint32_t, std::vector<std::string>> delivered;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> granted;
  std::vector<std::string> raw;
  std::vector<std::pair<pub_id, sub_id>> cycles;

  bool operator==(const outputs& o) const {
    return delivered == o.delivered && granted == o.granted && raw == o.raw &&
           cycles == o.cycles;
  }
};

struct capture : router_sink {
  outputs out;
  void deliver(sub_id s, event_batch&& evs) override {
    for (auto& e : evs)
      out.delivered[s.value].push_back(e.str());
  }
  void grant(pub_id p, credit c) override {
    out.granted[p.value].first += c.events;
    out.granted[p.value].second += c.bytes;
  }
  void deliver_raw(event_batch&& evs) override {
    for (auto& e : evs)
      out.raw.push_back(e.str());
  }
  void cycle(pub_id p, sub_id s) override { out.cycles.emplace_back(p, s); }
};

// -- the reference model ------------------------------------------------------

bool prefix_of(const std::string& f, const std::string& ev) {
  return f.size() <= ev.size() && ev.compare(0, f.size(), f) == 0;
}

class model {
public:
  explicit model(std::size_t raw_budget) : raw_budget_(raw_budget) {}

  struct msub {
    subscriber_limits lim;
    custody who;
    std::uint32_t self = no_id;
    bool active = false, gone = false;
    std::vector<std::string> filters;
    std::deque<std::string> pending, flight;
    std::uint64_t flight_n = 0, flight_b = 0;
    std::vector<std::uint32_t> waiters;
    subscriber_counters c;
    std::uint64_t bytes() const {
      std::uint64_t b = flight_b;
      for (auto& e : pending)
        b += e.size();
      return b;
    }
  };

  struct mparked {
    std::string ev;
    std::vector<std::uint32_t> skip;
  };

  struct mpub {
    credit window;
    std::uint32_t self = no_id;
    std::deque<mparked> parked;
    bool blocked = false, due = false;
    std::vector<std::uint32_t> waits_on;
    std::uint64_t owed_e = 0, owed_b = 0;
    publisher_counters c;
  };

  std::vector<msub> subs;
  std::vector<mpub> pubs;
  router_totals totals;

  std::uint32_t add_subscriber(subscriber_limits l, custody who) {
    msub s;
    s.lim = l;
    s.who = who;
    subs.push_back(s);
    return static_cast<std::uint32_t>(subs.size() - 1);
  }

  std::uint32_t add_publisher(credit w, std::uint32_t self) {
    mpub p;
    p.window = w;
    p.self = self;
    if (self != no_id)
      subs[self].self = static_cast<std::uint32_t>(pubs.size());
    pubs.push_back(p);
    return static_cast<std::uint32_t>(pubs.size() - 1);
  }

  void subscribe(std::uint32_t s, std::vector<std::string> fs) {
    subs[s].filters = subs[s].gone ? std::vector<std::string>{} : fs;
  }

  void set_active(std::uint32_t s, bool a) {
    subs[s].active = a && !subs[s].gone;
    if (subs[s].active && !subs[s].pending.empty())
      dirty(s);
  }

  void set_open(bool o) {
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

  void raw_subscribe(const std::string& f, bool on) {
    if (on) {
      raw_filters_.push_back(f);
    } else {
      auto i = std::find(raw_filters_.begin(), raw_filters_.end(), f);
      if (i != raw_filters_.end())
        raw_filters_.erase(i);
    }
  }

  void publish(std::uint32_t p, const std::string& ev) {
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

  void publish_system(const std::string& ev) {
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

  void ack(std::uint32_t s, std::uint64_t n) {
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

  std::optional<std::string> take_dead_letter(std::uint32_t s) {
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

  void requeue(std::uint32_t s) {
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

  // Owner custody: the owner settles its `k` oldest events as handled.
  // @returns the settlement to give the router.
  settlement settle_oldest(std::uint32_t s, std::uint64_t k) {
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

  void retire(std::uint32_t s) {
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

  void raw_released(std::uint64_t b) {
    totals.raw_bytes -= std::min(b, totals.raw_bytes);
  }

  void break_cycles() {
    if (!open_)
      return;
    for (std::uint32_t p = 0; p < pubs.size(); ++p)
      if (pubs[p].blocked)
        retry(p);
  }

  outputs flush() {
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

  bool waiting(std::uint32_t p) const { return pubs[p].blocked; }

private:
  bool matches(std::uint32_t s, const std::string& ev, bool system) const {
    for (auto& f : subs[s].filters)
      if ((!system || !f.empty()) && prefix_of(f, ev))
        return true;
    return false;
  }

  bool raw_matches(const std::string& ev, bool system) const {
    for (auto& f : raw_filters_)
      if ((!system || !f.empty()) && prefix_of(f, ev))
        return true;
    return false;
  }

  bool full(const msub& x, std::size_t size) const {
    auto q = x.pending.size() + x.flight_n;
    return q >= x.lim.capacity || (q > 0 && x.bytes() + size > x.lim.bytes);
  }

  bool skips(const std::vector<std::uint32_t>& skip, std::uint32_t s) const {
    return std::find(skip.begin(), skip.end(), s) != skip.end();
  }

  std::vector<std::uint32_t>
  full_blockers(const std::string& ev,
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

  bool reaches(std::uint32_t from, std::uint32_t target,
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

  bool route(std::uint32_t p, const std::string& ev,
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

  void enqueue(std::uint32_t s, const std::string& ev) {
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

  void raw(const std::string& ev) {
    if (totals.raw_bytes > 0 && totals.raw_bytes + ev.size() > raw_budget_) {
      ++totals.raw_dropped;
      return;
    }
    raw_.push_back(ev);
    totals.raw_bytes += ev.size();
    ++totals.raw_routed;
  }

  void park(std::uint32_t p, const std::string& ev,
            std::vector<std::uint32_t> skip) {
    pubs[p].parked.push_back({ev, std::move(skip)});
    ++pubs[p].c.parked;
    pubs[p].c.peak_parked = std::max(pubs[p].c.peak_parked, pubs[p].c.parked);
  }

  void owe(std::uint32_t p, std::uint64_t e, std::uint64_t b) {
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

  void wait_on(std::uint32_t p, std::vector<std::uint32_t> subs_now) {
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

  void retry(std::uint32_t p) {
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

  void freed(std::uint32_t s) {
    auto w = subs[s].waiters;
    for (auto p : w)
      if (pubs[p].blocked && open_)
        retry(p);
  }

  void dirty(std::uint32_t s) {
    if (std::find(dirty_.begin(), dirty_.end(), s) == dirty_.end())
      dirty_.push_back(s);
  }

  void deliver(std::uint32_t s, outputs& o) {
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

  bool open_ = true;
  std::size_t raw_budget_;
  std::vector<std::uint32_t> held_, dirty_, grants_;
  std::vector<std::string> raw_filters_, raw_;
  std::vector<std::pair<pub_id, sub_id>> cycles_;
};

// -- comparing ----------------------------------------------------------------

bool same(const subscriber_counters& a, const subscriber_counters& b) {
  return a.routed == b.routed && a.delivered == b.delivered &&
         a.handled == b.handled && a.dead_letters == b.dead_letters &&
         a.redelivered == b.redelivered &&
         a.dropped_policy == b.dropped_policy &&
         a.dropped_cycle == b.dropped_cycle &&
         a.dropped_retired == b.dropped_retired && a.queued == b.queued &&
         a.queued_bytes == b.queued_bytes && a.peak_queue == b.peak_queue &&
         a.peak_bytes == b.peak_bytes;
}

bool same(const publisher_counters& a, const publisher_counters& b) {
  return a.published == b.published && a.credit_waits == b.credit_waits &&
         a.cycles_broken == b.cycles_broken && a.parked == b.parked &&
         a.peak_parked == b.peak_parked;
}

// The per-type books balance too, and add up to the per-subscriber ones.
void expect_types_balanced(const router& r, const std::string& at) {
  std::uint64_t routed = 0, published = 0, queued = 0;
  for (auto t : r.type_ids()) {
    auto& c = r.counters_of_type(t);
    ASSERT_EQ(c.routed, c.handled + c.dead_letters + c.dropped() + c.queued)
        << at << ": books of type " << t;
    routed += c.routed;
    published += c.published;
    queued += c.queued;
  }
  std::uint64_t sub_routed = 0, sub_queued = 0;
  for (auto i : r.subscriber_ids()) {
    sub_routed += r.counters(i).routed;
    sub_queued += r.counters(i).queued;
  }
  ASSERT_EQ(routed, sub_routed) << at;
  ASSERT_EQ(queued, sub_queued) << at;
  ASSERT_EQ(published, r.totals().routed) << at;
}

void expect_same_state(const router& r, const model& m, const std::string& at) {
  for (std::uint32_t i = 0; i < r.subscribers(); ++i) {
    auto& c = r.counters(sub_id{i});
    ASSERT_TRUE(same(c, m.subs[i].c)) << at << ": subscriber " << i;
    ASSERT_EQ(c.routed, c.handled + c.dead_letters + c.dropped() + c.queued)
        << at << ": books of subscriber " << i;
    auto& l = m.subs[i].lim;
    if (!m.subs[i].gone && l.overflow == overflow_policy::block) {
      ASSERT_LE(c.queued, l.capacity) << at;
    }
  }
  for (std::uint32_t i = 0; i < r.publishers(); ++i) {
    ASSERT_TRUE(same(r.counters_of_publisher(pub_id{i}), m.pubs[i].c))
        << at << ": publisher " << i;
    ASSERT_EQ(r.waiting(pub_id{i}), m.waiting(i)) << at << ": publisher " << i;
  }
  auto& a = r.totals();
  auto& b = m.totals;
  ASSERT_EQ(a.routed, b.routed) << at;
  ASSERT_EQ(a.system, b.system) << at;
  ASSERT_EQ(a.unmatched, b.unmatched) << at;
  ASSERT_EQ(a.raw_routed, b.raw_routed) << at;
  ASSERT_EQ(a.raw_dropped, b.raw_dropped) << at;
  ASSERT_EQ(a.raw_bytes, b.raw_bytes) << at;
}

void run_workload(unsigned seed, int steps) {
  std::mt19937 rng{seed};
  auto pick = [&](std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
  };
  const std::vector<std::string> filters{"", "a", "ab", "b", "abc", "ba"};
  auto random_event = [&] {
    std::string ev;
    auto n = pick(5);
    for (std::size_t i = 0; i < n; ++i)
      ev += static_cast<char>('a' + pick(3));
    return ev;
  };
  auto raw_budget = 4 + pick(20);
  router r{raw_budget};
  // Event types, some of them prefixes of others.
  std::vector<std::pair<std::string, std::string>> types;
  for (auto k = pick(4); k > 0; --k)
    types.emplace_back("t" + std::to_string(k), filters[pick(filters.size())]);
  r.set_types(types);
  model m{raw_budget};
  capture cap;
  const std::size_t n_subs = 2 + pick(5);
  std::vector<custody> who;
  for (std::size_t i = 0; i < n_subs; ++i) {
    subscriber_limits l;
    l.capacity = 1 + pick(5);
    l.bytes = 2 + pick(16);
    l.window = 1 + pick(3);
    l.overflow = static_cast<overflow_policy>(pick(4) == 0 ? 1 + pick(2) : 0);
    auto c = pick(4) == 0 ? custody::owner : custody::router;
    who.push_back(c);
    auto a = r.add_subscriber("s" + std::to_string(i), l, c);
    auto b = m.add_subscriber(l, c);
    ASSERT_EQ(a.value, b);
    std::vector<std::string> fs;
    for (auto k = pick(3); k > 0; --k)
      fs.push_back(filters[pick(filters.size())]);
    r.subscribe(sub_id{a}, fs);
    m.subscribe(b, fs);
    if (pick(5) > 0) {
      r.set_active(sub_id{a}, true);
      m.set_active(b, true);
    }
  }
  const std::size_t n_pubs = 1 + pick(4);
  for (std::size_t i = 0; i < n_pubs; ++i) {
    credit w{1 + pick(8), 1 + pick(40)};
    // Most publishers are also subscribers (plugins); some are not (wire).
    std::uint32_t self =
        i < n_subs && pick(4) > 0 ? static_cast<std::uint32_t>(i) : no_id;
    ASSERT_EQ(r.add_publisher("p" + std::to_string(i), w, sub_id{self}).value,
              m.add_publisher(w, self));
  }
  if (pick(3) == 0) {
    r.set_open(false);
    m.set_open(false);
  }
  auto step_name = [&](int step, const char* op) {
    return "seed " + std::to_string(seed) + " step " + std::to_string(step) +
           " (" + op + ")";
  };
  for (int step = 0; step < steps; ++step) {
    auto s = static_cast<std::uint32_t>(pick(n_subs));
    auto p = static_cast<std::uint32_t>(pick(n_pubs));
    const char* op = "";
    switch (pick(20)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4:
    case 5:
    case 6:
    case 7: {
      op = "publish";
      auto ev = random_event();
      r.publish(pub_id{p}, event{ev});
      m.publish(p, ev);
      break;
    }
    case 8:
    case 9:
    case 10: {
      op = "ack/settle";
      auto n = 1 + pick(3);
      if (who[s] == custody::router) {
        r.ack(sub_id{s}, n);
        m.ack(s, n);
      } else {
        // The owner settles its oldest events (the model knows them).
        r.settle(sub_id{s}, m.settle_oldest(s, n));
      }
      break;
    }
    case 11:
    case 12:
    case 13: {
      op = "flush";
      capture c;
      r.flush(c);
      auto expected = m.flush();
      ASSERT_TRUE(c.out == expected) << step_name(step, op);
      break;
    }
    case 14:
      op = "system";
      {
        auto ev = "ee." + random_event();
        r.publish_system(event{ev});
        m.publish_system(ev);
      }
      break;
    case 15:
      op = "toggle active";
      {
        bool on = pick(3) > 0;
        r.set_active(sub_id{s}, on);
        m.set_active(s, on);
      }
      break;
    case 16:
      op = "failure";
      if (who[s] == custody::router) {
        if (pick(2) == 0) {
          auto a = r.take_dead_letter(sub_id{s});
          auto b = m.take_dead_letter(s);
          ASSERT_EQ(a.has_value(), b.has_value()) << step_name(step, op);
          if (a) {
            ASSERT_EQ(a->str(), *b);
          }
        }
        r.requeue(sub_id{s});
        m.requeue(s);
      }
      break;
    case 17:
      op = "raw";
      {
        auto f = filters[pick(filters.size())];
        bool on = pick(2) == 0;
        r.raw_subscribe(f, on);
        m.raw_subscribe(f, on);
        auto released = pick(8);
        r.raw_released(released);
        m.raw_released(released);
      }
      break;
    case 18:
      op = "open/retire/resubscribe";
      if (pick(4) == 0) {
        r.set_open(true);
        m.set_open(true);
      } else if (pick(10) == 0) {
        r.retire(sub_id{s});
        m.retire(s);
      } else {
        std::vector<std::string> fs{filters[pick(filters.size())]};
        r.subscribe(sub_id{s}, fs);
        m.subscribe(s, fs);
      }
      break;
    case 19:
      op = "break cycles";
      r.break_cycles();
      m.break_cycles();
      break;
    }
    expect_same_state(r, m, step_name(step, op));
    expect_types_balanced(r, step_name(step, op));
    if (::testing::Test::HasFatalFailure())
      return;
  }
  // Liveness: open, activate, consume everything; nothing may stay stuck.
  r.set_open(true);
  m.set_open(true);
  for (std::uint32_t s = 0; s < n_subs; ++s) {
    r.set_active(sub_id{s}, true);
    m.set_active(s, true);
  }
  for (int round = 0; round < 200; ++round) {
    capture c;
    r.flush(c);
    ASSERT_TRUE(c.out == m.flush()) << "seed " << seed << " drain " << round;
    r.break_cycles();
    m.break_cycles();
    for (std::uint32_t s = 0; s < n_subs; ++s) {
      if (who[s] == custody::router) {
        r.ack(sub_id{s}, 100);
        m.ack(s, 100);
      } else {
        r.settle(sub_id{s}, m.settle_oldest(s, 1000));
      }
    }
    expect_same_state(r, m, "seed " + std::to_string(seed) + " drain");
    expect_types_balanced(r, "seed " + std::to_string(seed) + " drain");
  }
  for (std::uint32_t p = 0; p < n_pubs; ++p)
    EXPECT_FALSE(r.waiting(pub_id{p}))
        << "seed " << seed << ": publisher " << p << " is stuck";
  for (std::uint32_t s = 0; s < n_subs; ++s)
    EXPECT_EQ(r.counters(sub_id{s}).queued, 0u) << "seed " << seed;
}

} // namespace

TEST(RouterModel, AgreesWithANaiveModelOnRandomWorkloads) {
  for (unsigned seed = 1; seed <= 400; ++seed) {
    run_workload(seed, 400);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}

TEST(RouterModel, AgreesOnLongWorkloads) {
  for (unsigned seed = 1000; seed < 1020; ++seed) {
    run_workload(seed, 5000);
    if (::testing::Test::HasFatalFailure())
      return;
  }
}
