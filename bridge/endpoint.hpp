#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <zmq.hpp>

#include "bridge/connection_tracker.hpp"
#include "bridge/connection_watch.hpp"
#include "bridge/counters.hpp"
#include "bridge/refusal_log.hpp"
#include "bridge/seam.hpp"
#include "ee/error.hpp"
#include "ee/expected.hpp"
#include "ee/external_plugin.hpp"
#include "src/core/publish_credit.hpp"

namespace ee {

#define EE_ENDPOINT_ATOMIC(field, ...) std::atomic<std::uint64_t> field{0};

/// Counters of one endpoint (`EE_ENDPOINT_COUNTERS`, bridge/bridge.hpp).
/// Written by the bridge's thread, readable from any thread.
struct endpoint_counters {
  EE_ENDPOINT_COUNTERS(EE_ENDPOINT_ATOMIC)
};

#undef EE_ENDPOINT_ATOMIC

/// The command port of one external plugin: a ROUTER that serves REQ peers
/// (pyevents) with the command protocol, its socket monitor and connection
/// tracker, the plugin's queue of events, the event in flight per
/// connection identity, waiting `next_msg` requests, publish requests held
/// for credit, and its own publish credit. Owned and used by the bridge's
/// thread only (except `counters()`).
class endpoint {
public:
  using clock_type = std::chrono::steady_clock;

  /// What an endpoint needs to know.
  struct config {
    endpoint_id id;
    std::string name;
    int port = 0;
    std::string bind_address = "127.0.0.1";
    delivery_mode delivery = delivery_mode::at_least_once;
    std::uint32_t max_delivery_attempts = 3;
    /// Largest event accepted from the wire.
    std::size_t max_message_size = 64 * 1024 * 1024;
    /// Most publish requests held for credit (count and bytes).
    std::size_t held_max = 1000;
    std::size_t held_max_bytes = 64 * 1024 * 1024;
    /// The engine's secret key (32 bytes) if the port is a CURVE server
    /// (ZAP domain `zap_domain_plugin(id)`), else empty.
    std::string curve_secret;
    /// Gets the handshakes that failed (a plain-text client on a CURVE
    /// port, a wrong server key, ...); may be null. Outlives the endpoint.
    refusal_log* refusals = nullptr;
    /// With CURVE: the bridge's pending handshakes (outlives the endpoint).
    handshake_book* handshakes = nullptr;
    /// Connections at a time (`app_config::max_connections`).
    std::size_t max_connections = 256;
  };

  /// Creates the ROUTER and its monitor and binds the ROUTER. @returns an
  /// error naming the port, the plugin and the fix on failure.
  ///
  /// The monitor reports ACCEPTED and DISCONNECTED (for the connection
  /// tracker) and failed handshakes (for the refusal log). A connection
  /// refused in its handshake (by ZAP or for a protocol error) is accepted
  /// and disconnected without a message: the tracker never binds an
  /// identity to it and forgets it at the next drain.
  static expected<std::unique_ptr<endpoint>> open(zmq::context_t& ctx,
                                                  config cfg);

  endpoint(const endpoint&) = delete;
  endpoint& operator=(const endpoint&) = delete;
  ~endpoint();

  // -- properties -------------------------------------------------------------

  /// @returns the plugin's endpoint id.
  endpoint_id id() const noexcept { return cfg_.id; }

  /// @returns the plugin's name.
  const std::string& name() const noexcept { return cfg_.name; }

  /// @returns the bound TCP port.
  int port() const noexcept { return port_; }

  /// @returns the counters (thread-safe).
  const endpoint_counters& counters() const noexcept { return counters_; }

  /// @returns the ROUTER and the monitor socket, for polling.
  zmq::socket_t& router() noexcept { return router_; }
  zmq::socket_t& monitor() noexcept { return monitor_; }

  /// @returns true if the plugin sent `quit` since its last launch.
  bool quit() const noexcept { return quit_; }

  /// @returns events queued, in flight, waiting requests and held publishes
  /// (for tests).
  std::size_t queued() const noexcept { return queue_.size(); }
  std::size_t in_flight() const noexcept { return in_flight_.size(); }
  std::size_t waiting() const noexcept { return waiting_.size(); }
  std::size_t held() const noexcept { return held_.size(); }

  // -- commands of the engine
  // --------------------------------------------------

  /// Appends events to the queue and serves waiting requests.
  void deliver(event_batch&& events);

  /// Adds publish credit; held publishes that fit are published.
  void grant(credit c);

  /// The plugin's process is (re)launched: events in flight go back to the
  /// front of the queue (one attempt spent) and `first_request` is reported
  /// again.
  void relaunched();

  /// Stops serving: queued and in-flight events are discarded, held
  /// publishes get a `bad msg` reply, later requests too.
  void retire();

  // -- I/O
  // ---------------------------------------------------------------------

  /// Reads the monitor and the ROUTER (at most a budget of messages).
  /// @returns true if there may be more to read.
  bool read(clock_type::time_point now);

  /// Sends due probes. @returns the time of the next one (or max()).
  clock_type::time_point on_timer(clock_type::time_point now);

  /// Reports what happened since the last call: at most one `published`
  /// and one `settled`, and `first_request` / `quit`.
  void flush(engine_link& engine);

private:
  struct entry {
    event ev;
    std::uint64_t seq = 0;
    std::uint32_t attempts = 0;
  };

  using frames = std::vector<zmq::message_t>;

  struct waiting_request {
    std::string identity;
    frames envelope;
  };

  struct held_publish {
    frames envelope;
    event ev;
  };

  struct flight {
    entry e;
    // The envelope of the request it answered (for probes), and whether it
    // had a delimiter (only REQ peers can be probed).
    std::vector<std::string> envelope;
    bool delimited = false;
    // When to probe next (uncertain identities only) and the interval.
    clock_type::time_point probe_at = clock_type::time_point::max();
    std::chrono::microseconds probe_interval{0};
  };

  endpoint(zmq::context_t& ctx, config cfg);

  void drain_monitor();

  // Logs `line` (if any) as a refused connection on this port.
  void refuse(const std::string& line);

public:
  /// Ends pending handshakes beyond the limits (`handshake_book`).
  /// @returns the number still pending.
  std::size_t check_handshakes();

private:
  void handle(frames& msg, clock_type::time_point now);
  void on_gone(const std::string& identity);
  void settle(const std::string& identity);
  void serve(clock_type::time_point now);
  void give_back(std::vector<entry>& back);
  void publish_now(frames& envelope, event ev);
  void release_held();
  bool reply(const frames& envelope, std::string_view body);
  bool reply(const frames& envelope, zmq::message_t body);
  void schedule_probe(flight& f, clock_type::time_point now);

  config cfg_;
  zmq::socket_t router_;
  zmq::socket_t monitor_;
  int port_ = -1;
  connection_tracker tracker_;
  connection_watch watch_;
  std::deque<entry> queue_;
  std::uint64_t next_seq_ = 0;
  std::unordered_map<std::string, flight> in_flight_;
  std::list<waiting_request> waiting_;
  std::unordered_map<std::string, std::list<waiting_request>::iterator>
      waiting_by_id_;
  std::deque<held_publish> held_;
  std::size_t held_bytes_ = 0;
  publish_credit credit_;
  bool quit_ = false;
  bool quit_pending_ = false;
  bool first_request_seen_ = false;
  bool first_request_pending_ = false;
  bool retired_ = false;
  std::size_t probing_ = 0;
  // This iteration's batches.
  event_batch published_;
  settlement settled_;
  endpoint_counters counters_;
};

} // namespace ee
