#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/blocking_host.hpp"
#include "actors/messages.hpp"
#include "bridge/seam.hpp"
#include "ee/app_config.hpp"
#include "ee/error.hpp"
#include "ee/external_plugin.hpp"
#include "ee/plugin.hpp"
#include "ee/stats.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// How a plugin runs.
enum class plugin_kind { actor, blocking, raw_caf, external };

/// @returns the kind of `instance` (actor, blocking or raw CAF).
plugin_kind kind_of(const plugin_base& instance);

/// Everything the engine needs to start (and restart) one plugin.
struct plugin_spec {
  plugin_kind kind = plugin_kind::actor;
  std::string name;
  /// Builds instances; empty for plugins registered as an instance.
  plugin_factory factory;
  /// The instance built at registration, used for the first start.
  std::unique_ptr<plugin_base> first;
  plugin_options options;
  // -- external plugins only --
  std::vector<std::string> filters;
  /// The names of the subscriptions' event types (parallel to `filters`).
  std::vector<std::string> type_names;
  bool await_first_request = false;
  bool has_command = false;
  /// Its port in the bridge.
  endpoint_id endpoint;
};

/// Start-up parameters of the engine actor.
struct engine_params {
  app_config cfg;
  std::vector<plugin_spec> plugins;
  /// The bridge (external plugins, raw TCP clients), or null.
  bridge_link* bridge = nullptr;
  /// Where blocking plugins' threads are kept (the app joins them).
  std::shared_ptr<blocking_threads> threads;
  /// Event-based plugin hosts alive now (a host stuck in a callback after
  /// the shutdown deadline keeps this above 0; the app then leaves the
  /// actor system behind instead of waiting for it forever).
  std::shared_ptr<std::atomic<int>> live_hosts;
  /// Called once, from the engine, with the app's result when it finishes.
  std::function<void(const error&, const engine_stats&)> on_done;
  /// Adds what the engine does not count itself (the bridge's counters) to
  /// a snapshot. Thread-safe; may be empty.
  std::function<void(engine_stats&)> decorate;
};

/// Spawns the engine actor, which spawns and supervises every plugin.
engine_handle spawn_engine(caf::actor_system& sys,
                           std::shared_ptr<engine_params> params);

} // namespace ee
