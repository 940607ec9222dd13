#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/messages.hpp"
#include "ee/app_config.hpp"
#include "ee/error.hpp"

namespace ee {

/// One external plugin as the bridge sees it.
struct bridge_plugin {
  slot_id slot = 0;
  std::string name;
  int port = 0;
  std::vector<std::string> filters;
  bool await_first_request = false;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string working_dir;
};

/// The ZeroMQ side of the engine: one I/O thread owns every socket (SUB on the
/// publish port, XPUB on the subscribe port, a ROUTER per external plugin) and
/// every launched process; a bridge actor hands it the engine's deliveries.
///
/// Life cycle: `open` (binds, reports errors) -> `spawn_actor` -> `start`
/// (runs the I/O thread, which talks to the engine) -> `shutdown`.
class bridge {
public:
  /// Binds every socket. @returns nullptr and sets `err` on failure (the
  /// message names the port and who wanted it).
  static std::unique_ptr<bridge>
  open(const app_config& cfg, std::vector<bridge_plugin> plugins, error& err);

  bridge(const bridge&) = delete;
  bridge& operator=(const bridge&) = delete;

  /// Stops the I/O thread and every launched process.
  ~bridge();

  /// Spawns the actor that receives the engine's messages for the bridge.
  caf::actor spawn_actor(caf::actor_system& sys);

  /// Hands events for external plugin `slot` to the I/O thread.
  /// Thread-safe.
  void deliver(slot_id slot, event_batch&& batch);

  /// Hands events for raw TCP subscribers to the I/O thread. Thread-safe.
  void deliver_raw(event_batch&& batch);

  /// Starts the I/O thread; incoming events go to `engine`.
  void start(caf::actor engine);

  /// Terminates launched processes (SIGTERM, SIGKILL after `grace`), closes
  /// every socket and joins the I/O thread. Idempotent.
  void shutdown();

  /// @returns the bound publish port (-1 if not open).
  int publish_port() const noexcept;

  /// @returns the bound subscribe port (-1 if not open).
  int subscribe_port() const noexcept;

  /// @returns the bound port per external plugin name.
  std::map<std::string, int> plugin_ports() const;

  /// Counters of rejected wire messages.
  std::uint64_t rejected() const noexcept;

  /// Events dropped for slow raw subscribers (ZeroMQ semantics).
  std::uint64_t raw_dropped() const noexcept;

  struct impl;

private:
  explicit bridge(std::unique_ptr<impl> ptr);
  std::unique_ptr<impl> impl_;
};

} // namespace ee
