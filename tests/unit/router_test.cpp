// The router's rules, one at a time: routing, windows, budgets, policies,
// credit and parking, cycles, the barrier, the engine's own events, raw
// subscribers, custody. Deterministic: no threads, no clock.

#include "src/core/router.hpp"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace ee;

namespace {

struct recorder : router_sink {
  std::map<sub_id, std::vector<std::string>> got;
  std::vector<std::pair<sub_id, std::size_t>> batches;
  std::map<pub_id, credit> granted;
  std::vector<std::string> raw;
  std::vector<std::pair<pub_id, sub_id>> cycles;

  void deliver(sub_id sub, event_batch&& events) override {
    batches.emplace_back(sub, events.size());
    for (auto& ev : events)
      got[sub].push_back(ev.str());
  }

  void grant(pub_id pub, credit c) override {
    granted[pub].events += c.events;
    granted[pub].bytes += c.bytes;
  }

  void deliver_raw(event_batch&& events) override {
    for (auto& ev : events)
      raw.push_back(ev.str());
  }

  void cycle(pub_id pub, sub_id sub) override { cycles.emplace_back(pub, sub); }
};

subscriber_limits limits(std::size_t capacity, std::size_t window = 1000,
                         overflow_policy p = overflow_policy::block,
                         std::size_t bytes = 1 << 20) {
  subscriber_limits l;
  l.capacity = capacity;
  l.window = window;
  l.overflow = p;
  l.bytes = bytes;
  return l;
}

using strings = std::vector<std::string>;

// Every subscriber's books balance.
void expect_balanced(const router& r) {
  for (auto i : r.subscriber_ids()) {
    auto& c = r.counters(i);
    EXPECT_EQ(c.routed, c.handled + c.dead_letters + c.dropped() + c.queued)
        << "subscriber " << r.name(i);
  }
}

class RouterTest : public ::testing::Test {
protected:
  sub_id add(const std::string& name, std::vector<std::string> filters,
             subscriber_limits l = limits(100), custody who = custody::router) {
    auto id = r.add_subscriber(name, l, who);
    r.subscribe(id, filters);
    r.set_active(id, true);
    return id;
  }

  pub_id publisher(const std::string& name, std::uint64_t window = 100,
                   sub_id self = sub_id::none()) {
    return r.add_publisher(name, credit{window, 1 << 30}, self);
  }

  void TearDown() override { expect_balanced(r); }

  router r;
  recorder out;
};

} // namespace

TEST_F(RouterTest, RoutesByPrefixOnceEachInOrder) {
  auto a = add("a", {"T", "Ty"});
  auto b = add("b", {"X"});
  auto p = publisher("p");
  r.publish(p, event{"Type1"});
  r.publish(p, event{"X1"});
  r.publish(p, event{"Type2"});
  r.publish(p, event{"Z"});
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"Type1", "Type2"}));
  EXPECT_EQ(out.got[b], (strings{"X1"}));
  EXPECT_EQ(r.totals().routed, 4u);
  EXPECT_EQ(r.totals().unmatched, 1u);
}

TEST_F(RouterTest, QueuesWhileInactiveAndDeliversOnceActive) {
  auto a = add("a", {"T"});
  r.set_active(a, false);
  auto p = publisher("p");
  r.publish(p, event{"T1"});
  r.flush(out);
  EXPECT_TRUE(out.got[a].empty());
  r.set_active(a, true);
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1"}));
  r.ack(a, 1);
}

TEST_F(RouterTest, DeliveryWindowBoundsEventsInFlight) {
  auto a = add("a", {"T"}, limits(100, 2));
  auto p = publisher("p");
  for (auto x : {"T1", "T2", "T3", "T4"})
    r.publish(p, event{x});
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2"}));
  r.ack(a, 1);
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2", "T3"}));
  r.ack(a, 2);
  r.flush(out);
  EXPECT_EQ(out.got[a].size(), 4u);
  r.ack(a, 1);
  EXPECT_TRUE(r.drained(a));
}

TEST_F(RouterTest, CapacityOneAndWindowOneHoldTheSecondEventAtItsPublisher) {
  auto a = add("a", {"T"}, limits(1, 1));
  auto p = publisher("p", 4);
  r.publish(p, event{"T1"});
  r.publish(p, event{"T2"});
  EXPECT_TRUE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1"}));
  EXPECT_EQ(r.counters(a).queued, 1u);
  r.ack(a, 1);
  EXPECT_FALSE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2"}));
  r.ack(a, 1);
  EXPECT_EQ(r.counters_of_publisher(p).credit_waits, 1u);
}

