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

/// The engine a client subcommand (tap, pub) talks to.
struct engine_target {
  /// The engine's host (empty: the app file's bind address, else loopback).
  std::string host;
  /// The port (-1: the app file's, else the engine's default).
  int port = -1;
  /// An app's TOML file: its [types] name the events; its [engine] gives
  /// the port, the bind address and the engine's public key.
  std::string app;
  /// CURVE keys (an engine with [engine.security] curve = true).
  curve_options curve;
};

/// Completes `target` from its app file: the host, the port (the subscribe
/// port if `subscribe`, else the publish port) and the engine's public key,
/// where not given, and says on stderr what it took, naming `command`.
/// @returns the app's types followed by the engine's own, or nothing after
/// an error (printed).
std::optional<std::vector<event_type>>
resolve_target(engine_target& target, bool subscribe, const char* command);

/// @returns false after saying that the port is not known: the app file
/// has port 0 (any free port) and no --port was given.
bool port_known(const engine_target& target, const char* command);

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

  /// @returns true once a handshake succeeded: an engine is there.
  bool connected() const noexcept { return connected_; }

  /// Reads the monitor. @returns why the handshake failed for good (the
  /// engine refused the key, a CURVE / plain-text mismatch, or repeated
  /// failures that point at a wrong server key), else nothing.
  std::optional<std::string> failure();

private:
  zmq::socket_t monitor_;
  bool curve_;
  bool connected_ = false;
  int failures_ = 0;
};

/// Set by SIGINT and SIGTERM once `stop_on_signals` ran.
extern std::atomic<bool> stop_requested;

/// Makes SIGINT and SIGTERM set `stop_requested`.
void stop_on_signals();

} // namespace ee::host
