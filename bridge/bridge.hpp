#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "bridge/counters.hpp"
#include "bridge/seam.hpp"
#include "ee/app_config.hpp"
#include "ee/expected.hpp"
#include "ee/external_plugin.hpp"

namespace ee {

/// One external plugin as the bridge sees it: its settings (the bridge
/// uses the port, command, env, working directory, delivery and keys) and
/// its slot.
struct bridge_plugin : external_plugin_config {
  /// Its slot in the engine; names it in every `engine_link` call.
  endpoint_id id;
};

/// Counters of one external plugin's endpoint (`EE_ENDPOINT_COUNTERS`).
struct endpoint_stats {
  endpoint_id id;
  std::string name;
  EE_ENDPOINT_COUNTERS(EE_STATS_FIELD)
};

/// A snapshot of the bridge's counters (`EE_BRIDGE_COUNTERS`).
struct bridge_stats {
  EE_BRIDGE_COUNTERS(EE_STATS_FIELD)
  /// One entry per external plugin, in registration order.
  std::vector<endpoint_stats> endpoints;
};

/// The ZeroMQ side of the engine: one thread polls every socket (SUB on the
/// publish port, XPUB on the subscribe port, a ROUTER per external plugin;
/// with CURVE also the ZAP handler and the raw ports' monitors), a doorbell
/// for the engine's commands and the output of launched processes. The engine
/// talks to it through `bridge_link`; it reports through the `engine_link`
/// given to `start`.
///
/// Life cycle: `open` (binds, reports errors) -> `start` -> `shutdown`
/// (also called by the destructor). Not copyable, not movable.
class bridge final : public bridge_link {
public:
  /// Binds every socket (with `cfg.security.curve`: reads the keys and
  /// binds the ZAP handler first). Logs a warning if it binds an address
  /// that is not a loopback address without CURVE. @returns an error that
  /// names the port (or the key), who wanted it and the fix on failure.
  static expected<std::unique_ptr<bridge>>
  open(const app_config& cfg, std::vector<bridge_plugin> plugins);

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Calls `shutdown` with the configured shutdown grace.
  ~bridge() override;

  /// Starts the bridge's thread. Every publisher (each external plugin and
  /// `raw_publish_port`) starts with `initial_per_publisher` credit.
  /// @pre not started; `engine` outlives the bridge's thread (`shutdown`).
  void start(engine_link& engine, credit initial_per_publisher);

  /// Stops serving, terminates launched processes (a process whose plugin
  /// sent quit may exit by itself, the others get SIGTERM now, all get
  /// SIGKILL at `deadline`), closes every socket and joins the thread.
  /// Returns shortly after `deadline`. Idempotent; thread-safe.
  void shutdown(std::chrono::steady_clock::time_point deadline);

  /// @returns the bound publish port (-1 if not open).
  int publish_port() const noexcept;

  /// @returns the bound subscribe port (-1 if not open).
  int subscribe_port() const noexcept;

  /// @returns the bound port per external plugin name.
  std::map<std::string, int> plugin_ports() const;

  /// @returns a snapshot of the counters. Thread-safe.
  bridge_stats stats() const;

  /// @returns the names of the plugins whose processes had to be killed
  /// (SIGKILL) after the grace. Call after `shutdown`.
  std::vector<std::string> killed() const;

  // -- bridge_link (thread-safe, never blocks)
  // ---------------------------------

  void deliver(endpoint_id id, event_batch&& events) override;
  void deliver_raw(event_batch&& events) override;
  void grant(endpoint_id pub, credit c) override;
  void launch(endpoint_id id) override;
  void retire(endpoint_id id) override;
  std::uint64_t take_raw_released() override;

  struct impl;

private:
  explicit bridge(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace ee
