#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ee/app_config.hpp"
#include "ee/error.hpp"
#include "ee/event_type.hpp"
#include "ee/expected.hpp"
#include "ee/external_plugin.hpp"
#include "ee/plugin_library.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// A place in a config file (1-based line and column; 0 when unknown).
struct source_position {
  /// The file's path as given (empty for text without a file).
  std::string file;
  /// The line.
  std::size_t line = 0;
  /// The column.
  std::size_t column = 0;
};

/// How bad a diagnostic is.
enum class severity {
  /// The file cannot be used.
  error,
  /// The file works, but probably not as meant.
  warning,
};

/// An error or a warning about a config file: where, what and the fix.
struct diagnostic {
  /// Error or warning.
  ee::severity severity = ee::severity::error;
  /// Where in the file.
  source_position where;
  /// What is wrong and how to fix it.
  std::string message;

  /// @returns `FILE:LINE:COLUMN: error: MESSAGE` (parts that are unknown
  /// are left out).
  std::string to_string() const;
};

/// A plugin that `event-engine` loads from a shared library.
struct library_plugin_config {
  /// Unique name among all plugins of the app.
  std::string name;
  /// The library as written in the file.
  std::string library;
  /// Folders to look for a bare library name in, before the system's
  /// loader: the file's folder and `EE_PLUGIN_PATH`.
  std::vector<std::string> search_path;
  /// The factory's name (see `EE_PLUGIN`).
  std::string factory;
  /// The `config` table, the app's types and the subscriptions, for the
  /// factory.
  plugin_config config;
  /// Restart policy, queue bounds and overflow policy.
  plugin_options options{};
};

/// An app described by a TOML file (`event-engine run APP.toml`): engine
/// settings, named event types, external plugins and plugins from shared
/// libraries. Every key (docs/configuration.md has each default and why):
///
/// ~~~{.toml}
/// [engine]
/// publish_port = 5559          # 0 = any free port
/// subscribe_port = 5560
/// bind_address = "127.0.0.1"   # "*" for every interface
/// enable_tcp = true
/// max_message_size = 67108864
/// queue_capacity = 10000       # per subscriber, in events
/// queue_bytes = 67108864       # per subscriber, in bytes
/// delivery_window = 1000
/// publish_window = 1000
/// publish_window_bytes = 67108864
/// raw_subscriber_bytes = 67108864
/// max_subscriptions = 10000    # raw SUB clients' distinct filters in total
/// max_subscription_bytes = 1048576  # their bytes in total
/// max_subscriber_bytes = 1048576    # subscription bytes per connection
/// max_connections = 256        # TCP connections at a time on each port
/// strategy = "one_for_one"     # one_for_all, rest_for_one
/// max_restarts = 5
/// restart_period_ms = 10000
/// shutdown_grace_ms = 3000
/// scheduler_threads = 0        # 0 = number of cores
/// log_level = "info"           # debug, warning, error, off
/// inherit_env = ["PATH", "LC_*"]  # what launched processes get of the
///                              # engine's environment (app_config.hpp)
///
/// [engine.security]            # CurveZMQ on every TCP port (docs/security.md)
/// curve = true                 # default false: plain text
/// secret_key_file = "server.key_secret"  # the engine's pair (keygen)
/// allowed_clients_dir = "clients/"       # every *.key in it is allowed
/// allowed_keys = ["ops/tap.key"]         # more public certificate files
///
/// [types]                      # event types by name -> prefix
/// TypeA = "TypeA"              # text (TOML escapes allowed: "\u0001\u0000")
/// Reading = { hex = "01a0" }   # bytes in hexadecimal
/// Ack = [0x02, 0xb0]           # bytes as integers 0..255
///
/// [[plugin]]                   # an external plugin (another process)
/// name = "PyPlugin"
/// port = 6000                  # 0 = any free port (EE_PLUGIN_PORT tells it)
/// subscriptions = ["TypeA", "Reading", { prefix = "Log" }]
/// command = ["/usr/bin/python3", "py_plugin.py"]  # optional: launch it
/// working_dir = "."            # relative to the file; default: its folder
/// env = { GREETING = "hello" }  # its environment: this, EE_*, inherit_env
/// stderr_level = "warning"     # the log level of its stderr (stdout: info)
/// await_first_request = false
/// delivery = "at_least_once"   # or "at_most_once"
/// max_delivery_attempts = 3
/// restart = "transient"        # default if the engine starts it, else
/// temporary backoff_initial_ms = 10 backoff_max_ms = 5000 queue_capacity = 0
/// # 0 = the engine's queue_bytes = 0 overflow = "block"           #
/// drop_oldest, drop_newest allowed_keys = ["clients/py1.key"]  # with CURVE:
/// only these on its port client_key_file = "clients/py1.key_secret"  # its
/// process's own pair
///
/// [[plugin]]                   # a C++ plugin from a shared library
/// name = "counter"
/// library = "libcounter.so"    # see below for where it is looked up
/// factory = "make_counter"     # a factory the library's EE_PLUGIN names
/// subscriptions = ["TypeA"]    # optional: plugin_config::subscriptions()
/// config = { limit = 5 }       # plugin_config's values
/// restart = "permanent"        # and backoff_*, queue_*, overflow as above
/// ~~~
///
/// **Subscriptions.** When the file has a `[types]` table, a string in
/// `subscriptions` must name one of its types (a typo is an error, with a
/// suggestion); a literal prefix is written `{ prefix = "text" }`,
/// `{ hex = "0100" }` or `[1, 0]`. Without `[types]`, a string is a literal
/// prefix (the older format). `{ prefix = "" }` subscribes to everything.
///
/// **Launched plugins** get `EE_TYPES` in their environment: every type as a
/// JSON object `{"name": "prefix in hex", ...}` (`pyevents.types()` reads
/// it), unless the entry's `env` sets `EE_TYPES` itself.
///
/// **Security.** Key files are paths relative to the file's folder; in
/// TOML `allowed_keys` lists public certificate files (C++:
/// `allowed_key_files`). A plugin with `allowed_keys` or a
/// `client_key_file` admits only those keys on its port (so no other client
/// can take its events); one with neither admits the engine's list. A
/// launched plugin gets `EE_CURVE_SERVER_KEY` (the engine's public key)
/// and, with `client_key_file`, `EE_CURVE_CLIENT_KEY_FILE` (its absolute
/// path): pyevents reads both.
///
/// **Libraries.** A `library` containing '/' is a path (relative to the
/// file's folder). A bare file name is looked up in the file's folder, then
/// in the folders of `EE_PLUGIN_PATH` (':'-separated), then by the system's
/// loader (LD_LIBRARY_PATH, ...).
///
/// **Errors** name the file, line and column, and the fix; every error of a
/// file is reported, not only the first.
struct app_description {
  /// The engine settings (`[engine]`).
  app_config config;
  /// The named event types (`[types]`), in file order.
  std::vector<event_type> types;
  /// The external plugins, in file order.
  std::vector<external_plugin_config> plugins;
  /// The plugins from shared libraries, in file order.
  std::vector<library_plugin_config> library_plugins;
  /// The names of all plugins in file order: the registration order (it
  /// matters for `rest_for_one` and for stopping in reverse order).
  std::vector<std::string> plugin_order;
  /// The `log_level` setting, or empty.
  std::string log_level;
  /// Where settings were written, for diagnostics: keys such as
  /// `"engine.publish_port"`, `"plugin.NAME"` (the entry),
  /// `"plugin.NAME.command"`, `"plugin.NAME.library"`, `"types.NAME"`.
  std::map<std::string, source_position> positions;
  /// Warnings about the file (e.g. a type whose prefix starts another's).
  std::vector<diagnostic> warnings;
  /// The file's path (empty for text).
  std::string file;

