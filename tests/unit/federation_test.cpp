// The federation's plain classes (src/federation/): dedup window, per-link
// buffer and its drops, sides on a line, a ring and a mesh, and the custody
// tracker. No CAF, no clock.

#include <random>
#include <set>

#include <gtest/gtest.h>

#include "src/federation/custody.hpp"
#include "src/federation/dedup.hpp"
#include "src/federation/link_buffer.hpp"
#include "src/federation/topology.hpp"

using namespace ee::federation;

namespace {

std::shared_ptr<const wire_event> ev(std::uint64_t seq, std::size_t size = 10) {
  auto e = std::make_shared<wire_event>();
  e->origin = "a";
  e->seq = seq;
  e->bytes.assign(size, 'x');
  return e;
}

node_info node(std::string name, std::vector<std::string> neighbours,
               std::vector<std::string> filters, std::uint64_t version = 1) {
  node_info n;
  n.name = std::move(name);
  n.version = version;
  n.neighbours = std::move(neighbours);
  n.filters = std::move(filters);
  return n;
}

std::vector<std::uint64_t> seqs(const std::vector<link_buffer::entry>& xs) {
  std::vector<std::uint64_t> out;
  for (auto& x : xs)
    out.push_back(x.seq);
  return out;
}

} // namespace

// -- dedup
// ---------------------------------------------------------------------

TEST(DedupWindow, AcceptsEachNumberOnceInAnyOrder) {
  dedup_window w{128};
  for (std::uint64_t s : {5, 3, 9, 4, 100})
    EXPECT_TRUE(w.accept(s)) << s;
  for (std::uint64_t s : {5, 3, 9, 4, 100})
    EXPECT_FALSE(w.accept(s)) << s;
  EXPECT_TRUE(w.accept(6)); // a gap fills later
}

TEST(DedupWindow, NumbersOlderThanTheWindowCountAsSeen) {
  dedup_window w{64};
  EXPECT_TRUE(w.accept(1000));
  EXPECT_TRUE(w.accept(1000 - 63));
  EXPECT_FALSE(w.accept(1000 - 64)); // beyond the window: never twice
  EXPECT_TRUE(w.accept(5000));       // a jump forgets everything older
  EXPECT_FALSE(w.accept(1000));
}

TEST(DedupWindow, MatchesANaiveSetWithinTheWindow) {
  std::mt19937_64 rng{7};
  dedup_window w{256};
  std::set<std::uint64_t> seen;
  std::uint64_t high = 0;
  for (int i = 0; i < 20000; ++i) {
    auto s = high + 20 - rng() % 200; // mostly near the top, some behind
    if (s > high + 20)
      s = high; // wrapped below zero
    bool fresh = seen.insert(s).second;
    bool in_window = s + 256 > std::max(high, s);
    bool got = w.accept(s);
    if (in_window)
      EXPECT_EQ(got, fresh) << s;
    else
      EXPECT_FALSE(got) << s;
    high = std::max(high, s);
  }
}

TEST(DedupTable, SeparatesOriginsAndEpochsAndForgetsOldEpochs) {
  dedup_table t{64, 2};
  EXPECT_TRUE(t.accept("a", 1, 1));
  EXPECT_TRUE(t.accept("b", 1, 1));
  EXPECT_TRUE(t.accept("a", 2, 1)); // a restarted: a new epoch
  EXPECT_FALSE(t.accept("a", 1, 1));
  EXPECT_TRUE(t.accept("a", 3, 1)); // third epoch: epoch 1 is forgotten
  EXPECT_TRUE(t.accept("a", 1, 1));
}

// -- link buffer
// ---------------------------------------------------------------

TEST(LinkBuffer, SendsWithinTheWindowAndAcksCumulatively) {
  link_buffer b{1000, 2, 1000};
  std::vector<link_buffer::entry> dropped;
  for (std::uint64_t i = 1; i <= 3; ++i)
    b.push(ev(i), {}, false, dropped);
  std::vector<const link_buffer::entry*> out;
  b.take_sendable(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[1]->seq, 2u);
  out.clear();
  b.take_sendable(out);
  EXPECT_TRUE(out.empty()); // window full
  std::vector<link_buffer::entry> acked;
  b.ack(1, acked);
  EXPECT_EQ(seqs(acked), (std::vector<std::uint64_t>{1}));
  b.take_sendable(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->seq, 3u);
  EXPECT_EQ(b.bytes(), 20u);
}

TEST(LinkBuffer, ResendsEverythingUnacknowledgedInOrderAfterALoss) {
  link_buffer b{1000, 10, 1000};
  std::vector<link_buffer::entry> dropped;
  for (std::uint64_t i = 1; i <= 4; ++i)
    b.push(ev(i), {}, false, dropped);
  std::vector<const link_buffer::entry*> out;
  b.take_sendable(out);
  std::vector<link_buffer::entry> acked;
  b.ack(2, acked);
  b.unsend();
  out.clear();
  b.take_sendable(out);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->seq, 3u);
  EXPECT_EQ(out[1]->seq, 4u);
}

