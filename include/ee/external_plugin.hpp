#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "ee/event_type.hpp"
#include "ee/supervision.hpp"

namespace ee {

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
  /// Extra environment variables for the launched process.
  std::map<std::string, std::string> env;
  /// Working directory of the launched process (empty = the engine's).
  std::string working_dir;
  /// If true, the start barrier also waits for the process's first request
  /// (so its own start-up code runs before any internal plugin starts).
  bool await_first_request = false;
  /// Restart policy for the launched process.
  plugin_options options{};
};

} // namespace ee
