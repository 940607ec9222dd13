#include "ee/error.hpp"
#include "ee/event.hpp"
#include "ee/event_type.hpp"

#include <gtest/gtest.h>

#include "examples/common/example_events.hpp"

using namespace example;

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
}

TEST(Event, CopiesShareOneBuffer) {
  ee::event a{std::string(1 << 20, 'x')};
  ee::event b = a;
  EXPECT_TRUE(a.shares_buffer_with(b));
  ee::event c = b;
  EXPECT_TRUE(c.shares_buffer_with(a));
  EXPECT_EQ(a.data(), b.data());
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
