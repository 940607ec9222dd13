#include "src/core/subscription_table.hpp"

#include <algorithm>
#include <random>
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

// Differential: random adds and removes (with counts, shared filters, many
// subscribers) against a naive list of (filter, subscriber) pairs.
TEST(SubscriptionTable, MatchesANaiveModelUnderRandomAddsAndRemoves) {
  const std::vector<std::string> filters{"", "a", "ab", "abc", "b", "ba", "c"};
  const std::vector<std::string> events{"",  "a",   "ab", "abc", "abcd",
                                        "b", "bab", "c",  "ca",  "x"};
  for (unsigned seed = 1; seed <= 50; ++seed) {
    std::mt19937 rng{seed};
    subscription_table t;
    std::vector<std::pair<std::string, subscription_table::subscriber>> model;
    auto pick = [&](std::size_t n) {
      return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
    };
    for (int step = 0; step < 2000; ++step) {
      auto sub = static_cast<subscription_table::subscriber>(pick(12));
      auto& f = filters[pick(filters.size())];
      switch (pick(4)) {
      case 0:
      case 1:
        t.add(f, sub);
        model.emplace_back(f, sub);
        break;
      case 2: {
        auto i = std::find(model.begin(), model.end(), std::make_pair(f, sub));
        EXPECT_EQ(t.remove(f, sub), i != model.end());
        if (i != model.end())
          model.erase(i);
        break;
      }
      case 3:
        if (pick(8) == 0) {
          t.remove_all(sub);
          model.erase(std::remove_if(model.begin(), model.end(),
                                     [&](auto& x) { return x.second == sub; }),
                      model.end());
        }
        break;
      }
      for (auto& ev : events) {
        subs expected;
        for (auto& [mf, ms] : model)
          if (std::string_view{ev}.substr(0, mf.size()) == mf &&
              mf.size() <= ev.size())
            expected.push_back(ms);
        std::sort(expected.begin(), expected.end());
        expected.erase(std::unique(expected.begin(), expected.end()),
                       expected.end());
        ASSERT_EQ(match(t, ev), expected)
            << "seed " << seed << " step " << step << " event '" << ev << "'";
      }
    }
  }
}
