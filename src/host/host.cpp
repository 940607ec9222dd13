#include "ee/host.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ee/names.hpp"
#include "ee/plugin_library.hpp"
#include "ee/version.hpp"
#include "host/commands.hpp"
#include "util/text.hpp"

namespace ee {

namespace {

const std::vector<std::string> subcommands{"run",    "check", "tap",    "pub",
                                           "keygen", "help",  "version"};

bool is_subcommand(const std::string& word) {
  return std::find(subcommands.begin(), subcommands.end(), word) !=
         subcommands.end();
}

// @returns the usage error for `word`, which names no subcommand.
std::string unknown_subcommand(const std::string& word) {
  std::string msg = "event-engine: '" + word + "' is not a subcommand";
  auto guess = util::closest(word, subcommands);
  if (!guess.empty())
    msg += "; did you mean '" + guess + "'?";
  return msg + " (" + util::join(subcommands) +
         "; `event-engine help` says more)";
}

// `event-engine APP.toml [--check] [flags]` (the older command line) is
// `event-engine run|check APP.toml [flags]`. @returns the arguments with a
// subcommand first, or nothing after a first word that names neither a
// subcommand nor an app file (a typo: said on stderr).
std::optional<std::vector<std::string>>
with_subcommand(std::vector<std::string> args) {
  if (args.empty() || is_subcommand(args.front()))
    return args;
  auto& first = args.front();
  if (first[0] == '-') {
    if (first == "-h" || first == "--help" || first == "-V" ||
        first == "--version")
      return args;
  } else if (std::error_code code;
             first.find(".toml") == std::string::npos &&
             !std::filesystem::is_regular_file(first, code)) {
    std::cerr << unknown_subcommand(first) << '\n';
    return std::nullopt;
  }
  auto check = std::find(args.begin(), args.end(), "--check");
  if (check != args.end()) {
    args.erase(check);
    args.insert(args.begin(), "check");
  } else {
    args.insert(args.begin(), "run");
  }
  return args;
}

// What run and check share: the file and the overrides that check uses.
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
}

// What only run uses: the log level, metrics and stats.
void add_run_options(CLI::App& cmd, host::run_options& opts) {
  std::vector<std::string> levels;
  for (auto& entry : enum_names<log_level>::table)
    levels.emplace_back(entry.second);
  auto level = cmd.add_option("--log-level", opts.log_level,
                              "override [engine] log_level")
                   ->check(CLI::IsMember(levels));
  auto verbose = cmd.add_flag_callback(
      "-v,--verbose", [&opts] { opts.log_level = "debug"; },
      "log debug lines too (--log-level debug)");
  auto quiet = cmd.add_flag_callback(
      "-q,--quiet", [&opts] { opts.log_level = "warning"; },
      "log warnings and errors only (--log-level warning); the ready line "
      "and the outcome are still written");
  verbose->excludes(quiet)->excludes(level);
  quiet->excludes(level);
  cmd.add_option("--metrics", opts.metrics,
                 "serve Prometheus metrics on ADDR:PORT (a bare PORT: "
                 "loopback; 0: any free port, printed as metrics_port=N)");
  cmd.add_option("--stats", opts.stats,
                 "print the counters at exit on stdout: text (default), json "
                 "or prometheus")
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
                 "log to this file (rotated) instead of stderr; its folder "
                 "must exist");
  cmd.add_option("--log-format", opts.format,
                 "text or json (one object per line, on stderr too)")
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

// The engine a client subcommand talks to: host, port, app file, keys.
void add_engine_options(CLI::App& cmd, host::engine_target& target,
                        bool subscribe) {
  app_config defaults;
  auto port_text = std::string{"the engine's "} +
                   (subscribe ? "subscribe" : "publish") +
                   " port (default: the app file's, else " +
                   std::to_string(subscribe ? defaults.subscribe_port
                                            : defaults.publish_port) +
                   ")";
  cmd.add_option("-H,--host", target.host,
                 "the engine's host (default: the app file's bind address, "
                 "else 127.0.0.1)");
  cmd.add_option("-p,--port", target.port, port_text)
      ->check(CLI::Range(1, 65535));
  cmd.add_option("-a,--app,--types", target.app,
                 "the app's TOML file: its [types] name the events, and its "
                 "[engine] gives the port, bind address and CURVE key "
                 "(--types is the older name)");
  add_curve_options(cmd, target.curve);
}

void add_tap(CLI::App& cli, host::tap_options& opts) {
  auto tap = cli.add_subcommand(
      "tap", "print the events of a running engine (its subscribe port) as "
             "they pass: time, type (or prefix), size, text or hex");
  add_engine_options(*tap, opts.engine, true);
  tap->add_option("-n,--count", opts.count, "exit after N events");
  auto json = tap->add_flag("-j,--json", opts.json,
                            "one JSON object per event: time, type, prefix "
                            "(hex), size, text or hex");
  tap->add_flag("--raw", opts.raw,
                "write each event's bytes, unchanged and unseparated (e.g. "
                "--count 1 --raw > event.bin)")
      ->excludes(json);
  tap->add_option("--timeout", opts.timeout,
                  "seconds to wait for the engine before giving up")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  tap->add_option("FILTER", opts.filters,
                  "prefixes to receive (default: every event): a type name "
                  "(of the app file, or the engine's own: ee.stats, "
                  "ee.lifecycle.failed, ...), hex:0100, or literal text");
}

void add_pub(CLI::App& cli, host::pub_options& opts) {
  auto pub = cli.add_subcommand(
      "pub", "publish events into a running engine (its publish port): one "
             "event from the arguments or --file, else one per line of "
             "stdin. Waits until the engine's subscription arrives (ZeroMQ's "
             "slow joiner) and until every event is written");
  add_engine_options(*pub, opts.engine, false);
  pub->add_option("-t,--type", opts.type,
                  "put this type's prefix before each event (needs --app)");
  pub->add_flag("--hex", opts.hex, "the data is hexadecimal");
  pub->add_option("-f,--file", opts.file, "one event: this file's bytes");
  pub->add_option("--timeout", opts.timeout,
                  "seconds to wait for the engine's subscription, and for "
                  "the events to be written")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  pub->add_option("DATA", opts.data, "the event (arguments joined by spaces)");
}

void add_keygen(CLI::App& cli, host::keygen_options& opts) {
  auto keygen = cli.add_subcommand(
      "keygen", "write a CurveZMQ key pair as ZeroMQ certificate files: "
                "DIR/NAME.key (public) and DIR/NAME.key_secret (secret, "
                "mode 0600), as pyzmq's zmq.auth and CZMQ's zcert read them");
  keygen->add_option("NAME", opts.name, "the pair's name")->required();
  keygen
      ->add_option("-d,--dir", opts.dir,
                   "the folder to write to (created if missing)")
      ->capture_default_str();
  keygen->add_flag("-f,--force", opts.force,
                   "replace existing files of that name");
}

std::string version_line() {
  return std::string{"event-engine "} + EE_VERSION + " (plugin ABI " +
         std::to_string(plugin_abi_version) + ")";
}

// `event-engine help [SUBCOMMAND]`.
int help_command(CLI::App& cli, const std::string& name) {
  if (name.empty()) {
    cli.clear(); // else it shows the help of `help`
    std::cout << cli.help();
    return host::exit_ok;
  }
  if (name == "help" || name == "version" || !is_subcommand(name)) {
    std::cerr << unknown_subcommand(name) << '\n';
    return host::exit_usage;
  }
  std::cout << cli.get_subcommand(name)->help("event-engine");
  return host::exit_ok;
}

} // namespace

