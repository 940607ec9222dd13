#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ee/event_type.hpp"
#include "ee/log.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// How events reach an external plugin's clients (`plugin_command: next_msg`).
enum class delivery_mode {
  /// An event sent as a reply is settled only when the same connection sends
  /// its next request. If the connection vanishes first (the process died,
  /// the client closed its socket), the event goes back to the front of the
  /// queue for the next request, at most `max_delivery_attempts` times in
  /// all; then it goes to dead letters. Nothing is lost; a crash may cause a
  /// duplicate. The default.
  at_least_once,
  /// An event is settled once it is sent as a reply, whatever happens to it
  /// afterwards: the original engine's REP semantics. For clients that open
  /// a new socket for every request.
  at_most_once,
};

/// A plugin that runs in another process and talks to the engine over ZeroMQ
/// TCP (the pyevents command protocol on its own REQ-compatible port).
struct external_plugin_config {
  /// Unique name among all plugins of the app.
  std::string name;
  /// The TCP port of its command socket (0 picks a free port; the launched
  /// process learns it from `EE_PLUGIN_PORT`).
  int port = 0;
  /// The event types it receives through `plugin_command: next_msg`.
  std::vector<event_type> subscriptions;
  /// If not empty, the app launches this command (argv[0] is looked up in
  /// PATH) after the start barrier is set up, and stops it on shutdown.
  std::vector<std::string> command;
  /// The launched process's own environment variables (besides the EE_*
  /// ones the engine sets and `app_config::inherit_env`).
  std::map<std::string, std::string> env;
  /// The log level of what the launched process writes on stderr (its
  /// stdout is logged at info).
  log_level stderr_level = log_level::warning;
  /// Working directory of the launched process (empty = the engine's).
  std::string working_dir;
  /// If true, the start barrier also waits for the process's first request
  /// (so its own start-up code runs before any internal plugin starts).
  bool await_first_request = false;
  /// When an event counts as delivered (see `delivery_mode`).
  delivery_mode delivery = delivery_mode::at_least_once;
  /// In `at_least_once` mode: how many times one event may be sent before
  /// it goes to dead letters (at least 1). The default 3 dead-letters an
  /// event that kills its process three times, before five restarts within
  /// the default restart period would end the app.
  std::uint32_t max_delivery_attempts = 3;
  /// With CURVE (`app_config::security`): the clients allowed on this
  /// plugin's port, as public keys (Z85). A plugin with keys of its own
  /// (this, `allowed_key_files` or `client_key_file`) admits only those on
  /// its port, so that a client allowed elsewhere cannot take its events;
  /// one with none admits the engine's allow-list.
  std::vector<std::string> allowed_keys;
  /// The same as public certificate files (`NAME.key`).
  std::vector<std::string> allowed_key_files;
  /// With CURVE: the plugin process's own secret certificate
  /// (`NAME.key_secret`). Its public key is allowed on this plugin's port
  /// (and then only the keys of `allowed_keys` besides it), and a launched
  /// process finds the file's absolute path in
  /// `EE_CURVE_CLIENT_KEY_FILE` (pyevents reads it, so the plugin needs no
  /// key code).
  std::string client_key_file;
  /// Restart policy, queue bounds and overflow policy.
  plugin_options options{};
};

} // namespace ee
