#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <netinet/in.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "ee/log.hpp"
#include "ee/names.hpp"
#include "host/commands.hpp"
#include "host/metrics.hpp"
#include "host/plugin_loader.hpp"

namespace ee::host {

namespace {

void sort_by_position(std::vector<diagnostic>& diags) {
  std::stable_sort(diags.begin(), diags.end(), [](auto& x, auto& y) {
    return std::tie(x.where.line, x.where.column) <
           std::tie(y.where.line, y.where.column);
  });
}

std::size_t count(const std::vector<diagnostic>& diags, severity sev) {
  return std::count_if(diags.begin(), diags.end(),
                       [sev](auto& d) { return d.severity == sev; });
}

// @returns true if a TCP listener could not bind `port` on `address` now.
bool port_in_use(const std::string& address, int port) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<std::uint16_t>(port));
  if (address == "*" || address == "0.0.0.0")
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
  else if (::inet_pton(AF_INET, address.c_str(), &sa.sin_addr) != 1)
    return false; // a name or IPv6: not checked
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  bool in_use = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 &&
                errno == EADDRINUSE;
  ::close(fd);
  return in_use;
}

std::vector<diagnostic> ports_in_use(const app_description& d) {
  std::vector<diagnostic> result;
  auto probe = [&](int port, const std::string& who, const std::string& key) {
    if (port != 0 && port_in_use(d.config.bind_address, port))
      result.push_back(
          diagnostic{severity::warning, d.position(key),
                     "port " + std::to_string(port) + " (" + who +
                         ") is in use on " + d.config.bind_address +
                         " right now: `run` fails unless it is free by then"});
  };
  if (d.config.enable_tcp || !d.plugins.empty()) {
    probe(d.config.publish_port, "publish_port", "engine.publish_port");
    probe(d.config.subscribe_port, "subscribe_port", "engine.subscribe_port");
  }
  for (auto& p : d.plugins)
    probe(p.port, "plugin '" + p.name + "'", "plugin." + p.name + ".port");
  return result;
}

// What run and check share: the file, the overrides, the machine, the
// libraries.
struct prepared_app {
  config_report report;
  plugin_loader loader;
  std::vector<diagnostic> diagnostics; // all of them, in file order
};

// Reads the file and applies the command line.
void read(const run_options& opts, prepared_app& out) {
  out.report = read_config_file(opts.config);
  auto& d = out.report.description;
  auto& diags = out.diagnostics;
  diags = out.report.diagnostics;
  if (opts.publish_port >= 0)
    d.config.publish_port = opts.publish_port;
  if (opts.subscribe_port >= 0)
    d.config.subscribe_port = opts.subscribe_port;
  if (!opts.bind.empty())
    d.config.bind_address = opts.bind;
}

// Checks the machine and loads the libraries (which builds each library
// plugin once).
void prepare(bool has_customize, prepared_app& out) {
  auto& d = out.report.description;
  auto& diags = out.diagnostics;
  if (d.plugin_order.empty() && !has_customize && out.report.ok())
    diags.push_back(diagnostic{severity::error, source_position{d.file, 0, 0},
                               "the file registers no plugin: add at least "
                               "one [[plugin]]"});
  for (auto& x : check_environment(d))
    diags.push_back(std::move(x));
  for (auto& x : out.loader.load(d))
    diags.push_back(std::move(x));
  sort_by_position(diags);
}

std::string ready_line(const app& a, const app_description& d,
                       const metrics_endpoint* metrics) {
  std::string line = "event-engine: ready";
  // No TCP ports in an in-process app ([engine] enable_tcp = false).
  if (a.publish_port() >= 0)
    line += " publish_port=" + std::to_string(a.publish_port());
  if (a.subscribe_port() >= 0)
    line += " subscribe_port=" + std::to_string(a.subscribe_port());
  for (auto& p : d.plugins)
    line += " plugin." + p.name + "=" + std::to_string(a.plugin_port(p.name));
  if (metrics)
    line += " metrics_port=" + std::to_string(metrics->port());
  return line;
}

// The --ready-file: written once the app started, removed at exit. A file
// that cannot be written is logged, not fatal: the health check reading it
// then reports the engine as not ready.
class ready_file {
public:
  explicit ready_file(std::string path) : path_(std::move(path)) {
    if (!path_.empty())
      std::remove(path_.c_str()); // a previous run's
  }

  ~ready_file() {
    if (!path_.empty())
      std::remove(path_.c_str());
  }

  void write(const std::string& line) {
    if (path_.empty())
      return;
    std::ofstream out{path_, std::ios::trunc};
    if (!(out << line << '\n' << std::flush))
      ee::log(log_level::error, "cannot write the ready file " + path_ + ": " +
                                    std::strerror(errno));
  }

private:
  std::string path_;
};

} // namespace

