#include "ee/host.hpp"

#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ee/names.hpp"
#include "ee/plugin_library.hpp"
#include "ee/version.hpp"
#include "host/commands.hpp"

namespace ee {

namespace {

const std::vector<std::string> subcommands{"run", "check", "tap", "pub",
                                           "keygen"};

// `event-engine APP.toml [--check] [flags]` (the older command line) is
// `event-engine run|check APP.toml [flags]`.
std::vector<std::string> with_subcommand(std::vector<std::string> args) {
  if (args.empty())
    return args;
  auto& first = args.front();
  if (std::find(subcommands.begin(), subcommands.end(), first) !=
          subcommands.end() ||
      first == "-h" || first == "--help" || first == "--version")
    return args;
  auto check = std::find(args.begin(), args.end(), "--check");
  if (check != args.end()) {
    args.erase(check);
    args.insert(args.begin(), "check");
  } else {
    args.insert(args.begin(), "run");
  }
  return args;
}

void add_app_options(CLI::App& cmd, host::run_options& opts) {
  cmd.add_option("APP.toml", opts.config, "the app's TOML file")->required();
  cmd.add_option("--publish-port", opts.publish_port,
                 "override [engine] publish_port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--subscribe-port", opts.subscribe_port,
                 "override [engine] subscribe_port (0 = any free port)")
      ->check(CLI::Range(0, 65535));
  cmd.add_option("--bind", opts.bind,
                 "override [engine] bind_address (\"*\" = every interface)");
  std::vector<std::string> levels;
  for (auto& entry : enum_names<log_level>::table)
    levels.emplace_back(entry.second);
  cmd.add_option("--log-level", opts.log_level, "override [engine] log_level")
      ->check(CLI::IsMember(levels));
  cmd.add_option("--metrics", opts.metrics,
                 "serve Prometheus metrics on ADDR:PORT (a bare PORT: "
                 "loopback; 0: any free port, printed as metrics_port=N)");
  cmd.add_option("--stats", opts.stats,
                 "print the counters at exit: text (default), json or "
                 "prometheus")
      ->expected(0, 1)
      ->default_str("text")
      ->check(CLI::IsMember({"text", "json", "prometheus"}));
  cmd.add_option("--ready-file", opts.ready_file,
                 "write the ready line to this file once every plugin is "
                 "ready and remove it at exit (for health checks)")
      ->envname("EE_READY_FILE");
}

void add_curve_options(CLI::App& cmd, host::curve_options& opts) {
  cmd.add_option("--server-key", opts.server_key,
                 "with CURVE: the engine's public key, a certificate file "
                 "(NAME.key) or 40 Z85 characters (default: "
                 "EE_CURVE_SERVER_KEY)");
  cmd.add_option("--client-key", opts.client_key,
                 "with CURVE: this client's secret certificate "
                 "(NAME.key_secret) (default: EE_CURVE_CLIENT_KEY_FILE)");
}

void add_log_options(CLI::App& cmd, host::log_options& opts) {
  cmd.add_option("--log-file", opts.file,
                 "log to this file (rotated) instead of stderr");
  cmd.add_option("--log-format", opts.format,
                 "text or json (one object per "
                 "line)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  cmd.add_option("--log-max-size", opts.max_size,
                 "rotate the log file at this many bytes")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 40))
      ->capture_default_str();
  cmd.add_option("--log-max-files", opts.max_files, "rotated log files to keep")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000}))
      ->capture_default_str();
}

} // namespace

