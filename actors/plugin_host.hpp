#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "ee/plugin.hpp"
#include "src/core/exception_text.hpp"
#include "src/core/publish_queue.hpp"

namespace ee {

/// Start-up parameters of one event-based plugin host (one incarnation of
/// an actor plugin or a raw CAF plugin).
struct host_params {
  slot_id slot;
  std::uint32_t incarnation = 0;
  std::uint32_t restarts = 0;
  std::string name;
  std::string uuid;
  engine_handle engine;
  std::unique_ptr<plugin_base> instance;
  /// The plugin's outbox (shared with the engine, kept across restarts).
  std::shared_ptr<publish_queue> outbox;
  /// Initial publish credit (`app_config::publish_window[_bytes]`).
  credit window;
};

/// Spawns (lazily: it first runs on its first message) the event-based
/// actor that runs `params->instance` (an actor plugin or a raw CAF plugin)
/// and speaks the engine protocol for it: `ok_atom`, `(deliver_atom,
/// batch)`, `(credit_atom, events, bytes)`, `stop_atom` in; `drain`, `ack`,
/// `failure` out. The engine registers its subscriptions itself.
caf::actor spawn_plugin_host(caf::actor_system& sys,
                             std::shared_ptr<host_params> params);

} // namespace ee
