#include "bridge/zap_policy.hpp"

#include <cerrno>

#include "bridge/socket_limits.hpp"

#include <cstdint>
#include <cstdio>
#include <cstring>

#include <zmq.h>

#include "bridge/curve_keys.hpp"

namespace ee {

namespace {

std::string hex32(int value) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "0x%08x", static_cast<unsigned>(value));
  return buf;
}

const char* needs_keys =
    "a client needs the engine's public key (EE_CURVE_SERVER_KEY) and a key "
    "pair of its own whose public key is allowed (docs/security.md)";

} // namespace

void zap_policy::set(const std::string& domain, rule r) {
  rules_[domain] = std::move(r);
}

zap_policy::verdict zap_policy::decide(std::string_view domain,
                                       std::string_view address,
                                       std::string_view mechanism,
                                       std::string_view key) const {
  verdict v;
  v.status = "400";
  auto from = address.empty() ? std::string{"a client"}
                              : "client " + std::string{address};
  auto i = rules_.find(std::string{domain});
  if (i == rules_.end()) {
    v.text = "unknown domain";
    v.reason = "refused " + from + ": unknown ZAP domain '" +
               std::string{domain} + "' (not a port of this engine)";
    return v;
  }
  auto& r = i->second;
  if (mechanism != "CURVE") {
    v.text = "CURVE required";
    v.reason =
        "refused " + from + " on " + r.what + ": it uses the " +
        (mechanism.empty() ? std::string{"NULL"} : std::string{mechanism}) +
        " mechanism, not CURVE; " + needs_keys;
    return v;
  }
  if (key.size() != curve::key_bytes) {
    v.text = "malformed credentials";
    v.reason = "refused " + from + " on " + r.what +
               ": its CURVE credentials are " + std::to_string(key.size()) +
               " bytes, not a 32-byte public key";
    return v;
  }
  if (r.keys.count(std::string{key}) == 0) {
    v.text = "key not allowed";
    v.reason = "refused " + from + " on " + r.what + ": its public key " +
               curve::encode(key) + " is not on the allow-list (" + r.source +
               "); to admit it, add its public key (NAME.key) to that list";
    return v;
  }
  v.allowed = true;
  v.status = "200";
  v.text = "OK";
  return v;
}

std::string zap_domain_publish() {
  return "ee.publish";
}

std::string zap_domain_subscribe() {
  return "ee.subscribe";
}

std::string zap_domain_plugin(endpoint_id id) {
  return "ee.plugin." + to_string(id);
}

std::string describe_handshake_failure(int event, int value,
                                       const std::string& what, bool curve) {
  // A plain-text client sees the CURVE greeting and hangs up, often before
  // the engine has read the client's (a wrong server key fails later, as a
  // protocol error, and a refused key at ZAP).
  // libzmq reports the end of the connection (EPIPE, ECONNRESET) and its
  // handshake timer (with whatever errno its I/O thread had last, usually
  // EAGAIN) alike: without detail.
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && curve &&
      (value == EPIPE || value == ECONNRESET))
    return "a client hung up during its handshake on " + what + " (" +
           std::strerror(value) +
           "): most likely a plain-text client that found the port requires "
           "CURVE; " +
           needs_keys;
  if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL && curve)
    return "a client did not complete its handshake on " + what + " within " +
           std::to_string(handshake_timeout_ms / 1000) +
           " s and was disconnected (timed out; last error: " +
           std::strerror(value) +
           "): a client that connects and sends nothing or too little, or "
           "a network that lost its packets";
  if (event != ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
    return {};
  switch (value) {
  case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
    if (curve)
      return "refused a plain-text client on " + what +
             ": it did not use CURVE; " + needs_keys;
    return "refused a client on " + what +
           ": it uses CURVE (or PLAIN) but the engine has CURVE off "
           "([engine.security] curve = false): connect without keys, or "
           "enable CURVE on the engine";
  case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
    return "refused a client on " + what +
           ": its CURVE handshake could not be decrypted, so it uses a "
           "server key that is not this engine's public key (or it is not "
           "a ZeroMQ client)";
  default:
    return "refused a client on " + what + ": ZMTP handshake error " +
           hex32(value) +
           " (not a ZeroMQ 3.x/4.x client, or a malformed handshake)";
  }
}

} // namespace ee
