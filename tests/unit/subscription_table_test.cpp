#include "actors/subscription_table.hpp"

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

using ee::subscription_table;

namespace {

std::vector<subscription_table::subscriber> match(const subscription_table& t,
                                                  std::string_view bytes) {
  std::vector<subscription_table::subscriber> out;
  t.match(bytes, out);
  std::sort(out.begin(), out.end());
  return out;
}

using subs = std::vector<subscription_table::subscriber>;

} // namespace

TEST(SubscriptionTable, MatchesByPrefix) {
  subscription_table t;
  t.add("TypeA", 0);
  t.add("TypeB", 1);
  EXPECT_EQ(match(t, "TypeA hello"), subs{0});
  EXPECT_EQ(match(t, "TypeB"), subs{1});
  EXPECT_EQ(match(t, "TypeC"), subs{});
  EXPECT_EQ(match(t, "Type"), subs{});
  EXPECT_EQ(match(t, ""), subs{});
}

TEST(SubscriptionTable, EmptyFilterMatchesEverything) {
  subscription_table t;
  t.add("", 3);
  t.add("X", 4);
  EXPECT_EQ(match(t, ""), subs{3});
  EXPECT_EQ(match(t, "anything"), subs{3});
  EXPECT_EQ(match(t, "Xyz"), (subs{3, 4}));
  EXPECT_TRUE(t.matches_any(""));
}

TEST(SubscriptionTable, OverlappingFiltersMatchOnce) {
  subscription_table t;
  t.add("T", 1);
  t.add("Ty", 1);
  t.add("TypeA", 1);
  t.add("TypeA", 2);
  std::vector<subscription_table::subscriber> out;
  t.match("TypeA payload", out);
  std::sort(out.begin(), out.end());
  EXPECT_EQ(out, (subs{1, 2}));
}

TEST(SubscriptionTable, RemoveCountsAndRemoveAll) {
  subscription_table t;
  t.add("A", 1);
  t.add("A", 1);
  EXPECT_TRUE(t.remove("A", 1));
  EXPECT_EQ(match(t, "A"), subs{1});
  EXPECT_TRUE(t.remove("A", 1));
  EXPECT_EQ(match(t, "A"), subs{});
  EXPECT_FALSE(t.remove("A", 1));
  EXPECT_TRUE(t.empty());
  t.add("A", 1);
  t.add("B", 1);
  t.add("B", 2);
  t.remove_all(1);
  EXPECT_EQ(match(t, "A"), subs{});
  EXPECT_EQ(match(t, "B"), subs{2});
  EXPECT_EQ(t.size(), 1u);
}

TEST(SubscriptionTable, BinaryFiltersWithZeroBytes) {
  subscription_table t;
  std::string f{"\0\x01\xff", 3};
  t.add(f, 7);
  EXPECT_EQ(match(t, std::string{"\0\x01\xff rest", 8}), subs{7});
  EXPECT_EQ(match(t, std::string{"\0\x01", 2}), subs{});
}

TEST(SubscriptionTable, ManyFiltersEachMatchesItsOwn) {
  subscription_table t;
  for (subscription_table::subscriber i = 0; i < 5000; ++i)
    t.add("topic." + std::to_string(i) + ".", i);
  EXPECT_EQ(t.size(), 5000u);
  for (subscription_table::subscriber i = 0; i < 5000; i += 499)
    EXPECT_EQ(match(t, "topic." + std::to_string(i) + ".payload"), subs{i});
  EXPECT_EQ(match(t, "topic.x"), subs{});
}
