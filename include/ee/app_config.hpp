#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "ee/event_type.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// CurveZMQ authentication and encryption of the engine's TCP ports (see
/// docs/security.md). Off by default: the ports then speak plain text and
/// admit anyone who can reach them, which is safe on the loopback (the
/// default `bind_address`) only.
///
/// Keys are CurveZMQ keys: 40 Z85 characters each, in certificate files as
/// `event-engine keygen` (or pyzmq's `zmq.auth.create_certificates`, or
/// CZMQ's zcert) writes them: `NAME.key` holds the public key,
/// `NAME.key_secret` the public and the secret key.
struct security_config {
  /// If true, every TCP port (publish, subscribe and each external plugin's)
  /// is a CURVE server: traffic is encrypted, and a client gets in only if
  /// its public key is allowed on that port (a ZAP handler on the bridge's
  /// thread checks each handshake). Refused clients are logged with the
  /// reason, at most 20 lines per 10 s.
  bool curve = false;
  /// The engine's secret certificate (`NAME.key_secret`). Clients need the
  /// public key of it (`NAME.key`); launched plugins get it in
  /// `EE_CURVE_SERVER_KEY`.
  std::string secret_key_file;
  /// Instead of `secret_key_file`: the engine's secret key (Z85).
  std::string secret_key;
  /// Every `*.key` file (public certificate) in this folder is an allowed
  /// client. Read once when the app starts.
  std::string allowed_clients_dir;
  /// More allowed clients: public certificate files (`NAME.key`).
  std::vector<std::string> allowed_key_files;
  /// More allowed clients: public keys (Z85).
  std::vector<std::string> allowed_keys;
  // The clients allowed by these three lists may use the publish and the
  // subscribe port, and the port of each external plugin that has no list
  // of its own (see external_plugin_config::allowed_keys).
};

/// Mutual TLS on every federation link (see docs/federation.md).
struct federation_tls_config {
  /// This engine's certificate (PEM), presented to every peer.
  std::string certificate;
  /// Its private key (PEM).
  std::string key;
  /// The CA (PEM) that must have signed every peer's certificate.
  std::string ca;
};

/// Federation: engines on several hosts form one bus (docs/federation.md).
/// Off while `name` is empty.
struct federation_config {
  /// This engine's name, unique in the federation ([A-Za-z0-9_.-]+).
  std::string name;
  /// Where peers connect (`HOST:PORT`; port 0 picks one, which is logged);
  /// empty: no listening.
  std::string listen;
  /// Peers to dial (`HOST:PORT`), reconnecting with back-off.
  std::vector<std::string> peers;
  /// Per peer link: bytes of events kept while the link is down or not yet
  /// acknowledged; beyond it, while down, the oldest are dropped.
  std::size_t buffer_bytes = 64 * 1024 * 1024;
  /// Mutual TLS on every link, both ways (all three files set), or none.
  federation_tls_config tls;
  /// @returns true if the engine federates.
  bool enabled() const noexcept { return !name.empty(); }
  /// @returns true if the links use TLS.
  bool uses_tls() const noexcept {
    return !tls.certificate.empty() || !tls.key.empty() || !tls.ca.empty();
  }
};

