#pragma once

#include <memory>
#include <mutex>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "ee/app_config.hpp"
#include "ee/stats.hpp"

namespace ee {

/// The federation's counters, written by its actor and read by the engine's
/// snapshots. Thread-safe.
class federation_stats_box {
public:
  void set(federation_stats st) {
    std::lock_guard<std::mutex> guard{mtx_};
    value_ = std::move(st);
  }

  federation_stats get() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return value_;
  }

private:
  mutable std::mutex mtx_;
  federation_stats value_; // guarded by mtx_
};

/// Start-up parameters of the federation actor.
struct federation_params {
  federation_config cfg;
  /// The engine it publishes into and takes local events from.
  engine_handle engine;
  /// The federation publisher's credit window in the engine's router.
  credit window;
  std::shared_ptr<federation_stats_box> stats;
};

/// Loads what the federation needs into `cfg` when `fed` is enabled: the
/// middleman, with TLS the openssl manager and its files, and the wire
/// types. Nothing when it is not.
void configure_federation(caf::actor_system_config& cfg,
                          const federation_config& fed);

/// Spawns the federation actor (the middleman, and with TLS the openssl
/// manager, must be loaded into `sys`).
caf::actor spawn_federation(caf::actor_system& sys,
                            std::shared_ptr<federation_params> params);

} // namespace ee
