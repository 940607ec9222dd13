#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "src/core/ids.hpp"

namespace ee {

/// Who may connect to which CURVE port: one allow-list of public keys per
/// ZAP domain (each TCP socket of the bridge has its own domain). A plain
/// class: no ZeroMQ, no clock, no threads.
class zap_policy {
public:
  /// The allow-list of one port.
  struct rule {
    /// The port in messages, e.g. "the publish port 5559".
    std::string what;
    /// Where its list comes from, e.g. "[engine.security] allowed_clients_dir
    /// and allowed_keys".
    std::string source;
    /// The allowed public keys (32 bytes each).
    std::unordered_set<std::string> keys;
  };

  /// What to answer a ZAP request.
  struct verdict {
    /// True: status 200; false: status 400 (refused).
    bool allowed = false;
    /// The ZAP status code ("200", "400").
    std::string status;
    /// The short ZAP status text sent to libzmq.
    std::string text;
    /// For a refusal: the log line (who, where, why, and the fix).
    std::string reason;
  };

  /// Sets (or replaces) the rule of `domain`.
  void set(const std::string& domain, rule r);

  /// Decides a request: `mechanism` must be "CURVE" and `key` (32 bytes)
  /// on the list of `domain`. `address` is the peer's IP address.
  verdict decide(std::string_view domain, std::string_view address,
                 std::string_view mechanism, std::string_view key) const;

private:
  std::unordered_map<std::string, rule> rules_;
};

/// The ZAP domain of the publish port, the subscribe port and the command
/// port of external plugin `id`.
std::string zap_domain_publish();
std::string zap_domain_subscribe();
std::string zap_domain_plugin(endpoint_id id);

/// @returns the log line for a failed handshake that the socket monitor of
/// `what` (e.g. "the publish port 5559") reported: `event` is a
/// ZMQ_EVENT_HANDSHAKE_FAILED_* and `value` its value; `curve` says whether
/// the port is a CURVE server. Empty for events that need no line of their
/// own: a ZAP refusal (logged by the ZAP handler), and a failure without
/// detail on a port without CURVE (a client that gave up early).
std::string describe_handshake_failure(int event, int value,
                                       const std::string& what, bool curve);

} // namespace ee
