#include "bridge/protocol.hpp"

#include <string>
#include <vector>

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

namespace {

std::vector<std::string_view>
frames(std::initializer_list<std::string_view> xs) {
  return std::vector<std::string_view>{xs};
}

} // namespace

TEST(Protocol, EnvelopeOfAReqPeerEndsWithTheDelimiter) {
  auto s = split_envelope(frames({"id", "", "body"}));
  EXPECT_EQ(s.envelope_frames, 2u);
  EXPECT_TRUE(s.delimited);
  EXPECT_EQ(s.body_frames, 1u);
  // REQ_CORRELATE: the request id travels in the envelope.
  s = split_envelope(frames({"id", "\x01\x02\x03\x04", "", "body"}));
  EXPECT_EQ(s.envelope_frames, 3u);
  EXPECT_EQ(s.body_frames, 1u);
  // Only the first empty frame after the identity is the delimiter; an
  // empty identity frame is not.
  s = split_envelope(frames({"", "", "a", "", "b"}));
  EXPECT_EQ(s.envelope_frames, 2u);
  EXPECT_EQ(s.body_frames, 3u);
}

TEST(Protocol, APeerWithoutDelimiterGetsItsIdentityAsEnvelope) {
  auto s = split_envelope(frames({"id", "body"}));
  EXPECT_EQ(s.envelope_frames, 1u);
  EXPECT_FALSE(s.delimited);
  EXPECT_EQ(s.body_frames, 1u);
  s = split_envelope(frames({"id"}));
  EXPECT_EQ(s.envelope_frames, 1u);
  EXPECT_EQ(s.body_frames, 0u);
  s = split_envelope({});
  EXPECT_EQ(s.envelope_frames, 0u);
  EXPECT_EQ(s.body_frames, 0u);
}

TEST(Protocol, ParseClassifiesTheBody) {
  auto p = parse(frames({"id", "", "plugin_command: next_msg"}), 100);
  EXPECT_EQ(p.req.kind, request_kind::next_msg);
  p = parse(frames({"id", "", "TypeA"}), 100);
  EXPECT_EQ(p.req.kind, request_kind::publish);
  EXPECT_EQ(p.body, "TypeA");
  p = parse(frames({"id", "", "a", "b"}), 100);
  EXPECT_EQ(p.req.kind, request_kind::bad);
  EXPECT_NE(p.req.error.find("2 frames"), std::string::npos);
  p = parse(frames({"id", ""}), 100);
  EXPECT_EQ(p.req.kind, request_kind::bad);
  p = parse(frames({"id", "", ""}), 100); // zero-length event
  EXPECT_EQ(p.req.kind, request_kind::publish);
  p = parse(frames({"id", "TypeB"}), 100); // raw DEALER
  EXPECT_EQ(p.req.kind, request_kind::publish);
  EXPECT_EQ(p.body, "TypeB");
}

TEST(Protocol, ProbeCarriesAnIdThatNoReqPeerAccepts) {
  auto p = probe_frames(frames({"id", ""}));
  ASSERT_EQ(p.size(), 4u);
  EXPECT_EQ(p[0], "id");
  EXPECT_EQ(p[1].size(), 4u); // not the empty delimiter a plain REQ wants
  EXPECT_EQ(p[2], "");        // the REQ session's state machine wants one
  EXPECT_EQ(p[3], probe_body);
  // A correlating peer's last id was 7: the probe carries 6.
  std::string id7{"\x07\x00\x00\x00", 4};
  p = probe_frames(frames({"id", id7, ""}));
  EXPECT_EQ(p[1], std::string("\x06\x00\x00\x00", 4));
}
