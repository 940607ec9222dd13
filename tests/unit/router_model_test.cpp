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
