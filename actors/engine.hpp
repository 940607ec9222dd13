#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "ee/app_config.hpp"
#include "ee/error.hpp"
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
  bool await_first_request = false;
  bool has_command = false;
};

/// Start-up parameters of the engine actor.
struct engine_params {
  app_config cfg;
  std::vector<plugin_spec> plugins;
  /// The bridge actor, or invalid when there is no bridge.
  caf::actor bridge;
  /// Hands events for external plugin `slot` to the bridge (thread-safe;
  /// set whenever there is a bridge, which there is for any external
  /// plugin). Saves the bridge actor's hop on the way to a waiting
  /// `next_msg`.
  std::function<void(std::uint32_t slot, std::vector<event>&& batch)>
      deliver_external;
  /// Hands events to the bridge for raw TCP subscribers (thread-safe).
  std::function<void(std::vector<event>&& batch)> deliver_raw;
  /// Called once, from the engine, with the app's result when it finishes.
  std::function<void(const error&, const engine_stats&)> on_done;
};

/// Spawns the engine actor, which spawns and supervises every plugin.
caf::actor spawn_engine(caf::actor_system& sys,
                        std::shared_ptr<engine_params> params);

} // namespace ee
