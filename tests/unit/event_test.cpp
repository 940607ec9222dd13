#include "ee/error.hpp"
#include "ee/event.hpp"
#include "ee/event_type.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "examples/common/example_events.hpp"
#include "src/event_access.hpp"

using namespace example;

namespace {

long use_count(const ee::event& x) {
  return ee::detail::event_access::use_count(x);
}

bool event_pool_active() {
#if defined(__SANITIZE_ADDRESS__)
  return false;
#else
  auto v = std::getenv("EE_EVENT_POOL");
  return v == nullptr || std::strcmp(v, "0") != 0;
#endif
}

} // namespace

TEST(Event, HoldsBytesExactly) {
  std::string bin{"Typ\0e\xff\x00!", 8};
  ee::event ev{bin};
  EXPECT_EQ(ev.size(), 8u);
  EXPECT_EQ(ev.bytes(), bin);
  EXPECT_TRUE(ev.starts_with(std::string{"Typ\0", 4}));
  EXPECT_FALSE(ev.starts_with("Type"));
  ee::event empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_TRUE(empty.starts_with(""));
  EXPECT_EQ(use_count(empty), 0); // not counted, never allocated
  EXPECT_EQ(use_count(ee::event{""}), 0);
}

TEST(Event, CopiesShareOneBuffer) {
  ee::event a{std::string(1 << 20, 'x')};
  ee::event b = a;
  EXPECT_TRUE(a.shares_buffer_with(b));
  ee::event c = b;
  EXPECT_TRUE(c.shares_buffer_with(a));
  EXPECT_EQ(a.data(), b.data());
}

TEST(Event, MovesAndAssignments) {
  ee::event a{"TypeAxyz"};
  ee::event b{std::move(a)};
  EXPECT_TRUE(a.empty()); // NOLINT: a moved-from event is empty
  EXPECT_EQ(b.bytes(), "TypeAxyz");
  EXPECT_EQ(use_count(b), 1);
  ee::event c;
  c = b;
  EXPECT_EQ(use_count(b), 2);
  c = ee::event{"other"};
  EXPECT_EQ(use_count(b), 1);
  EXPECT_EQ(c.bytes(), "other");
  c = std::move(b);
  EXPECT_EQ(c.bytes(), "TypeAxyz");
  EXPECT_EQ(ee::event::concat("Type", "A").bytes(), "TypeA");
  EXPECT_EQ(use_count(ee::event::concat("", "")), 0);
}

// The pool gives a block back to the thread that made it (one that frees
// it elsewhere pushes it on the maker's stack): made again on the maker's
// thread, an event of the same size gets the same block. Not under ASan
// (which sees plain malloc/free) or with EE_EVENT_POOL=0.
TEST(Event, BlockFreedElsewhereReturnsToItsThread) {
  if (!event_pool_active())
    GTEST_SKIP() << "event pool off (ASan or EE_EVENT_POOL=0)";
  std::string bytes(200, 'x');
  std::vector<const char*> made;
  std::vector<ee::event> evs;
  for (int i = 0; i < 8; ++i) {
    evs.emplace_back(bytes);
    made.push_back(evs.back().data());
  }
  // The freeing thread stays alive while this one makes events again (a
  // thread's malloc cache would keep what it freed until the thread ends).
  std::promise<void> freed;
  std::promise<void> checked;
  std::thread other{[&, moved = std::move(evs)]() mutable {
    moved.clear();
    freed.set_value();
    checked.get_future().wait();
  }};
  freed.get_future().wait();
  for (int i = 0; i < 8; ++i) {
    ee::event again{bytes};
    EXPECT_NE(std::find(made.begin(), made.end(), again.data()), made.end());
    evs.push_back(std::move(again));
  }
  checked.set_value();
  other.join();
}

// Events cross threads both ways, outlive the thread that made them, and
// keep their bytes; threads that end hand their caches to new threads.
TEST(Event, SurvivesThreadsMakingAndFreeingEachOthersEvents) {
  constexpr int per_thread = 5000;
  std::vector<ee::event> kept;
  for (int round = 0; round < 3; ++round) {
    std::vector<std::vector<ee::event>> made(4);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&made, t] {
        for (int i = 0; i < per_thread; ++i)
          made[t].emplace_back(
              std::string(1 + (i * 37) % 5000, static_cast<char>('a' + t)));
      });
    for (auto& th : threads)
      th.join();
    threads.clear();
    for (int t = 0; t < 4; ++t) // each frees another's events
      threads.emplace_back([&made, t] {
        auto& evs = made[(t + 1) % 4];
        char c = static_cast<char>('a' + (t + 1) % 4);
        for (std::size_t i = 0; i < evs.size(); ++i) {
          ASSERT_EQ(evs[i].size(), 1 + (i * 37) % 5000);
          ASSERT_EQ(evs[i].bytes().find_first_not_of(c), std::string::npos);
        }
        evs.erase(evs.begin() + 100, evs.end());
      });
    for (auto& th : threads)
      th.join();
    for (auto& evs : made)
      kept.insert(kept.end(), evs.begin(), evs.end());
  }
  EXPECT_EQ(kept.size(), 3u * 4 * 100);
  for (auto& ev : kept)
    EXPECT_EQ(use_count(ev), 1);
}

TEST(EventType, DefaultFilterIsTheName) {
  ee::event_type t{"TypeA"};
  EXPECT_EQ(t.name(), "TypeA");
  EXPECT_EQ(t.filter(), "TypeA");
  ee::event_type custom{"Custom", "C:"};
  EXPECT_EQ(custom.filter(), "C:");
  EXPECT_EQ(ee::event_type::all().filter(), "");
  auto ev = t.make("payload");
  EXPECT_EQ(ev.bytes(), "TypeApayload");
  EXPECT_EQ(*t.payload(ev), "payload");
  EXPECT_FALSE(custom.payload(ev).has_value());
  // Zero-length payload after the filter.
  auto bare = t.make("");
  EXPECT_EQ(bare.bytes(), "TypeA");
  EXPECT_EQ(*t.payload(bare), "");
}

TEST(TypedEvent, RoundTrips) {
  auto ev = ee::encode(type_a_event{"This is message 0"});
  EXPECT_EQ(ev.bytes(), "TypeAThis is message 0");
  auto a = ee::decode<type_a_event>(ev);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->message, "This is message 0");
  auto b = ee::decode<type_b_event>(ee::encode(type_b_event{17}));
  ASSERT_TRUE(b);
  EXPECT_EQ(b->count, 17u);
  EXPECT_TRUE(ee::is<type_b_event>(ee::encode(type_b_event{1})));
}

TEST(TypedEvent, RejectsOtherTypesAndMalformedPayloads) {
  EXPECT_FALSE(ee::decode<type_b_event>(ee::encode(type_a_event{"x"})));
  EXPECT_FALSE(ee::decode<type_b_event>(ee::event{"TypeBnot-a-number"}));
  EXPECT_FALSE(ee::decode<type_b_event>(ee::event{"TypeB"}));
  auto empty_a = ee::decode<type_a_event>(ee::event{"TypeA"});
  ASSERT_TRUE(empty_a);
  EXPECT_EQ(empty_a->message, "");
}

TEST(Error, NamesCodeAndMessage) {
  ee::error ok;
  EXPECT_FALSE(ok);
  EXPECT_EQ(ok.to_string(), "ok");
  ee::error err{ee::ec::bind_failed, "cannot bind port 5559"};
  EXPECT_TRUE(err);
  EXPECT_EQ(err.to_string(), "bind_failed: cannot bind port 5559");
}