/// Application-wide settings. Every field has a working default.
struct app_config {
  /// TCP port where raw PUB clients publish into the engine (engine: SUB).
  /// 0 picks a free port. Range 0..65535.
  int publish_port = 5559;
  /// TCP port where raw SUB clients receive every event (engine: XPUB).
  /// 0 picks a free port. Range 0..65535.
  int subscribe_port = 5560;
  /// Address the TCP sockets bind to: loopback by default; `"*"` or
  /// `"0.0.0.0"` for every interface (containers).
  std::string bind_address = "127.0.0.1";
  /// If false, no TCP port is opened unless external plugins are registered
  /// (useful for purely in-process apps and tests).
  bool enable_tcp = true;
  /// Largest event accepted from the wire, in bytes; larger ones are
  /// rejected with an error reply and counted.
  std::size_t max_message_size = 64 * 1024 * 1024;
  /// Default capacity of each subscriber's queue, in events (queued plus
  /// delivered and not yet handled).
  std::size_t queue_capacity = 10000;
  /// Default capacity of each subscriber's queue, in bytes. An event larger
  /// than this still gets into an empty queue, so memory per subscriber is
  /// bounded by `queue_bytes + max_message_size`.
  std::size_t queue_bytes = 64 * 1024 * 1024;
  /// How many events may be delivered to a plugin before it acknowledges.
  std::size_t delivery_window = 1000;
  /// How many events a publisher may have in flight to the engine before it
  /// waits for credit (blocking plugins wait in `publish`; actor plugins'
  /// scheduled actions wait; the bridge stops reading its sockets).
  std::size_t publish_window = 1000;
  /// The same window in bytes: a publisher waits while this many bytes of
  /// its events are not yet routed.
  std::size_t publish_window_bytes = 64 * 1024 * 1024;
  /// Bytes of events on their way to raw SUB clients of the subscribe port
  /// (queued inside ZeroMQ). Beyond it, events for raw subscribers are
  /// dropped and counted (`engine_stats::raw_dropped`), as ZeroMQ drops at
  /// its high-water mark.
  std::size_t raw_subscriber_bytes = 64 * 1024 * 1024;
  /// Subscriptions of raw SUB clients on the subscribe port (libzmq keeps
  /// them in a trie of about 32 bytes per filter byte): distinct filters in
  /// total, their bytes in total, and the bytes one connection may send
  /// (every subscribe and unsubscribe message it ever sends counts). A
  /// connection beyond a limit is disconnected, which releases what it held,
  /// and counted (`engine_stats::refused_subscribers`).
  std::size_t max_subscriptions = 10000;
  /// See `max_subscriptions`.
  std::size_t max_subscription_bytes = 1024 * 1024;
  /// See `max_subscriptions`.
  std::size_t max_subscriber_bytes = 1024 * 1024;
  /// TCP connections at a time on each port (the publish port, the
  /// subscribe port, each plugin's port). libzmq holds up to its receive
  /// high-water mark plus one frame for each connection whatever the
  /// budgets, so this bounds what many connections can make the engine
  /// hold (docs/design.md, the memory table). One more is disconnected at
  /// once, logged (rate-limited) and counted in
  /// `engine_stats::refused_connections`.
  std::size_t max_connections = 256;
  /// Which plugins are restarted when one fails.
  restart_strategy strategy = restart_strategy::one_for_one;
  /// Restart intensity: at most `max_restarts` within `restart_period`,
  /// else the app escalates (stops everything, `run()` fails).
  std::size_t max_restarts = 5;
  /// See `max_restarts`.
  std::chrono::milliseconds restart_period{10000};
  /// Bound on shutdown, from `stop()` (or the end of the last plugin) to
  /// `run()` returning: queues drain and plugins stop in reverse order
  /// within it; what is still running at the deadline is abandoned (a
  /// plugin stuck in its own code is named in the log and in `run()`'s
  /// result) and processes get SIGKILL. `run()` returns shortly after.
  std::chrono::milliseconds shutdown_grace{3000};
  /// Worker threads of the actor scheduler (0 = number of cores).
  std::size_t scheduler_threads = 0;
  /// Event types to count by (`engine_stats::types`), besides those the
  /// plugins subscribe to (whose names come from their `event_type`s).
  std::vector<event_type> event_types;
  /// If not zero, the engine publishes its counters this often as the event
  /// `ee.stats\n<JSON>` (see `to_json`), which reaches subscriptions that
  /// name it (`"ee.stats"`), internal or external.
  std::chrono::milliseconds stats_interval{0};
  /// The engine's environment variables that launched processes get (a
  /// trailing `*` matches any suffix). Nothing else of the engine's
  /// environment reaches them, and never a name starting with `EE_`: a
  /// process gets its own `env` and the EE_* variables the engine sets for
  /// it (README, "Launched processes").
  std::vector<std::string> inherit_env{"PATH",  "HOME", "USER",   "LOGNAME",
                                       "SHELL", "LANG", "LC_*",   "LANGUAGE",
                                       "TZ",    "TERM", "TMPDIR", "PYTHONPATH"};
  /// CurveZMQ on the TCP ports (off by default). Binding to an address
  /// that is not a loopback address without it logs a warning that names
  /// what anyone on the network could do on which port.
  security_config security{};
  /// Peering with engines on other hosts (off unless `federation.name` is
  /// set).
  federation_config federation{};
};

} // namespace ee