int run_host(int argc, char** argv,
             const std::function<void(app&)>& customize) {
  auto args = with_subcommand({argv + 1, argv + argc});
  if (!args)
    return host::exit_usage;
  CLI::App cli{"event-engine: runs, checks and inspects event-engine "
               "applications.\nThe older form `event-engine APP.toml [--check] "
               "[options]` means `run` (or `check`).",
               "event-engine"};
  cli.set_version_flag("-V,--version", version_line());
  cli.require_subcommand(1);
  cli.footer("Exit codes: 0 ok, 1 the app (or the engine connection) failed, "
             "2 bad usage or configuration.");
  host::run_options run_opts;
  auto run = cli.add_subcommand(
      "run", "run the app described by APP.toml until its plugins finish (or "
             "SIGINT/SIGTERM); writes 'event-engine: ready publish_port=... "
             "subscribe_port=... plugin.NAME=...' to stderr once the ports "
             "are bound");
  add_app_options(*run, run_opts);
  add_run_options(*run, run_opts);
  add_log_options(*run, run_opts.log);
  host::run_options check_opts;
  auto check = cli.add_subcommand(
      "check", "report every problem of APP.toml that run would find before "
               "starting (with file:line:column and the fix): settings, "
               "commands, keys, and its ports, test-bound now; exit 2 on "
               "errors, as run");
  add_app_options(*check, check_opts);
  check->add_flag("--load-plugins", check_opts.load_plugins,
                  "load the plugin libraries and build each library plugin "
                  "once to check it (this runs the libraries' code: only for "
                  "files you trust); without it they are only located");
  check->add_flag("--types", check_opts.types,
                  "print each type of [types]: its name and its prefix in hex "
                  "and as text");
  host::tap_options tap_opts;
  add_tap(cli, tap_opts);
  host::pub_options pub_opts;
  add_pub(cli, pub_opts);
  host::keygen_options keygen_opts;
  add_keygen(cli, keygen_opts);
  std::string help_on;
  cli.add_subcommand("help", "show this help, or a subcommand's")
      ->add_option("SUBCOMMAND", help_on, "the subcommand");
  cli.add_subcommand("version", "show the version");
  try {
    std::reverse(args->begin(), args->end()); // CLI11 takes them reversed
    cli.parse(*args);
  } catch (const CLI::ParseError& e) {
    int rc = cli.exit(e);
    return rc == 0 ? host::exit_ok : host::exit_usage;
  }
  auto chosen = cli.get_subcommands().front()->get_name();
  if (chosen == "run")
    return host::run_command(run_opts, customize);
  if (chosen == "check")
    return host::check_command(check_opts, customize);
  if (chosen == "tap")
    return host::tap_command(tap_opts);
  if (chosen == "pub")
    return host::pub_command(pub_opts);
  if (chosen == "keygen")
    return host::keygen_command(keygen_opts);
  if (chosen == "version") {
    std::cout << version_line() << std::endl;
    return host::exit_ok;
  }
  return help_command(cli, std::string{help_on});
}

} // namespace ee
