#include "bridge/protocol.hpp"

#include <gtest/gtest.h>

using namespace ee::wire;

TEST(Protocol, ConstantsAreTheOriginalBytes) {
  EXPECT_EQ(next_msg_command, "plugin_command: next_msg");
  EXPECT_EQ(quit_command, "plugin_command: quit");
  EXPECT_EQ(published_reply, "event-engine: msg published");
  EXPECT_EQ(bad_msg_reply, "event-engine: bad msg");
}

TEST(Protocol, ClassifiesCommands) {
  EXPECT_EQ(classify(1, "plugin_command: next_msg", 100).kind,
            request_kind::next_msg);
  EXPECT_EQ(classify(1, "plugin_command: quit", 100).kind, request_kind::quit);
  EXPECT_EQ(classify(1, "TypeAhello", 100).kind, request_kind::publish);
  // Near misses are ordinary events.
  EXPECT_EQ(classify(1, "plugin_command: next_msg ", 100).kind,
            request_kind::publish);
  EXPECT_EQ(classify(1, "plugin_command: QUIT", 100).kind,
            request_kind::publish);
  // A zero-length request is an event, as in the original.
  EXPECT_EQ(classify(1, "", 100).kind, request_kind::publish);
}

TEST(Protocol, RejectsMultiFrameEmptyAndOversized) {
  auto multi = classify(2, "", 100);
  EXPECT_EQ(multi.kind, request_kind::bad);
  EXPECT_NE(multi.error.find("multi-frame"), std::string::npos);
  EXPECT_EQ(classify(0, "", 100).kind, request_kind::bad);
  auto big = classify(1, std::string(101, 'x'), 100);
  EXPECT_EQ(big.kind, request_kind::bad);
  EXPECT_NE(big.error.find("101 bytes exceeds the maximum of 100"),
            std::string::npos);
  EXPECT_EQ(make_bad_msg_reply("why"), "event-engine: bad msg: why");
}