  /// @returns where `key` was written (see `positions`), or the file alone.
  source_position position(const std::string& key) const;

  /// @returns the type called `name` (of `types`, else one of the engine's
  /// own, see `engine_event_types`), or null.
  const event_type* find_type(std::string_view name) const noexcept;
};

/// Everything learnt from reading a config file.
struct config_report {
  /// The app as far as it could be read (complete if `ok()`).
  app_description description;
  /// Every error and warning, in file order.
  std::vector<diagnostic> diagnostics;

  /// @returns true if there is no error (warnings allowed).
  bool ok() const noexcept;

  /// @returns the errors, one `to_string()` per line.
  std::string errors() const;

  /// @returns the app (its warnings in `app_description::warnings`), or an
  /// error (`ec::config_file`) listing every problem, one per line, each
  /// with file, line, column and the fix.
  expected<app_description> result() &&;
};

/// Reads the TOML file at `path` and reports every problem. Relative paths
/// in it are resolved against its folder.
config_report read_config_file(const std::string& path);

/// Reads TOML `text`; relative paths are resolved against `base_dir`;
/// `file` names the text in diagnostics.
config_report read_config(std::string_view text, const std::string& base_dir,
                          const std::string& file = {});

/// Runs the one validation of an app's settings (the rules `app::run`
/// applies before it starts anything) on what was read, after settings
/// changed since (e.g. ports from the command line), and attaches each
/// problem to the position of its key: ranges, ports used twice or clashing
/// with the engine's ports, launch commands that are not found, working
/// directories that do not exist, and with CURVE every key file (missing,
/// unreadable, not a regular file or malformed: errors; a secret key file
/// others can read, an allow-list folder or file others can write, a
/// plugin's own key also on the engine's allow-list: warnings). Plugin
/// libraries are checked by the host when it loads them. @returns the
/// errors and warnings, empty if none.
std::vector<diagnostic> check_environment(const app_description& desc);

} // namespace ee
