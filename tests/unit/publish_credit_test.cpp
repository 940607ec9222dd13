// The publish credit every publisher holds (src/core/publish_credit.hpp).

#include "src/core/publish_credit.hpp"

#include <gtest/gtest.h>

using ee::credit;
using ee::publish_credit;

TEST(PublishCredit, NoneUntilGranted) {
  publish_credit c;
  EXPECT_FALSE(c.available());
  c.grant(credit{1, 10});
  EXPECT_TRUE(c.available());
}

TEST(PublishCredit, EachEventSpendsOneEventAndItsBytes) {
  publish_credit c{credit{2, 100}};
  c.spend(30);
  EXPECT_TRUE(c.available());
  EXPECT_EQ(c.events(), 1);
  EXPECT_EQ(c.bytes(), 70);
  c.spend(30);
  EXPECT_FALSE(c.available()); // no events left
}

TEST(PublishCredit, AnEventLargerThanTheBytesLeftStillGoes) {
  publish_credit c{credit{10, 100}};
  c.spend(90);
  ASSERT_TRUE(c.available()); // 10 bytes left: the next event may go
  c.spend(500);
  EXPECT_EQ(c.bytes(), -490);
  EXPECT_FALSE(c.available());
  c.grant(credit{0, 490});
  EXPECT_FALSE(c.available()); // back to zero bytes: still none
  c.grant(credit{0, 1});
  EXPECT_TRUE(c.available());
}

TEST(PublishCredit, OverspentEventsWaitForGrantsToMakeUp) {
  publish_credit c{credit{1, 1000}};
  c.spend(1);
  c.spend(1); // a callback cannot be interrupted
  EXPECT_EQ(c.events(), -1);
  c.grant(credit{1, 0});
  EXPECT_FALSE(c.available());
  c.grant(credit{1, 0});
  EXPECT_TRUE(c.available());
}
