// The snapshot of the router's counters (src/core/stats_snapshot.cpp).

#include "src/core/stats_snapshot.hpp"

#include <gtest/gtest.h>

using namespace ee;

TEST(StatsSnapshot, PublishersNeedNotBeAddedInTheOrderOfTheirPlugins) {
  router r;
  auto a = r.add_subscriber("a", subscriber_limits{}, custody::router);
  auto b = r.add_subscriber("b", subscriber_limits{}, custody::router);
  auto pub_b = r.add_publisher("b", credit{100, 1 << 20}, b);
  auto pub_a = r.add_publisher("a", credit{100, 1 << 20}, a);
  ASSERT_NE(pub_a.value, a.value); // the case this test is about
  r.publish(pub_a, event{"X"});
  r.publish(pub_a, event{"Y"});
  r.publish(pub_b, event{"Z"});
  auto st = make_stats(r, nullptr,
                       {{a, pub_a, child_id::none(), "actor"},
                        {b, pub_b, child_id::none(), "actor"}},
                       0);
  EXPECT_EQ(st.plugins.at("a").published, 2u);
  EXPECT_EQ(st.plugins.at("b").published, 1u);
  EXPECT_EQ(st.routed, 3u);
}
