#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <zmq.hpp>

#include "bridge/refusal_log.hpp"
#include "bridge/zap_policy.hpp"
#include "ee/expected.hpp"

namespace ee {

/// The ZAP handler (ZeroMQ RFC 27) of a bridge's context: a ROUTER bound to
/// `inproc://zeromq.zap.01` that libzmq asks, during each CURVE handshake
/// on the bridge's TCP ports, whether the client's public key may connect.
/// It answers from its `zap_policy`. Owned and read by the bridge's poll
/// thread (one more socket in its poll set); created and bound before any
/// TCP port so that no handshake finds it missing.
class zap_handler {
public:
  using clock_type = std::chrono::steady_clock;

  /// The endpoint libzmq sends ZAP requests to.
  static constexpr const char* endpoint = "inproc://zeromq.zap.01";

  /// Creates the ROUTER and binds it. @returns an error on failure (e.g.
  /// another handler in the same context).
  static expected<std::unique_ptr<zap_handler>> open(zmq::context_t& ctx);

  zap_handler(const zap_handler&) = delete;
  zap_handler& operator=(const zap_handler&) = delete;

  /// @returns the allow-lists (set them up before the ports are served).
  zap_policy& policy() noexcept { return policy_; }

  /// @returns the socket, for polling.
  zmq::socket_t& socket() noexcept { return socket_; }

  /// Answers every pending request; refusals go to `log`.
  void read(refusal_log& log, clock_type::time_point now);

  /// Counters (thread-safe).
  std::uint64_t allowed() const noexcept { return allowed_.load(); }
  std::uint64_t refused() const noexcept { return refused_.load(); }

private:
  explicit zap_handler(zmq::context_t& ctx);

  zmq::socket_t socket_;
  zap_policy policy_;
  std::atomic<std::uint64_t> allowed_{0};
  std::atomic<std::uint64_t> refused_{0};
};

/// Makes `sock` a CURVE server with the 32-byte `secret_key`, whose clients
/// the ZAP handler checks under `domain`, and which refuses every client
/// when no ZAP handler answers. Call before `bind`. @throws zmq::error_t.
void make_curve_server(zmq::socket_t& sock, const std::string& secret_key,
                       const std::string& domain);

} // namespace ee