void print_diagnostics(const std::vector<diagnostic>& diags) {
  for (auto& d : diags)
    report(d.severity == severity::error ? log_level::error
                                         : log_level::warning,
           d.to_string());
}

std::optional<std::vector<event_type>> load_types(const std::string& path) {
  auto report = read_config_file(path);
  if (!report.ok()) {
    print_diagnostics(report.diagnostics);
    return std::nullopt;
  }
  return report.description.types;
}

exit_code exit_code_of(const error& err) {
  switch (err.code()) {
  case ec::none:
    return exit_ok;
  case ec::shutdown_timeout:
    return exit_killed;
  case ec::plugin_failed:
  case ec::launch_failed:
  case ec::restart_limit:
    return exit_plugin_failed;
  default:
    return exit_failed;
  }
}

int check_command(const run_options& opts,
                  const std::function<void(app&)>& customize) {
  prepared_app p;
  read(opts, p);
  prepare(static_cast<bool>(customize), p);
  auto& d = p.report.description;
  for (auto& x : ports_in_use(d))
    p.diagnostics.push_back(std::move(x));
  if (auto x = exposure_warning(d))
    p.diagnostics.push_back(std::move(*x));
  sort_by_position(p.diagnostics);
  print_diagnostics(p.diagnostics);
  auto errors = count(p.diagnostics, severity::error);
  auto warnings = count(p.diagnostics, severity::warning);
  if (errors > 0) {
    std::cout << "event-engine: " << opts.config << ": " << errors
              << (errors == 1 ? " error" : " errors") << ", " << warnings
              << (warnings == 1 ? " warning" : " warnings") << std::endl;
    return exit_usage;
  }
  for (auto& line : p.loader.describe())
    std::cout << "  " << line << '\n';
  std::cout << "event-engine: " << opts.config << " is valid ("
            << d.plugin_order.size() << " plugins, " << d.types.size()
            << " types, " << warnings
            << (warnings == 1 ? " warning" : " warnings") << ")" << std::endl;
  return exit_ok;
}

int run_command(const run_options& opts,
                const std::function<void(app&)>& customize) {
  ready_file ready{opts.ready_file};
  prepared_app p;
  read(opts, p);
  auto& d = p.report.description;
  // The sink first: library plugins built by prepare() may log.
  auto level = opts.log_level.empty() ? d.log_level : opts.log_level;
  if (!level.empty())
    if (auto lvl = from_name<log_level>(level)) // else reported by read()
      set_log_level(*lvl);
  if (auto err = install_log_sink(opts.log)) {
    std::cerr << "event-engine: " << err.message() << '\n';
    return exit_usage;
  }
  struct sink_guard {
    ~sink_guard() { remove_log_sink(); }
  } guard;
  prepare(static_cast<bool>(customize), p);
  print_diagnostics(p.diagnostics);
  if (count(p.diagnostics, severity::error) > 0)
    return exit_usage;
  int rc = exit_ok;
  {
    app a{d.config};
    if (customize)
      customize(a);
    p.loader.register_plugins(a, d);
    a.stop_on_signals();
    // Declared after the app: it stops serving before the app goes.
    std::unique_ptr<metrics_endpoint> metrics;
    if (!opts.metrics.empty()) {
      auto m = metrics_endpoint::open(opts.metrics, a);
      if (!m) {
        report(log_level::error, "event-engine: " + m.error().message());
        return exit_usage;
      }
      metrics = std::move(*m);
      if (!metrics->loopback())
        ee::log(
            log_level::warning,
            "metrics are served to every host that reaches port " +
                std::to_string(metrics->port()) +
                " (plugin names, event types and counters, without "
                "authentication): keep it on loopback or behind a firewall");
    }
    // wait_started() also returns when run() fails before starting (bind or
    // launch errors), so the announcer never holds up the exit.
    std::thread announcer{[&] {
      if (a.wait_started(std::chrono::seconds{30})) {
        auto line = ready_line(a, d, metrics.get());
        report(log_level::info, line);
        ready.write(line);
      }
    }};
    auto err = a.run();
    announcer.join();
    if (!opts.stats.empty()) {
      auto st = a.stats(); // the final counters
      if (opts.stats == "json")
        std::cout << to_json(st) << std::endl;
      else if (opts.stats == "prometheus")
        std::cout << to_prometheus(st) << std::flush;
      else
        std::cout << to_table(st) << std::flush;
    }
    if (err) {
      report(log_level::error, "event-engine: " + err.to_string());
      rc = exit_code_of(err);
    } else {
      report(log_level::info, "event-engine: all plugins finished");
    }
  } // the app (and its plugins) are gone before the sink
  return rc;
}

} // namespace ee::host