TEST(LinkBuffer, DropsTheOldestOnlyWhenAllowed) {
  link_buffer b{30, 10, 1000};
  std::vector<link_buffer::entry> dropped;
  for (std::uint64_t i = 1; i <= 5; ++i)
    b.push(ev(i), {}, true, dropped);
  EXPECT_EQ(seqs(dropped), (std::vector<std::uint64_t>{1, 2}));
  EXPECT_EQ(b.bytes(), 30u);
  EXPECT_TRUE(b.full());
  b.push(ev(6), {}, false, dropped); // link up: the caller stops instead
  EXPECT_EQ(dropped.size(), 2u);
  EXPECT_EQ(b.bytes(), 40u);
  b.push(ev(7, 100), {}, true, dropped); // larger than all: kept alone
  EXPECT_EQ(b.size(), 1u);
}

TEST(LinkBuffer, NeverDropsWhatWasSentOnce) {
  link_buffer b{30, 2, 1000};
  std::vector<link_buffer::entry> dropped;
  for (std::uint64_t i = 1; i <= 3; ++i)
    b.push(ev(i), {}, false, dropped);
  std::vector<const link_buffer::entry*> out;
  b.take_sendable(out); // 1 and 2 may have arrived
  b.unsend();           // the link went down
  for (std::uint64_t i = 4; i <= 6; ++i)
    b.push(ev(i), {}, true, dropped);
  EXPECT_EQ(seqs(dropped), (std::vector<std::uint64_t>{3, 4, 5}));
  out.clear();
  b.take_sendable(out); // the link is back: 1 and 2 again, first
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]->seq, 1u);
  EXPECT_EQ(out[1]->seq, 2u);
  std::vector<link_buffer::entry> acked;
  b.ack(2, acked);
  out.clear();
  b.take_sendable(out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0]->seq, 6u);
}

TEST(LinkBuffer, FilterRemovesOnlyUnsentEntries) {
  link_buffer b{1000, 1, 1000};
  std::vector<link_buffer::entry> dropped;
  for (std::uint64_t i = 1; i <= 4; ++i)
    b.push(ev(i), {}, false, dropped);
  std::vector<const link_buffer::entry*> out;
  b.take_sendable(out); // seq 1 in flight
  std::vector<link_buffer::entry> removed;
  b.filter([](const link_buffer::entry& e) { return e.seq == 3; }, removed);
  EXPECT_EQ(seqs(removed), (std::vector<std::uint64_t>{2, 4}));
  EXPECT_EQ(b.size(), 2u);
}

// -- topology
// ------------------------------------------------------------------

TEST(Topology, SidesOfALine) {
  topology t{"b"};
  t.update(node("a", {"b"}, {"A"}));
  t.update(node("b", {"a", "c"}, {"B"}));
  t.update(node("c", {"b", "d"}, {"C"}));
  t.update(node("d", {"c"}, {"D"}));
  EXPECT_EQ(t.side("a"), (std::set<std::string>{"a"}));
  EXPECT_EQ(t.side("c"), (std::set<std::string>{"c", "d"}));
  EXPECT_EQ(t.side_filters("c"), (std::vector<std::string>{"C", "D"}));
}

TEST(Topology, SidesOfARingOverlap) {
  topology t{"a"};
  t.update(node("a", {"b", "c"}, {}));
  t.update(node("b", {"a", "c"}, {"B"}));
  t.update(node("c", {"b", "a"}, {"C"}));
  EXPECT_EQ(t.side("b"), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(t.side("c"), (std::set<std::string>{"b", "c"}));
}

TEST(Topology, SidesOfAMeshOfFour) {
  topology t{"a"};
  std::vector<std::string> all{"a", "b", "c", "d"};
  for (auto& n : all) {
    std::vector<std::string> others;
    for (auto& m : all)
      if (m != n)
        others.push_back(m);
    t.update(node(n, others, {n}));
  }
  for (auto& p : {"b", "c", "d"})
    EXPECT_EQ(t.side(p), (std::set<std::string>{"b", "c", "d"}));
}

TEST(Topology, KeepsTheNewestVersionAndCountsDownLinks) {
  topology t{"a"};
  EXPECT_TRUE(t.update(node("b", {"a", "c"}, {"old"}, 5)));
  EXPECT_FALSE(t.update(node("b", {"a"}, {"older"}, 4)));
  EXPECT_TRUE(t.update(node("b", {"a", "c"}, {"new"}, 6)));
  // c never flooded, but b names it: c is on b's side, without filters.
  EXPECT_EQ(t.side("b"), (std::set<std::string>{"b", "c"}));
  EXPECT_EQ(t.side_filters("b"), (std::vector<std::string>{"new"}));
  EXPECT_TRUE(t.side("x").empty());
}

// -- custody
// -------------------------------------------------------------------

TEST(Custody, AcknowledgesTheDonePrefixOnly) {
  custody_tracker c;
  c.add(1, 2); // local + one link
  c.add(2, 1);
  c.add(5, 0); // a duplicate: done at once
  EXPECT_FALSE(c.take_ack());
  c.done(2);
  EXPECT_FALSE(c.take_ack()); // 1 still waits
  c.done(1);
  EXPECT_FALSE(c.take_ack());
  c.done(1);
  EXPECT_EQ(c.take_ack(), 5u);
  EXPECT_FALSE(c.take_ack()); // no news
  EXPECT_EQ(c.pending(), 0u);
}

TEST(Custody, IgnoresUnknownNumbersAndStartsOverPerSession) {
  custody_tracker c;
  c.add(10, 1);
  c.done(9);
  c.done(11);
  EXPECT_FALSE(c.take_ack());
  c.reset();
  c.done(10); // of the old session: ignored
  c.add(3, 0);
  EXPECT_EQ(c.take_ack(), 3u);
}
