#pragma once

// What tap and pub share: endpoints, filters and names of event types,
// timestamps, and stopping on SIGINT/SIGTERM.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "ee/event_type.hpp"

namespace ee::host {

/// @returns "tcp://HOST:PORT".
std::string endpoint(const std::string& host, int port);

/// Connects `socket` to `ep`; prints why not, naming `command`.
/// @returns true on success.
bool connect(zmq::socket_t& socket, const std::string& ep, const char* command);

/// Resolves a tap filter or pub type: a name of `types`, `hex:...`, or a
/// literal prefix. @returns the bytes, or nothing after printing an error
/// for bad hex.
std::optional<std::string> resolve_prefix(const std::string& text,
                                          const std::vector<event_type>& types);

/// @returns the type of `types` with the longest prefix that starts `bytes`,
/// or null.
const event_type* type_of(std::string_view bytes,
                          const std::vector<event_type>& types);

/// @returns the time now: local ("2026-01-02 15:04:05.123") or UTC in
/// ISO 8601 ("2026-01-02T14:04:05.123Z").
std::string timestamp(bool utc);

/// CurveZMQ settings of a client subcommand (tap, pub).
struct curve_options {
  /// The engine's public key: a certificate file or 40 Z85 characters
  /// (empty: `EE_CURVE_SERVER_KEY`, else no CURVE).
  std::string server_key;
  /// This client's secret certificate (`NAME.key_secret`; empty:
  /// `EE_CURVE_CLIENT_KEY_FILE`).
  std::string client_key;
};

/// Makes `socket` a CURVE client if a server key is given (or in the
/// environment); prints what is wrong, naming `command`. @returns false
/// after an error, else true; `curve` says whether CURVE is on.
bool setup_curve(zmq::socket_t& socket, const curve_options& opts,
                 const char* command, bool& curve);

/// Watches the handshakes of a client socket (attach before connecting),
/// so that a refused client says why instead of waiting silently.
class handshake_watch {
public:
  handshake_watch(zmq::context_t& ctx, zmq::socket_t& socket, bool curve);

  /// @returns the monitor socket, for polling.
  zmq::socket_t& monitor() noexcept { return monitor_; }

  /// Reads the monitor. @returns why the handshake failed for good (the
  /// engine refused the key, a CURVE / plain-text mismatch, or repeated
  /// failures that point at a wrong server key), else nothing.
  std::optional<std::string> failure();

private:
  zmq::socket_t monitor_;
  bool curve_;
  int failures_ = 0;
};

/// Set by SIGINT and SIGTERM once `stop_on_signals` ran.
extern std::atomic<bool> stop_requested;

/// Makes SIGINT and SIGTERM set `stop_requested`.
void stop_on_signals();

} // namespace ee::host