TEST_F(RouterTest, CreditReturnsInBatchesAndNotWhileWaiting) {
  auto a = add("a", {"T"}, limits(3, 1));
  auto p = publisher("p", 8); // batch: 8 / 4 = 2
  r.publish(p, event{"T1"});
  r.flush(out);
  EXPECT_EQ(out.granted.count(p), 0u); // 1 owed, below the batch
  r.publish(p, event{"T2"});
  r.flush(out);
  EXPECT_EQ(out.granted[p].events, 2u);
  r.publish(p, event{"T3"});
  r.publish(p, event{"T4"}); // queue full (3): parks
  r.publish(p, event{"T5"});
  EXPECT_TRUE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.granted[p].events, 2u); // nothing while waiting
  r.ack(a, 1);                          // room for T4 only
  EXPECT_TRUE(r.waiting(p));
  r.flush(out);
  r.ack(a, 1);
  r.ack(a, 1);
  EXPECT_FALSE(r.waiting(p));
  r.flush(out);
  // Everything owed comes back at once when the wait ends.
  EXPECT_EQ(out.granted[p].events, 5u);
  EXPECT_EQ(out.granted[p].bytes, 10u);
  r.ack(a, 2);
}

TEST_F(RouterTest, ByteCreditAlsoTriggersAGrant) {
  add("a", {"T"});
  auto p = r.add_publisher("p", credit{1000, 40}); // byte batch: 10
  r.publish(p, event{std::string(12, 'T')});
  r.flush(out);
  EXPECT_EQ(out.granted[p].events, 1u);
  EXPECT_EQ(out.granted[p].bytes, 12u);
}

TEST_F(RouterTest, AWaitingPublisherGetsNothingNewUntilItsEventsMove) {
  auto slow = add("slow", {"A"}, limits(1, 1));
  auto relay_sub = add("relay", {"B"});
  auto relay = publisher("relay", 100, relay_sub);
  auto src = publisher("src");
  r.publish(relay, event{"A1"});
  r.publish(relay, event{"A2"}); // slow is full: relay waits
  r.publish(src, event{"B1"});   // for the relay
  r.flush(out);
  EXPECT_EQ(out.got[slow], (strings{"A1"}));
  EXPECT_TRUE(out.got[relay_sub].empty()); // backpressure travels upstream
  r.ack(slow, 1);
  r.flush(out);
  EXPECT_EQ(out.got[relay_sub], (strings{"B1"}));
  EXPECT_EQ(out.got[slow], (strings{"A1", "A2"}));
  r.ack(slow, 1);
  r.ack(relay_sub, 1);
}

TEST_F(RouterTest, RetiringASubscriberReleasesTheEventsParkedOnIt) {
  auto full = add("full", {"A"}, limits(1, 1));
  auto other = add("other", {"A"});
  auto p = publisher("p");
  r.publish(p, event{"A1"});
  r.publish(p, event{"A2"});
  r.publish(p, event{"A3"});
  EXPECT_TRUE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.got[other], (strings{"A1"}));
  r.retire(full);
  EXPECT_FALSE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.got[other], (strings{"A1", "A2", "A3"}));
  EXPECT_EQ(r.counters(full).dropped_retired, 1u); // A1, in its custody
  EXPECT_EQ(r.counters(full).routed, 1u);
  r.ack(other, 3);
}

TEST_F(RouterTest, DropOldestNeverDropsEventsInFlight) {
  auto a = add("a", {"T"}, limits(3, 5, overflow_policy::drop_oldest));
  auto p = publisher("p");
  for (auto x : {"T1", "T2", "T3"})
    r.publish(p, event{x});
  r.flush(out); // window = capacity - 1 = 2: T1, T2 in flight, T3 queued
  EXPECT_EQ(out.got[a], (strings{"T1", "T2"}));
  r.publish(p, event{"T4"}); // drops T3 (the oldest not in flight)
  EXPECT_EQ(r.counters(a).dropped_policy, 1u);
  r.ack(a, 2);
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2", "T4"}));
  // Everything in flight, nothing queued: a new event is the one dropped.
  auto b = add("b", {"U"}, limits(1, 1, overflow_policy::drop_oldest));
  r.publish(p, event{"U1"});
  r.flush(out);
  r.publish(p, event{"U2"});
  EXPECT_EQ(r.counters(b).dropped_policy, 1u);
  r.ack(b, 1);
  r.ack(a, 1);
  EXPECT_FALSE(r.waiting(p));
}

