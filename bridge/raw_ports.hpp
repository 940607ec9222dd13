#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>

#include <zmq.hpp>

#include "bridge/connection_watch.hpp"
#include "bridge/refusal_log.hpp"
#include "bridge/seam.hpp"
#include "ee/app_config.hpp"
#include "ee/expected.hpp"
#include "src/core/publish_credit.hpp"

namespace ee {

/// The raw ports: a SUB on the publish port (raw PUB clients publish into
/// the engine; it is a publisher of its own, `raw_publish_port`, with its own
/// credit) and an XPUB on the subscribe port (raw SUB clients; their
/// subscriptions go to the engine, events go out without copying). With
/// CURVE both are CURVE servers (ZAP domains `zap_domain_publish()` and
/// `zap_domain_subscribe()`) with a socket monitor each that reports failed
/// handshakes. The XPUB always has a monitor: its connections are watched
/// for the subscription limits (`app_config::max_subscriptions` and its
/// siblings). Owned and used by the bridge's thread only (except the
/// counters).
class raw_ports {
public:
  /// Creates and binds both sockets. `released` counts the bytes of raw
  /// events that libzmq let go of; it must outlive `ctx`. `curve_secret` is
  /// the engine's secret key (32 bytes), empty without CURVE; `refusals`
  /// (with CURVE) gets the failed handshakes and `handshakes` counts the
  /// pending ones; both must outlive the ports.
  /// @returns an error naming the port and the fix on failure.
  static expected<std::unique_ptr<raw_ports>>
  open(zmq::context_t& ctx, const app_config& cfg,
       std::atomic<std::uint64_t>& released,
       const std::string& curve_secret = {}, refusal_log* refusals = nullptr,
       handshake_book* handshakes = nullptr);

  ~raw_ports();

  raw_ports(const raw_ports&) = delete;
  raw_ports& operator=(const raw_ports&) = delete;

  /// @returns the bound publish and subscribe ports.
  int publish_port() const noexcept { return publish_port_; }
  int subscribe_port() const noexcept { return subscribe_port_; }

  /// @returns the SUB socket if it should be polled (it has credit: without
  /// it TCP pushes back on raw PUB clients), else null.
  zmq::socket_t* sub_to_poll() noexcept {
    return credit_.available() ? &sub_ : nullptr;
  }

  /// @returns the SUB socket.
  zmq::socket_t& sub() noexcept { return sub_; }

  /// @returns the XPUB socket.
  zmq::socket_t& xpub() noexcept { return xpub_; }

  /// @returns the socket monitor of SUB (with CURVE, else null) and XPUB.
  zmq::socket_t* sub_monitor() noexcept {
    return sub_mon_ ? &*sub_mon_ : nullptr;
  }
  zmq::socket_t* xpub_monitor() noexcept { return &xpub_mon_; }

  /// Reads both monitors; failed handshakes go to the refusal log.
  void read_monitors();

  /// Ends pending handshakes beyond the limits (`handshake_book`).
  /// @returns the number still pending.
  std::size_t check_handshakes();

  /// Adds publish credit.
  void grant(credit c);

  /// Reads raw PUB clients' events while there is credit. @returns true if
  /// there may be more to read.
  bool read_sub();

  /// Reads raw SUB clients' (un)subscriptions and reports them within the
  /// limits; disconnects the clients beyond them.
  void read_xpub(engine_link& engine);

  /// Sends events to raw SUB clients, without copying; a send that would
  /// block (a slow subscriber) drops the event, counted.
  void send(event_batch&& events);

  /// Reports this iteration's events (one `published` call).
  void flush(engine_link& engine);

  /// Counters (thread-safe).
  std::uint64_t rejected() const noexcept { return rejected_.load(); }
  std::uint64_t published() const noexcept { return published_count_.load(); }
  std::uint64_t dropped() const noexcept { return dropped_.load(); }
  std::uint64_t refused_subscribers() const noexcept {
    return subscriber_refusals_.total();
  }

private:
  raw_ports(zmq::context_t& ctx, std::atomic<std::uint64_t>& released,
            const app_config& cfg);

  void drain_monitor(zmq::socket_t& mon, const std::string& what,
                     connection_watch* watch);

  // Applies one (un)subscription to the books; @returns false if it is
  // beyond the limits in total.
  bool account(std::string filter, bool subscribed, engine_link& engine);

  // Disconnects the subscribers beyond the limits; gives freed memory back.
  void enforce(bool over_total);

  zmq::socket_t sub_;
  zmq::socket_t xpub_;
  std::optional<zmq::socket_t> sub_mon_;
  zmq::socket_t xpub_mon_;
  refusal_log* refusals_ = nullptr;
  // Whether the ports speak CURVE (how a failed handshake is described).
  bool curve_ = false;
  std::atomic<std::uint64_t>& released_;
  std::size_t max_message_size_;
  std::size_t max_subscriptions_;
  std::size_t max_subscription_bytes_;
  std::size_t max_subscriber_bytes_;
  // The distinct filters reported to the engine, and their bytes.
  std::unordered_set<std::string> filters_;
  std::size_t filter_bytes_ = 0;
  // Bytes of filters released since memory was last given back.
  std::size_t released_filter_bytes_ = 0;
  connection_watch publishers_;
  connection_watch subscribers_;
  // A subscriber was ended for the limits in total: no other is until then
  // (the subscriptions of the one ended may still arrive meanwhile).
  std::chrono::steady_clock::time_point cut_until_{};
  refusal_log subscriber_refusals_;
  int publish_port_ = -1;
  int subscribe_port_ = -1;
  publish_credit credit_;
  event_batch published_;
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> published_count_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

} // namespace ee
