// The engine's ids (src/core/ids.hpp): distinct types that do not mix.

#include "src/core/ids.hpp"

#include <type_traits>
#include <unordered_set>

#include <gtest/gtest.h>

using namespace ee;

// A subscriber id where a publisher id or a slot is expected does not
// compile, nor does a plain number without saying which id it is.
static_assert(!std::is_convertible_v<sub_id, pub_id>);
static_assert(!std::is_constructible_v<pub_id, sub_id>);
static_assert(!std::is_convertible_v<child_id, slot_id>);
static_assert(!std::is_convertible_v<endpoint_id, slot_id>);
static_assert(!std::is_convertible_v<std::uint32_t, sub_id>);
static_assert(!std::is_convertible_v<sub_id, std::uint32_t>);
// A vector indexed by one id takes no other.
template <class V, class I, class = void>
struct indexable : std::false_type {};
template <class V, class I>
struct indexable<V, I,
                 std::void_t<decltype(std::declval<V&>()[std::declval<I>()])>>
  : std::true_type {};
static_assert(indexable<id_vector<sub_id, int>, sub_id>::value);
static_assert(!indexable<id_vector<sub_id, int>, pub_id>::value);
static_assert(!indexable<id_vector<sub_id, int>, std::size_t>::value);

TEST(Ids, NoneIsTheDefaultAndInvalid) {
  EXPECT_FALSE(sub_id{}.valid());
  EXPECT_EQ(sub_id{}, sub_id::none());
  EXPECT_TRUE(sub_id{0}.valid());
  EXPECT_NE(sub_id{0}, sub_id::none());
}

TEST(Ids, AnIdVectorHandsOutDenseIdsAndListsThem) {
  id_vector<child_id, std::string> v;
  EXPECT_EQ(v.next_id(), child_id{0});
  auto a = v.push_back("a");
  auto b = v.push_back("b");
  EXPECT_EQ(a, child_id{0});
  EXPECT_EQ(b, child_id{1});
  EXPECT_EQ(v[b], "b");
  EXPECT_TRUE(v.contains(b));
  EXPECT_FALSE(v.contains(child_id{2}));
  EXPECT_FALSE(v.contains(child_id::none()));
  std::string seen;
  for (auto id : v.ids())
    seen += v[id];
  EXPECT_EQ(seen, "ab");
}

TEST(Ids, IdsHashAndPrint) {
  std::unordered_set<pub_id> s{pub_id{1}, pub_id{2}, pub_id{1}};
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(to_string(pub_id{7}), "7");
}
