#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <thread>

#include "ee/log.hpp"
#include "ee/names.hpp"
#include "host/commands.hpp"
#include "host/metrics.hpp"
#include "host/plugin_loader.hpp"
#include "host/port_probe.hpp"
#include "util/text.hpp"

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

// Everything `run` checks before it starts anything, and so `check` too:
// the settings (check_environment), the ports (test-bound now) and the
// libraries. Loading a library runs its code (and builds each library
// plugin once): only with `load`, else they are only located.
void prepare(bool has_customize, bool load, prepared_app& out) {
  auto& d = out.report.description;
  auto& diags = out.diagnostics;
  // An engine that only relays between peers needs no plugin.
  if (d.plugin_order.empty() && !has_customize && out.report.ok() &&
      !d.config.federation.enabled())
    diags.push_back(diagnostic{severity::error, source_position{d.file, 0, 0},
                               "the file registers no plugin: add at least "
                               "one [[plugin]]"});
  auto add = [&](std::vector<diagnostic> xs) {
    for (auto& x : xs)
      diags.push_back(std::move(x));
  };
  add(check_environment(d));
  add(probe_ports(d));
  add(load ? out.loader.load(d) : out.loader.locate(d));
  sort_by_position(diags);
}

// `check --types`: each type's name and prefix, in hex and as text.
void print_types(const app_description& d) {
  for (auto& t : d.types) {
    auto& f = t.filter();
    std::cout << "  " << t.name() << ": hex " << util::to_hex(f);
    if (util::is_printable(f))
      std::cout << ", text " << util::to_json_text(f);
    std::cout << '\n';
  }
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
  prepare(static_cast<bool>(customize), opts.load_plugins, p);
  auto& d = p.report.description;
  if (auto x = exposure_warning(d))
    p.diagnostics.push_back(std::move(*x));
  sort_by_position(p.diagnostics);
  print_diagnostics(p.diagnostics);
  auto errors = count(p.diagnostics, severity::error);
  auto warnings = count(p.diagnostics, severity::warning);
  if (errors > 0) {
    std::cout << "event-engine: " << opts.config << ": "
              << util::count_of(errors, "error") << ", "
              << util::count_of(warnings, "warning") << std::endl;
    return exit_usage;
  }
  if (opts.types)
    print_types(d);
  for (auto& line : p.loader.describe())
    std::cout << "  " << line << '\n';
  if (!opts.load_plugins && !d.library_plugins.empty())
    std::cout << "  plugin libraries were not loaded (loading runs their "
                 "code): check --load-plugins loads them and checks their "
                 "factories\n";
  if (d.config.enable_tcp || !d.plugins.empty())
    std::cout << "  ports: test-bound on " << d.config.bind_address
              << " just now, all free\n";
  std::cout << "event-engine: " << opts.config << " is valid ("
            << util::count_of(d.plugin_order.size(), "plugin") << ", "
            << util::count_of(d.types.size(), "type") << ", "
            << util::count_of(warnings, "warning") << ")" << std::endl;
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
  prepare(static_cast<bool>(customize), true, p);
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