TEST_F(RouterTest, DropNewestDropsTheNewEventAndNeverHoldsThePublisher) {
  auto a = add("a", {"T"}, limits(2, 1, overflow_policy::drop_newest));
  auto p = publisher("p");
  for (auto x : {"T1", "T2", "T3", "T4"})
    r.publish(p, event{x});
  EXPECT_FALSE(r.waiting(p));
  EXPECT_EQ(r.counters(a).dropped_policy, 2u);
  r.flush(out);
  r.ack(a, 1);
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2"}));
  r.ack(a, 1);
}

TEST_F(RouterTest, ByteBudgetHoldsPublishersAndLetsABigEventIntoAnEmptyQueue) {
  auto a = add("a", {"T"}, limits(100, 100, overflow_policy::block, 10));
  auto p = publisher("p");
  r.publish(p, event{std::string(25, 'T')}); // bigger than the budget
  EXPECT_FALSE(r.waiting(p));
  r.publish(p, event{"T2"});
  EXPECT_TRUE(r.waiting(p));
  EXPECT_EQ(r.counters(a).peak_bytes, 25u);
  r.flush(out);
  r.ack(a, 1);
  r.flush(out);
  r.publish(p, event{"T3456"});
  r.publish(p, event{"T7"}); // 2 + 5 + 2 = 9 bytes
  EXPECT_FALSE(r.waiting(p));
  r.publish(p, event{"T8"}); // 11 > 10
  EXPECT_TRUE(r.waiting(p));
  r.flush(out);
  r.ack(a, 3);
  r.flush(out);
  r.ack(a, 1);
  EXPECT_EQ(out.got[a].size(), 5u);
}

TEST_F(RouterTest, ByteBudgetWithDropOldestDropsUntilTheNewEventFits) {
  auto a = add("a", {"T"}, limits(100, 1, overflow_policy::drop_oldest, 10));
  r.set_active(a, false);
  auto p = publisher("p");
  r.publish(p, event{"T111"});
  r.publish(p, event{"T222"});
  r.publish(p, event{"T33333"}); // 4 + 4 + 6 = 14 > 10: T111 goes
  EXPECT_EQ(r.counters(a).dropped_policy, 1u);
  EXPECT_EQ(r.counters(a).queued_bytes, 10u);
  r.set_active(a, true);
  r.flush(out);
  r.ack(a, 1);
  r.flush(out);
  r.ack(a, 1);
  EXPECT_EQ(out.got[a], (strings{"T222", "T33333"}));
}

TEST_F(RouterTest, APublisherThatFeedsItselfStaysBoundedAndIsReported) {
  auto self = add("loop", {"L"}, limits(3, 1));
  auto p = publisher("loop", 1000, self);
  // It answers each event with two of its own: the queue would grow forever.
  r.publish(p, event{"L0"});
  for (int i = 0; i < 50; ++i) {
    r.flush(out);
    r.publish(p, event{"L"});
    r.publish(p, event{"L"});
    r.ack(self, 1);
  }
  r.flush(out);
  EXPECT_LE(r.counters(self).peak_queue, 3u);
  EXPECT_GT(r.counters(self).dropped_cycle, 0u);
  EXPECT_FALSE(r.waiting(p));
  EXPECT_FALSE(out.cycles.empty());
  EXPECT_EQ(out.cycles.front(), std::make_pair(p, self));
  EXPECT_EQ(r.counters_of_publisher(p).cycles_broken,
            r.counters(self).dropped_cycle);
}

TEST_F(RouterTest, ATwoPluginCycleIsBrokenWhereItClosesAndOthersLoseNothing) {
  auto a_sub = add("a", {"ToA"}, limits(2, 1));
  auto b_sub = add("b", {"ToB"}, limits(2, 1));
  auto watcher = add("watch", {"To"});
  auto a = publisher("a", 100, a_sub);
  auto b = publisher("b", 100, b_sub);
  // a fills b's queue and waits on it; b then fills a's queue: a deadlock.
  r.publish(a, event{"ToB1"});
  r.publish(a, event{"ToB2"});
  r.publish(a, event{"ToB3"});
  EXPECT_TRUE(r.waiting(a));
  r.publish(b, event{"ToA1"});
  r.publish(b, event{"ToA2"});
  r.publish(b, event{"ToA3"}); // closes the cycle: dropped for a
  EXPECT_FALSE(r.waiting(b));
  EXPECT_EQ(r.counters(a_sub).dropped_cycle, 1u);
  EXPECT_EQ(out.cycles.size(), 0u); // reported at flush
  r.flush(out);
  EXPECT_EQ(out.cycles, (std::vector<std::pair<pub_id, sub_id>>{{b, a_sub}}));
  // The watcher got every event, the dropped one too.
  EXPECT_EQ(out.got[watcher].size(), 5u);
  r.ack(b_sub, 1);
  r.flush(out);
  EXPECT_FALSE(r.waiting(a));
  r.flush(out);
  r.ack(watcher, 6);
  r.ack(b_sub, 2);
  r.ack(a_sub, 2);
}

