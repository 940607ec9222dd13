#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/engine.hpp"
#include "actors/messages.hpp"
#include "actors/publish_queue.hpp"

namespace ee {

/// Start-up parameters of one plugin host (one incarnation of a plugin).
struct host_params {
  slot_id slot = 0;
  std::uint32_t incarnation = 0;
  std::uint32_t restarts = 0;
  std::string name;
  std::string uuid;
  caf::actor engine;
  std::unique_ptr<plugin_base> instance;
  /// The plugin's outbox (shared with the engine, kept across restarts).
  std::shared_ptr<publish_queue> outbox;
  /// Initial publish credit (app_config::publish_window).
  std::uint64_t publish_window = 1000;
};

/// Spawns the actor (event-based, or detached for blocking plugins) that runs
/// `params->instance` and speaks the engine protocol for it.
caf::actor spawn_plugin_host(caf::actor_system& sys,
                             std::shared_ptr<host_params> params);

/// @returns `what()` of the current exception with its type name, e.g.
/// `std::runtime_error: boom`. @pre called inside a catch block.
std::string describe_current_exception();

} // namespace ee
