#pragma once

#include <string>
#include <vector>

#include "ee/app_config.hpp"
#include "ee/error.hpp"
#include "ee/external_plugin.hpp"

namespace ee {

/// An app described by a TOML file: the settings plus external plugins.
///
/// ~~~{.toml}
/// [engine]
/// publish_port = 5559          # 0 = any free port
/// subscribe_port = 5560
/// bind_address = "127.0.0.1"   # "*" for every interface
/// max_message_size = 67108864
/// queue_capacity = 10000
/// strategy = "one_for_one"     # one_for_all, rest_for_one
/// max_restarts = 5
/// restart_period_ms = 10000
/// shutdown_grace_ms = 3000
/// log_level = "info"
///
/// [[plugin]]
/// name = "PyPlugin"
/// port = 6000
/// subscriptions = ["TypeA", "TypeB"]
/// command = ["/usr/bin/python3", "py_plugin.py"]  # optional
/// working_dir = "."            # relative to the file; default: its folder
/// env = { GREETING = "hello" }
/// await_first_request = false
/// restart = "transient"        # permanent, temporary (default)
/// backoff_initial_ms = 10
/// backoff_max_ms = 5000
/// ~~~
struct app_description {
  app_config config;
  std::vector<external_plugin_config> plugins;
  /// The `log_level` setting, or empty.
  std::string log_level;
};

/// Reads `path`. @returns an error naming the file, the key and the fix.
[[nodiscard]] error load_config_file(const std::string& path,
                                     app_description& out);

/// Parses TOML `text`; relative paths are resolved against `base_dir`.
[[nodiscard]] error parse_config(const std::string& text,
                                 const std::string& base_dir,
                                 app_description& out);

} // namespace ee
