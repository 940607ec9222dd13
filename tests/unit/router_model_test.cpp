// Differential test: the router against a naive reference model (linear
// scans, std::deque, no indexes, no batching tricks; router_model.hpp) on
// random workloads. Both get the same operations; after every one their
// counters must agree, and after every flush their outputs. Invariants are
// checked on the way, and at the end every workload must drain completely
// (no publisher left waiting): cycle breaking guarantees progress.

#include "src/core/router.hpp"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/router_model.hpp"

using namespace ee;
using ee::test::capture;
using ee::test::model;
using ee::test::no_id;

namespace {

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

const std::vector<std::string> filters{"", "a", "ab", "b", "abc", "ba"};

// One random workload: the router and the model, built alike from a seed,
// then given the same random operations.
class workload {
public:
  explicit workload(unsigned seed)
      : seed_(seed), rng_(seed), raw_budget_(4 + pick(20)), r_(raw_budget_),
        m_(raw_budget_) {
    // nop
  }

  // Event types (some of them prefixes of others), subscribers, publishers.
  void build() {
    std::vector<std::pair<std::string, std::string>> types;
    for (auto k = pick(4); k > 0; --k)
      types.emplace_back("t" + std::to_string(k),
                         filters[pick(filters.size())]);
    r_.set_types(types);
    n_subs_ = 2 + pick(5);
    for (std::size_t i = 0; i < n_subs_; ++i) {
      add_subscriber(i);
      if (::testing::Test::HasFatalFailure())
        return;
    }
    n_pubs_ = 1 + pick(4);
    for (std::size_t i = 0; i < n_pubs_; ++i) {
      credit w{1 + pick(8), 1 + pick(40)};
      // Most publishers are also subscribers (plugins); some are not (wire).
      std::uint32_t self =
          i < n_subs_ && pick(4) > 0 ? static_cast<std::uint32_t>(i) : no_id;
      ASSERT_EQ(
          r_.add_publisher("p" + std::to_string(i), w, sub_id{self}).value,
          m_.add_publisher(w, self));
    }
    if (pick(3) == 0) {
      r_.set_open(false);
      m_.set_open(false);
    }
  }

  // One random operation on both, then their states compared.
  void step(int step) {
    auto s = static_cast<std::uint32_t>(pick(n_subs_));
    auto p = static_cast<std::uint32_t>(pick(n_pubs_));
    auto n = pick(20);
    if (n < 14)
      traffic(n, s, p, step);
    else
      control(n, s, step);
    if (::testing::Test::HasFatalFailure())
      return;
    expect_same_state(r_, m_, step_name(step, op_name(n)));
    expect_types_balanced(r_, step_name(step, op_name(n)));
  }