TEST_F(RouterTest, ACycleClosedByAFillingQueueIsBrokenByBreakCycles) {
  // a's head needs s1 and b_sub; a waits on s1 only (b_sub has room then).
  // b waits on a's queue. b_sub then fills: a -> b_sub -> b -> a_sub -> a.
  auto s1 = add("s1", {"Z"}, limits(1, 1));
  auto a_sub = add("a", {"ToA"}, limits(1, 1));
  auto b_sub = add("b", {"Z", "ToB"}, limits(2, 1));
  r.set_active(s1, false);
  r.set_active(b_sub, false);
  auto a = publisher("a", 100, a_sub);
  auto b = publisher("b", 100, b_sub);
  auto c = publisher("c");
  r.publish(c, event{"Z0"}); // s1 full; b_sub 1 of 2
  r.publish(a, event{"Z1"}); // waits on s1
  EXPECT_TRUE(r.waiting(a));
  r.publish(c, event{"ToA1"}); // a's queue full
  r.publish(b, event{"ToA2"}); // b waits on a_sub
  EXPECT_TRUE(r.waiting(b));
  r.publish(c, event{"ToB1"}); // b_sub full now: the cycle closed silently
  r.set_active(b_sub, true);   // it still gets nothing: b waits
  r.flush(out);
  EXPECT_TRUE(out.got[b_sub].empty());
  r.break_cycles();
  r.flush(out);
  // a's head is dropped for b_sub (the edge that closed the cycle); a
  // still waits on s1, which waits on no one.
  EXPECT_EQ(out.cycles, (std::vector<std::pair<pub_id, sub_id>>{{a, b_sub}}));
  EXPECT_TRUE(r.waiting(a));
  r.set_active(s1, true);
  for (int i = 0; i < 5; ++i) {
    r.flush(out);
    for (auto s : {s1, a_sub, b_sub})
      r.ack(s, 10);
  }
  EXPECT_FALSE(r.waiting(a));
  EXPECT_FALSE(r.waiting(b));
  EXPECT_EQ(out.got[s1], (strings{"Z0", "Z1"}));
}

TEST_F(RouterTest, WhileClosedPublicationsParkAndOpeningRoutesThemInOrder) {
  r.set_open(false);
  auto a = add("a", {"T"});
  auto p = publisher("p", 4);
  r.publish(p, event{"T1"});
  r.publish(p, event{"T2"});
  r.flush(out);
  EXPECT_TRUE(out.got[a].empty());
  EXPECT_EQ(r.counters_of_publisher(p).parked, 2u);
  EXPECT_EQ(r.counters_of_publisher(p).credit_waits, 0u);
  r.set_open(true);
  r.publish(p, event{"T3"});
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2", "T3"}));
  EXPECT_EQ(out.granted[p].events, 3u);
  r.ack(a, 3);
}

TEST_F(RouterTest, EngineEventsSkipTheEmptyFilterNeverWaitAndDropWhenFull) {
  auto all = add("all", {""});
  auto life = add("life", {"ee.lifecycle."}, limits(1, 1));
  r.publish_system(event{"ee.lifecycle.started:x"});
  r.publish_system(event{"ee.lifecycle.stopped:x"}); // life is full
  r.flush(out);
  EXPECT_TRUE(out.got[all].empty());
  EXPECT_EQ(out.got[life], (strings{"ee.lifecycle.started:x"}));
  EXPECT_EQ(r.counters(life).dropped_policy, 1u);
  EXPECT_EQ(r.totals().system, 2u);
  r.ack(life, 1);
}

TEST_F(RouterTest, RawSubscribersGetMatchesWithinTheirByteBudget) {
  router small{10};
  recorder rec;
  auto p = small.add_publisher("p", credit{100, 1000});
  small.raw_subscribe("R", true);
  small.raw_subscribe("", true);
  small.publish(p, event{"R1234"});
  small.publish(p, event{"Q1234"});
  small.publish(p, event{"R5678"});    // 15 > 10: dropped
  small.publish_system(event{"ee.x"}); // the empty raw filter skips it
  small.flush(rec);
  EXPECT_EQ(rec.raw, (strings{"R1234", "Q1234"}));
  EXPECT_EQ(small.totals().raw_dropped, 1u);
  EXPECT_EQ(small.totals().raw_bytes, 10u);
  small.raw_released(10);
  small.publish(p, event{"R9"});
  small.flush(rec);
  EXPECT_EQ(rec.raw.back(), "R9");
  small.raw_subscribe("", false);
  small.raw_subscribe("R", false);
  small.publish(p, event{"R0"});
  small.flush(rec);
  EXPECT_EQ(rec.raw.size(), 3u);
}

