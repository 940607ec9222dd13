// The ZAP policy: who may connect to which port, and the reasons given for
// a refusal; the log lines for failed handshakes; loopback addresses.

#include "bridge/zap_policy.hpp"

#include <cerrno>

#include <gtest/gtest.h>
#include <zmq.h>

#include "bridge/address.hpp"
#include "bridge/curve_keys.hpp"

using namespace ee;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

TEST(ZapPolicy, AdmitsOnlyListedKeysPerDomain) {
  auto a = *curve::decode(curve::generate()->public_key, "a");
  auto b = *curve::decode(curve::generate()->public_key, "b");
  zap_policy pol;
  pol.set(zap_domain_plugin(endpoint_id{1}),
          zap_policy::rule{"the port 6000 of plugin 'A'",
                           "the allowed keys of plugin 'A'",
                           {a}});
  pol.set(zap_domain_plugin(endpoint_id{2}),
          zap_policy::rule{"the port 6001 of plugin 'B'",
                           "the allowed keys of plugin 'B'",
                           {b}});
  auto ok =
      pol.decide(zap_domain_plugin(endpoint_id{1}), "10.0.0.7", "CURVE", a);
  EXPECT_TRUE(ok.allowed);
  EXPECT_EQ(ok.status, "200");
  auto other =
      pol.decide(zap_domain_plugin(endpoint_id{2}), "10.0.0.7", "CURVE", a);
  EXPECT_FALSE(other.allowed);
  EXPECT_EQ(other.status, "400");
  EXPECT_TRUE(contains(other.reason, "client 10.0.0.7 on the port 6001 of "
                                     "plugin 'B'"))
      << other.reason;
  EXPECT_TRUE(contains(other.reason, curve::encode(a))) << other.reason;
  EXPECT_TRUE(contains(other.reason, "not on the allow-list (the allowed keys "
                                     "of plugin 'B')"))
      << other.reason;
  auto plain =
      pol.decide(zap_domain_plugin(endpoint_id{1}), "10.0.0.8", "NULL", "");
  EXPECT_FALSE(plain.allowed);
  EXPECT_TRUE(contains(plain.reason, "NULL mechanism, not CURVE"))
      << plain.reason;
  auto garbled =
      pol.decide(zap_domain_plugin(endpoint_id{1}), "", "CURVE", "short");
  EXPECT_FALSE(garbled.allowed);
  EXPECT_TRUE(contains(garbled.reason, "5 bytes")) << garbled.reason;
  auto stranger = pol.decide("elsewhere", "", "CURVE", a);
  EXPECT_FALSE(stranger.allowed);
  EXPECT_TRUE(contains(stranger.reason, "unknown ZAP domain"))
      << stranger.reason;
}

TEST(ZapPolicy, HandshakeFailuresNameTheCauseAndTheFix) {
  auto plain =
      describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                 ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
                                 "the publish port 5559", true);
  EXPECT_TRUE(contains(plain, "plain-text client on the publish port 5559"))
      << plain;
  EXPECT_TRUE(contains(plain, "EE_CURVE_SERVER_KEY")) << plain;
  auto keyed =
      describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                 ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
                                 "the publish port 5559", false);
  EXPECT_TRUE(contains(keyed, "the engine has CURVE off")) << keyed;
  auto wrong = describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                                          ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
                                          "the subscribe port 5560", true);
  EXPECT_TRUE(contains(wrong, "not this engine's public key")) << wrong;
  auto reset = describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                          ECONNRESET, "the port 6000", true);
  EXPECT_TRUE(contains(reset, "a client hung up during its handshake on the "
                              "port 6000"))
      << reset;
  EXPECT_TRUE(contains(reset, "most likely a plain-text client")) << reset;
  // The handshake timer: libzmq reports it without detail, with the errno
  // its I/O thread had last (EAGAIN from a read that found nothing).
  auto slow = describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                         EAGAIN, "the port 6000", true);
  EXPECT_TRUE(contains(slow, "did not complete its handshake on the port "
                             "6000 within 2 s"))
      << slow;
  EXPECT_FALSE(contains(slow, "hung up")) << slow;
  // Without CURVE a client that gives up early is no refusal.
  EXPECT_EQ(describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                                       ECONNRESET, "x", false),
            "");
  // The ZAP handler logs its own refusals.
  EXPECT_EQ(describe_handshake_failure(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, 400,
                                       "x", true),
            "");
}

TEST(Address, LoopbackAddresses) {
  for (auto a : {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]",
                 "::ffff:127.0.0.1", "lo"})
    EXPECT_TRUE(address::is_loopback(a)) << a;
  for (auto a : {"*", "0.0.0.0", "::", "[::]", "10.0.0.1", "192.168.1.5",
                 "eth0", "example.org", "::ffff:10.0.0.1"})
    EXPECT_FALSE(address::is_loopback(a)) << a;
}
