#pragma once

// Failed TLS handshakes of CAF's openssl sessions. CAF 0.17 reports none: an
// accepting engine closes the connection silently, a dialling one gets only
// `disconnect_during_handshake`. So the engine wraps OpenSSL's `SSL_accept`
// and `SSL_connect` (CAF's libcaf_openssl calls them through the dynamic
// linker; the wrappers call the real ones and only look at failures) and
// keeps what failed, with the peer's address and OpenSSL's reason, for the
// federation to log and count (docs/federation.md, "TLS").

#include <cstdint>
#include <string>
#include <vector>

namespace ee::federation {

/// The `peer` of a failure whose socket was closed before its address was
/// read.
inline constexpr const char* unknown_tls_peer = "(address unknown)";

/// One failed TLS handshake.
struct tls_failure {
  /// The peer's `HOST:PORT`.
  std::string peer;
  /// OpenSSL's reason, e.g. "certificate verify failed: unable to get local
  /// issuer certificate".
  std::string reason;
  /// True if this engine accepted the connection, false if it dialled.
  bool accepting = false;
};

/// @returns the failures since the last call (at most 64 are kept; the rest
/// are counted in `dropped`). Thread-safe.
std::vector<tls_failure> take_tls_failures(std::uint64_t& dropped);

} // namespace ee::federation
