#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>

#include <zmq.hpp>

#include "bridge/refusal_log.hpp"
#include "bridge/seam.hpp"
#include "src/core/publish_credit.hpp"
#include "ee/app_config.hpp"
#include "ee/expected.hpp"

namespace ee {

/// The raw ports: a SUB on the publish port (raw PUB clients publish into
/// the engine; it is a publisher of its own, `raw_publish_port`, with its own
/// credit) and an XPUB on the subscribe port (raw SUB clients; their
/// subscriptions go to the engine, events go out without copying). With
/// CURVE both are CURVE servers (ZAP domains `zap_domain_publish()` and
/// `zap_domain_subscribe()`) with a socket monitor each that reports failed
/// handshakes. Owned and used by the bridge's thread only (except the
/// counters).
class raw_ports {
public:
  /// Creates and binds both sockets. `released` counts the bytes of raw
  /// events that libzmq let go of; it must outlive `ctx`. `curve_secret` is
  /// the engine's secret key (32 bytes), empty without CURVE; `refusals`
  /// (with CURVE) gets the failed handshakes and must outlive the ports.
  /// @returns an error naming the port and the fix on failure.
  static expected<std::unique_ptr<raw_ports>>
  open(zmq::context_t& ctx, const app_config& cfg,
       std::atomic<std::uint64_t>& released,
       const std::string& curve_secret = {}, refusal_log* refusals = nullptr);

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

  /// @returns the XPUB socket.
  zmq::socket_t& xpub() noexcept { return xpub_; }

  /// @returns the socket monitors of SUB and XPUB (with CURVE), else null.
  zmq::socket_t* sub_monitor() noexcept {
    return sub_mon_ ? &*sub_mon_ : nullptr;
  }
  zmq::socket_t* xpub_monitor() noexcept {
    return xpub_mon_ ? &*xpub_mon_ : nullptr;
  }

  /// Reads both monitors; failed handshakes go to the refusal log.
  void read_monitors();

  /// Adds publish credit.
  void grant(credit c);

  /// Reads raw PUB clients' events while there is credit. @returns true if
  /// there may be more to read.
  bool read_sub();

  /// Reads raw SUB clients' (un)subscriptions and reports them.
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

private:
  raw_ports(zmq::context_t& ctx, std::atomic<std::uint64_t>& released,
            std::size_t max_message_size);


  void drain_monitor(zmq::socket_t& mon, const std::string& what);

  zmq::socket_t sub_;
  zmq::socket_t xpub_;
  std::optional<zmq::socket_t> sub_mon_;
  std::optional<zmq::socket_t> xpub_mon_;
  refusal_log* refusals_ = nullptr;
  std::atomic<std::uint64_t>& released_;
  std::size_t max_message_size_;
  int publish_port_ = -1;
  int subscribe_port_ = -1;
  publish_credit credit_;
  event_batch published_;
  std::atomic<std::uint64_t> rejected_{0};
  std::atomic<std::uint64_t> published_count_{0};
  std::atomic<std::uint64_t> dropped_{0};
};

} // namespace ee