  // Liveness: open, activate, consume everything; nothing may stay stuck.
  void drain() {
    r_.set_open(true);
    m_.set_open(true);
    for (std::uint32_t s = 0; s < n_subs_; ++s) {
      r_.set_active(sub_id{s}, true);
      m_.set_active(s, true);
    }
    for (int round = 0; round < 200; ++round) {
      capture c;
      r_.flush(c);
      ASSERT_TRUE(c.out == m_.flush())
          << "seed " << seed_ << " drain " << round;
      r_.break_cycles();
      m_.break_cycles();
      for (std::uint32_t s = 0; s < n_subs_; ++s)
        consume(s, 100, 1000);
      expect_same_state(r_, m_, "seed " + std::to_string(seed_) + " drain");
      expect_types_balanced(r_, "seed " + std::to_string(seed_) + " drain");
    }
    for (std::uint32_t p = 0; p < n_pubs_; ++p)
      EXPECT_FALSE(r_.waiting(pub_id{p}))
          << "seed " << seed_ << ": publisher " << p << " is stuck";
    for (std::uint32_t s = 0; s < n_subs_; ++s)
      EXPECT_EQ(r_.counters(sub_id{s}).queued, 0u) << "seed " << seed_;
  }

private:
  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng_);
  }

  std::string random_event() {
    std::string ev;
    auto n = pick(5);
    for (std::size_t i = 0; i < n; ++i)
      ev += static_cast<char>('a' + pick(3));
    return ev;
  }

  // The operations by their number, 0..19.
  static const char* op_name(std::size_t n) {
    static const char* const rest[] = {
        "system", "toggle active",           "failure",
        "raw",    "open/retire/resubscribe", "break cycles"};
    return n < 8    ? "publish"
           : n < 11 ? "ack/settle"
           : n < 14 ? "flush"
                    : rest[n - 14];
  }

  std::string step_name(int step, const char* op) const {
    return "seed " + std::to_string(seed_) + " step " + std::to_string(step) +
           " (" + op + ")";
  }

  void add_subscriber(std::size_t i) {
    subscriber_limits l;
    l.capacity = 1 + pick(5);
    l.bytes = 2 + pick(16);
    l.window = 1 + pick(3);
    l.overflow = static_cast<overflow_policy>(pick(4) == 0 ? 1 + pick(2) : 0);
    auto c = pick(4) == 0 ? custody::owner : custody::router;
    who_.push_back(c);
    auto a = r_.add_subscriber("s" + std::to_string(i), l, c);
    auto b = m_.add_subscriber(l, c);
    ASSERT_EQ(a.value, b);
    std::vector<std::string> fs;
    for (auto k = pick(3); k > 0; --k)
      fs.push_back(filters[pick(filters.size())]);
    r_.subscribe(sub_id{a}, fs);
    m_.subscribe(b, fs);
    if (pick(5) > 0) {
      r_.set_active(sub_id{a}, true);
      m_.set_active(b, true);
    }
  }

  // Acks `n` events of `s` (router custody), or settles its `k` oldest
  // (owner custody; the model knows them).
  void consume(std::uint32_t s, std::uint64_t n, std::uint64_t k) {
    if (who_[s] == custody::router) {
      r_.ack(sub_id{s}, n);
      m_.ack(s, n);
    } else {
      r_.settle(sub_id{s}, m_.settle_oldest(s, k));
    }
  }

  // Operations 0..13: publish, ack/settle, flush.
  void traffic(std::size_t n, std::uint32_t s, std::uint32_t p, int step) {
    if (n < 8) {
      auto ev = random_event();
      r_.publish(pub_id{p}, event{ev});
      m_.publish(p, ev);
    } else if (n < 11) {
      auto k = 1 + pick(3);
      consume(s, k, k);
    } else {
      capture c;
      r_.flush(c);
      auto expected = m_.flush();
      ASSERT_TRUE(c.out == expected) << step_name(step, op_name(n));
    }
  }

  // Operations 14..19: system events, activity, failures, raw subscribers,
  // open/retire/resubscribe, cycle breaking.
  void control(std::size_t n, std::uint32_t s, int step) {
    switch (n) {
    case 14: {
      auto ev = "ee." + random_event();
      r_.publish_system(event{ev});
      m_.publish_system(ev);
      break;
    }
    case 15: {
      bool on = pick(3) > 0;
      r_.set_active(sub_id{s}, on);
      m_.set_active(s, on);
      break;
    }
    case 16:
      failure(s, step);
      break;
    case 17:
      raw_change();
      break;
    case 18:
      open_retire_or_resubscribe(s);
      break;
    default:
      r_.break_cycles();
      m_.break_cycles();
    }
  }

  void failure(std::uint32_t s, int step) {
    if (who_[s] != custody::router)
      return;
    if (pick(2) == 0) {
      auto a = r_.take_dead_letter(sub_id{s});
      auto b = m_.take_dead_letter(s);
      ASSERT_EQ(a.has_value(), b.has_value()) << step_name(step, op_name(16));
      if (a) {
        ASSERT_EQ(a->str(), *b);
      }
    }
    r_.requeue(sub_id{s});
    m_.requeue(s);
  }

  void raw_change() {
    auto f = filters[pick(filters.size())];
    bool on = pick(2) == 0;
    r_.raw_subscribe(f, on);
    m_.raw_subscribe(f, on);
    auto released = pick(8);
    r_.raw_released(released);
    m_.raw_released(released);
  }

  void open_retire_or_resubscribe(std::uint32_t s) {
    if (pick(4) == 0) {
      r_.set_open(true);
      m_.set_open(true);
    } else if (pick(10) == 0) {
      r_.retire(sub_id{s});
      m_.retire(s);
    } else {
      std::vector<std::string> fs{filters[pick(filters.size())]};
      r_.subscribe(sub_id{s}, fs);
      m_.subscribe(s, fs);
    }
  }

  unsigned seed_;
  std::mt19937 rng_;
  std::size_t raw_budget_;
  router r_;
  model m_;
  std::size_t n_subs_ = 0;
  std::size_t n_pubs_ = 0;
  std::vector<custody> who_;
};

void run_workload(unsigned seed, int steps) {
  workload w{seed};
  w.build();
  for (int step = 0; step < steps; ++step) {
    if (::testing::Test::HasFatalFailure())
      return;
    w.step(step);
  }
  if (!::testing::Test::HasFatalFailure())
    w.drain();
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