int run_host(int argc, char** argv,
             const std::function<void(app&)>& customize) {
  std::vector<std::string> args{argv + 1, argv + argc};
  args = with_subcommand(std::move(args));
  CLI::App cli{"event-engine: runs, checks and inspects event-engine "
               "applications.\nThe older form `event-engine APP.toml [--check] "
               "[options]` means `run` (or `check`).",
               "event-engine"};
  cli.set_version_flag(
      "--version", std::string{"event-engine "} + EE_VERSION + " (plugin ABI " +
                       std::to_string(plugin_abi_version) + ")");
  cli.require_subcommand(1);
  cli.footer("Exit codes: 0 ok, 1 the app (or the engine connection) failed, "
             "2 bad usage or configuration.");

  // run and check take the same options (check validates what run would
  // use, and the older `APP.toml --check` form accepts run's flags).
  auto app_command = [&](const char* name, const char* text,
                         host::run_options& opts) {
    auto cmd = cli.add_subcommand(name, text);
    add_app_options(*cmd, opts);
    add_log_options(*cmd, opts.log);
    return cmd;
  };
  host::run_options run_opts;
  auto run = app_command(
      "run",
      "run the app described by APP.toml until its plugins finish (or "
      "SIGINT/SIGTERM); prints 'event-engine: ready publish_port=... "
      "subscribe_port=... plugin.NAME=...' once the ports are bound",
      run_opts);
  host::run_options check_opts;
  auto check = app_command(
      "check",
      "report every problem of APP.toml (with file:line:column and the fix), "
      "and whether its libraries, commands and ports are usable here",
      check_opts);

  host::tap_options tap_opts;
  auto tap = cli.add_subcommand(
      "tap", "print the events of a running engine (its subscribe port) as "
             "they pass: time, type (or prefix), size, text or hex");
  tap->add_option("--host", tap_opts.host, "the engine's host")
      ->capture_default_str();
  tap->add_option("--port", tap_opts.port, "the engine's subscribe port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  tap->add_option("--types", tap_opts.types,
                  "an app's TOML file: name events by its [types], and "
                  "accept type names as filters");
  tap->add_option("--count", tap_opts.count, "exit after N events");
  auto json = tap->add_flag("--json", tap_opts.json,
                            "one JSON object per event: time, type, prefix "
                            "(hex), size, text or hex");
  tap->add_flag("--raw", tap_opts.raw,
                "write each event's bytes, unchanged and unseparated (e.g. "
                "--count 1 --raw > event.bin)")
      ->excludes(json);
  add_curve_options(*tap, tap_opts.curve);
  tap->add_option("FILTER", tap_opts.filters,
                  "prefixes to receive (default: every event): a type name "
                  "(with --types), hex:0100, or literal text");

  host::pub_options pub_opts;
  auto pub = cli.add_subcommand(
      "pub", "publish events into a running engine (its publish port): one "
             "event from the arguments or --file, else one per line of "
             "stdin. Waits until the engine's subscription arrives (ZeroMQ's "
             "slow joiner) and until every event is written");
  pub->add_option("--host", pub_opts.host, "the engine's host")
      ->capture_default_str();
  pub->add_option("--port", pub_opts.port, "the engine's publish port")
      ->check(CLI::Range(1, 65535))
      ->capture_default_str();
  pub->add_option("--type", pub_opts.type,
                  "put this type's prefix before each event (needs --types)");
  pub->add_option("--types", pub_opts.types,
                  "an app's TOML file whose [types] defines --type");
  pub->add_flag("--hex", pub_opts.hex, "the data is hexadecimal");
  pub->add_option("--file", pub_opts.file, "one event: this file's bytes");
  pub->add_option("--timeout", pub_opts.timeout,
                  "seconds to wait for the engine's subscription, and for "
                  "the events to be written")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  add_curve_options(*pub, pub_opts.curve);
  pub->add_option("DATA", pub_opts.data,
                  "the event (arguments joined by spaces)");

  host::keygen_options keygen_opts;
  auto keygen = cli.add_subcommand(
      "keygen", "write a CurveZMQ key pair as ZeroMQ certificate files: "
                "DIR/NAME.key (public) and DIR/NAME.key_secret (secret, "
                "mode 0600), as pyzmq's zmq.auth and CZMQ's zcert read them");
  keygen->add_option("NAME", keygen_opts.name, "the pair's name")->required();
  keygen
      ->add_option("--dir", keygen_opts.dir,
                   "the folder to write to (created if missing)")
      ->capture_default_str();
  keygen->add_flag("--force", keygen_opts.force,
                   "replace existing files of that name");

  try {
    std::reverse(args.begin(), args.end()); // CLI11 takes them reversed
    cli.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? host::exit_ok : host::exit_usage;
  }
  if (*run)
    return host::run_command(run_opts, customize);
  if (*check)
    return host::check_command(check_opts, customize);
  if (*tap)
    return host::tap_command(tap_opts);
  if (*keygen)
    return host::keygen_command(keygen_opts);
  return host::pub_command(pub_opts);
}

} // namespace ee