TEST_F(RouterTest, RouterCustodyAcksInOrderDeadLettersAndRedelivers) {
  auto a = add("a", {"T"});
  auto p = publisher("p");
  for (auto x : {"T1", "T2", "T3", "T4"})
    r.publish(p, event{x});
  r.flush(out);
  r.ack(a, 1);                       // T1 handled
  auto dead = r.take_dead_letter(a); // failed on T2
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->str(), "T2");
  r.requeue(a); // host down: T3, T4 again, in order
  EXPECT_EQ(r.counters(a).redelivered, 2u);
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"T1", "T2", "T3", "T4", "T3", "T4"}));
  r.ack(a, 2);
  EXPECT_EQ(r.counters(a).handled, 3u);
  EXPECT_EQ(r.counters(a).dead_letters, 1u);
  EXPECT_EQ(r.counters(a).delivered, 6u);
  EXPECT_TRUE(r.drained(a));
}

TEST_F(RouterTest, OwnerCustodyIsSettledInBatches) {
  auto ext = add("ext", {"T"}, limits(3, 2), custody::owner);
  auto p = publisher("p");
  for (auto x : {"T1", "T2", "T3", "T4"})
    r.publish(p, event{x});
  EXPECT_TRUE(r.waiting(p)); // capacity 3
  r.flush(out);
  EXPECT_EQ(out.got[ext], (strings{"T1", "T2"}));
  EXPECT_FALSE(r.drained(ext)); // T3 queued
  settlement s;
  s.handled.push_back(event{"T1"});
  s.dead_letters.push_back(event{"T2"});
  r.settle(ext, s);
  EXPECT_FALSE(r.waiting(p));
  r.flush(out);
  EXPECT_EQ(out.got[ext], (strings{"T1", "T2", "T3", "T4"}));
  EXPECT_TRUE(r.drained(ext)); // the owner holds the rest
  r.retire(ext);
  settlement gone;
  gone.discarded.push_back(event{"T3"});
  r.settle(ext, gone);
  r.abandon_in_flight(ext);
  auto& c = r.counters(ext);
  EXPECT_EQ(c.handled, 1u);
  EXPECT_EQ(c.dead_letters, 1u);
  EXPECT_EQ(c.dropped_retired, 2u);
  EXPECT_EQ(c.queued, 0u);
}

TEST_F(RouterTest, ANewIncarnationStartsWithAFullWindow) {
  add("a", {"T"});
  auto p = publisher("p", 100);
  for (int i = 0; i < 10; ++i)
    r.publish(p, event{"T"});
  r.reset_credit(p);
  r.flush(out);
  EXPECT_EQ(out.granted.count(p), 0u);
}

TEST_F(RouterTest, ResubscribingReplacesFilters) {
  auto a = add("a", {"A"});
  auto p = publisher("p");
  r.subscribe(a, {"B"});
  r.publish(p, event{"A1"});
  r.publish(p, event{"B1"});
  r.flush(out);
  EXPECT_EQ(out.got[a], (strings{"B1"}));
  r.ack(a, 1);
}

TEST_F(RouterTest, EventsCountByTheirLongestTypePrefix) {
  r.set_types({{"A", "A"}, {"AB", "AB"}, {"C", "C"}});
  auto a = add("a", {""});
  auto p = publisher("p");
  for (auto x : {"A1", "AB1", "ABC", "C", "X"})
    r.publish(p, event{x});
  r.flush(out);
  r.ack(a, 5);
  EXPECT_EQ(r.type_name(type_id{0}), "A");
  EXPECT_EQ(r.counters_of_type(type_id{0}).published, 1u); // A1
  EXPECT_EQ(r.counters_of_type(type_id{1}).published, 2u); // AB1, ABC
  EXPECT_EQ(r.counters_of_type(type_id{2}).handled, 1u);   // C
  EXPECT_EQ(r.types(), type_id{3});
  EXPECT_EQ(r.counters_of_type(type_id{3}).published, 1u); // X: other
  EXPECT_EQ(r.counters_of_type(type_id{1}).handled, 2u);
  EXPECT_EQ(r.counters_of_type(type_id{1}).delivered, 2u);
}
