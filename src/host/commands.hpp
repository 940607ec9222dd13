#pragma once

// The subcommands of the `event-engine` program (see ee/host.hpp).

#include <functional>
#include <string>
#include <vector>

#include "ee/app.hpp"
#include "ee/config_file.hpp"
#include "ee/expected.hpp"
#include "host/logging.hpp"
#include "host/wire.hpp"

namespace ee::host {

/// Exit codes of every subcommand; `exit_codes` describes them and the
/// README's table ("Exit codes") is checked against it by a test.
enum exit_code : int {
  /// Success.
  exit_ok = 0,
  /// The app could not start or failed (a port, the connection to an
  /// engine).
  exit_failed = 1,
  /// Bad usage or configuration.
  exit_usage = 2,
  /// A plugin failed for good (restart limit, launch failure).
  exit_plugin_failed = 3,
  /// A plugin was killed (SIGKILL) or abandoned at shutdown: it did not
  /// stop within the shutdown grace.
  exit_killed = 4,
  /// A second SIGINT/SIGTERM: every launched process tree was killed.
  exit_interrupted = interrupted_exit_code,
};

/// One row of the exit code table.
struct exit_code_doc {
  exit_code code;
  const char* meaning;
};

/// Every exit code with what it means, as the README lists them.
inline constexpr exit_code_doc exit_codes[] = {
    {exit_ok, "success: every plugin finished (or the app was stopped) and "
              "every process stopped within the grace"},
    {exit_failed, "the app could not start or failed (a port in use, the "
                  "connection to an engine)"},
    {exit_usage, "bad usage or configuration"},
    {exit_plugin_failed, "a plugin failed for good (its restart limit, a "
                         "launch failure)"},
    {exit_killed, "a plugin's process was killed (SIGKILL) or a plugin was "
                  "abandoned at shutdown: it did not stop within the grace"},
    {exit_interrupted, "a second SIGINT or SIGTERM: every launched process "
                       "tree was killed at once"},
};

/// @returns the exit code of `run` for the result of `app::run()`.
exit_code exit_code_of(const error& err);

/// Options of `run` and `check`.
struct run_options {
  /// The app's TOML file.
  std::string config;
  /// Overrides of the file's settings (-1 / empty: keep the file's).
  int publish_port = -1;
  int subscribe_port = -1;
  std::string bind;
  std::string log_level;
  /// Where and how to log.
  log_options log;
  /// `--metrics ADDR:PORT`: serve Prometheus metrics there (empty: off).
  std::string metrics;
  /// `--stats [FORMAT]`: print the counters at exit (text, json or
  /// prometheus; empty: off).
  std::string stats;
  /// `--ready-file PATH`: holds the ready line while the app runs (written
  /// when every plugin is ready, removed at exit; empty: off).
  std::string ready_file;
  /// `check --load-plugins`: load the plugin libraries (runs their code).
  bool load_plugins = false;
  /// `check --types`: print each type's name and prefix.
  bool types = false;
};

/// `event-engine run`: runs the app until its plugins finish or a signal.
int run_command(const run_options& opts,
                const std::function<void(app&)>& customize);

/// `event-engine check`: reports every problem of the app's file and
/// whether its libraries, commands and ports are usable on this machine.
int check_command(const run_options& opts,
                  const std::function<void(app&)>& customize);

/// Options of `tap`.
struct tap_options {
  /// The engine's subscribe port and the app file whose types name events.
  engine_target engine;
  /// Stop after this many events (0: never).
  std::size_t count = 0;
  bool json = false;
  bool raw = false;
  /// Type names (of the app file or the engine's own), `hex:...` or literal
  /// prefixes.
  std::vector<std::string> filters;
  /// How long to wait for the engine, in seconds.
  double timeout = 5.0;
};

/// `event-engine tap`: prints the events of a running engine.
int tap_command(tap_options opts);

/// Options of `pub`.
struct pub_options {
  /// The engine's publish port and the app file that defines `type`.
  engine_target engine;
  /// A type of the app file whose prefix goes before each event.
  std::string type;
  /// The data is hexadecimal.
  bool hex = false;
  /// One event from this file's bytes.
  std::string file;
  /// One event from the arguments (joined with spaces); none: stdin.
  std::vector<std::string> data;
  /// How long to wait for the engine (connection and flush), in seconds.
  double timeout = 5.0;
};

/// Options of `keygen`.
struct keygen_options {
  /// The pair's name: NAME.key and NAME.key_secret.
  std::string name;
  /// The folder to write them to (created if missing).
  std::string dir = ".";
  /// Replace existing files.
  bool force = false;
};

/// `event-engine keygen`: writes a CurveZMQ key pair as certificate files
/// (the secret one with mode 0600); refuses to overwrite without `force`.
int keygen_command(const keygen_options& opts);

/// With CURVE on and a bind address that is not a loopback address, or
/// without CURVE on such an address: the warning of `check` that names the
/// exposure. @returns nothing on the loopback or with CURVE.
std::optional<diagnostic> exposure_warning(const app_description& d);

/// `event-engine pub`: publishes events into a running engine.
int pub_command(pub_options opts);

/// Prints `diags` to stderr, one per line.
void print_diagnostics(const std::vector<diagnostic>& diags);

} // namespace ee::host
