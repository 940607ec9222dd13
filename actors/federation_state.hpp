#pragma once

// The federation actor's state (internal to actors/federation*.cpp): peer
// links over CAF's middleman, the link-state topology, dedup, per-link
// buffers and custody (docs/federation.md, "How it works").

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/middleman_actor.hpp>

#include "actors/federation.hpp"
#include "actors/federation_messages.hpp"
#include "ee/log.hpp"
#include "src/core/subscription_table.hpp"
#include "src/federation/custody.hpp"
#include "src/federation/dedup.hpp"
#include "src/federation/link_buffer.hpp"
#include "src/federation/topology.hpp"

namespace ee::federation {

using clock_type = std::chrono::steady_clock;

/// Events a link may have in flight (sent, not acknowledged).
inline constexpr std::size_t link_window_events = 4096;
inline constexpr std::size_t link_window_bytes = 8 * 1024 * 1024;
/// Pings go out this often; a link silent for `heartbeat_timeout` is down.
inline constexpr std::chrono::milliseconds tick_interval{500};
inline constexpr std::chrono::milliseconds heartbeat_timeout{4000};

/// One peer link: configured (dialled, `address` set) or accepted.
struct peer_link {
  peer_link(std::size_t buffer_bytes)
      : out(buffer_bytes, link_window_events, link_window_bytes) {
    // nop
  }

  /// The peer's name (empty until its first hello).
  std::string name;
  /// `HOST:PORT` dialled, or where the accepted peer came from.
  std::string address;
  bool configured = false;
  caf::actor remote;
  bool up = false;
  /// The peer's subscriptions are known (its side's filters).
  bool known = false;
  bool dialing = false;
  std::uint64_t session = 0;
  /// The peer's incarnation (from its hello or welcome).
  std::uint64_t epoch = 0;
  link_buffer out;
  custody_tracker in;
  /// The filters of the engines on its side; `match_all` until known.
  subscription_table filter;
  bool match_all = true;
  std::chrono::milliseconds backoff{0};
  bool unreachable_logged = false;
  clock_type::time_point last_heard;
  std::uint64_t max_sent_seq = 0;
  std::uint64_t drops_unreported = 0;
  federation_peer_stats counters;

  /// @returns the name for logs and stats.
  const std::string& label() const { return name.empty() ? address : name; }

  bool wants(std::string_view bytes) const {
    return match_all || filter.matches_any(bytes);
  }
};

class federation_state;

/// Logs `federation: TEXT`.
void say(log_level lvl, const std::string& text);

/// @returns the wall clock in microseconds (node info versions, epochs).
std::uint64_t wall_clock_us();

using federation_actor = caf::stateful_actor<federation_state>;

class federation_state {
public:
  static inline const char* name = "ee.federation";

  explicit federation_state(federation_actor* self);

  caf::behavior make_behavior(std::shared_ptr<federation_params> params);

private:
  caf::behavior message_table();

  // -- peering (federation.cpp), topology (federation_topology.cpp) ----------

  void start_listening();
  void dial(std::uint32_t idx);
  void schedule_dial(std::uint32_t idx);
  /// A dial failed in the handshake (TLS, or plain against TLS).
  void handshake_failed(std::uint32_t idx, bool reported);
  /// Logs and counts the failed TLS handshakes since the last call (and
  /// tells dialled peers without TLS why). @returns true if there were any.
  /// `dialled`: the address being dialled now, if any.
  bool report_tls_failures(const std::string* dialled = nullptr);
  void tell_plain_peer(const std::string& address);
  /// Counts a refusal and logs it (rate-limited per host and reason).
  void refused(const std::string& where, const std::string& reason);
  void on_hello(hello& h);
  void accept(const hello& h, const caf::actor& remote,
              const std::string& addr);
  void on_welcome(hello& h);
  void on_refuse(std::string& reason);
  void refuse(const caf::actor& to, const std::string& where,
              const std::string& reason);
  void attach(std::uint32_t idx, const caf::actor& remote);
  void link_up(std::uint32_t idx);
  void link_down(std::uint32_t idx, const std::string& reason);
  void on_down(const caf::down_msg& msg);
  void on_tick();
  void report_drops();
  hello my_hello() const;
  node_info self_info();
  void local_changed();
  void send_nodes(std::uint32_t idx, std::vector<node_info> nodes);
  void on_nodes(std::uint32_t idx, nodes_msg& msg);
  void recompute_filters();
  void expect_neighbours();
  void adopt(std::uint32_t into, std::uint32_t from);
  /// @returns the link the current message came from (if `need_up`: only
  /// while that link is up), or `none`.
  std::uint32_t sender_link(bool need_up = true) const;
  std::uint32_t find_name(const std::string& name) const;
  std::uint32_t add_link(std::string address, bool configured);

  // -- events (federation_events.cpp) ----------------------------------------

  void on_local(event_batch& batch);
  void on_events(std::uint32_t idx, event_batch_msg& msg);
  void on_ack(std::uint32_t idx, std::uint64_t seq);
  void push(std::uint32_t idx, const std::shared_ptr<const wire_event>& ev,
            custody_ref ref);
  void custody_done(const custody_ref& ref);
  void pump(std::uint32_t idx);
  void pump_inbound();
  void maybe_release_engine();
  bool stalled() const;
  void filter_held(std::uint32_t idx);
  /// Sends acknowledgements that moved, releases the engine, updates stats.
  void flush();
  void publish_stats();

  // -- state ------------------------------------------------------------------

  static constexpr std::uint32_t none = custody_ref::none;

  federation_actor* self_;
  std::shared_ptr<federation_params> params_;
  caf::io::middleman_actor mm_;
  std::string name_;
  std::uint64_t epoch_ = 0;
  std::uint64_t version_ = 0;
  std::uint64_t next_seq_ = 0;
  topology topo_;
  dedup_table dedup_;
  std::vector<std::unique_ptr<peer_link>> links_;
  std::unordered_map<caf::actor_addr, std::uint32_t> by_addr_;
  std::vector<std::string> local_filters_;
  std::vector<std::string> engine_filters_;
  bool filters_sent_ = false;
  // Events from peers waiting for the federation publisher's credit.
  std::deque<std::pair<event, custody_ref>> inbound_;
  credit credit_;
  // Local events taken but not yet released to the router (held while a
  // link that is up has a full buffer: backpressure).
  std::uint64_t owed_taken_ = 0;
  std::uint64_t refused_ = 0;
  std::uint64_t duplicates_ = 0;
  // When each (host, reason) refusal was last logged.
  std::map<std::string, clock_type::time_point> refusal_logged_;
};

} // namespace ee::federation
