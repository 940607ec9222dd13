#include "ee/host.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>

#include <ee/app.hpp>
#include <ee/config_file.hpp>
#include <ee/log.hpp>

namespace {

void usage(std::ostream& out) {
  out << "usage: event-engine CONFIG.toml [--publish-port N] "
         "[--subscribe-port N] [--bind ADDR] [--log-level LEVEL] [--check]\n"
         "  Runs the external plugins described in CONFIG.toml (see "
         "include/ee/config_file.hpp).\n"
         "  --check  only validate the file\n"
         "  Prints 'event-engine: ready ...' with the bound ports once "
         "started.\n";
}

bool parse_level(const std::string& s, ee::log_level& out) {
  for (int i = 0; i <= static_cast<int>(ee::log_level::off); ++i)
    if (s == ee::to_string(static_cast<ee::log_level>(i))) {
      out = static_cast<ee::log_level>(i);
      return true;
    }
  return false;
}

int parse_port(const std::string& flag, const char* value) {
  char* end = nullptr;
  long port = value ? std::strtol(value, &end, 10) : -1;
  if (!value || *end != '\0' || port < 0 || port > 65535) {
    std::cerr << "event-engine: " << flag << " needs a port in 0..65535, got '"
              << (value ? value : "") << "'\n";
    std::exit(2);
  }
  return static_cast<int>(port);
}

} // namespace

namespace ee {

int run_host(int argc, char** argv,
             const std::function<void(app&)>& customize) {
  std::string path;
  bool check = false;
  int pub = -1, sub = -1;
  std::string bind, level;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    const char* next = i + 1 < argc ? argv[i + 1] : nullptr;
    if (arg == "--help" || arg == "-h") {
      usage(std::cout);
      return 0;
    } else if (arg == "--check") {
      check = true;
    } else if (arg == "--publish-port") {
      pub = parse_port(arg, next);
      ++i;
    } else if (arg == "--subscribe-port") {
      sub = parse_port(arg, next);
      ++i;
    } else if (arg == "--bind" && next) {
      bind = next;
      ++i;
    } else if (arg == "--log-level" && next) {
      level = next;
      ++i;
    } else if (!arg.empty() && arg[0] != '-' && path.empty()) {
      path = arg;
    } else {
      std::cerr << "event-engine: unknown argument '" << arg << "'\n";
      usage(std::cerr);
      return 2;
    }
  }
  if (path.empty()) {
    usage(std::cerr);
    return 2;
  }
  ee::app_description desc;
  if (auto err = ee::load_config_file(path, desc)) {
    std::cerr << "event-engine: " << err.message() << '\n';
    return 2;
  }
  if (level.empty())
    level = desc.log_level;
  if (!level.empty()) {
    ee::log_level lvl;
    if (!parse_level(level, lvl)) {
      std::cerr << "event-engine: log level '" << level
                << "' is unknown; use debug, info, warning, error or off\n";
      return 2;
    }
    ee::set_log_level(lvl);
  }
  if (pub >= 0)
    desc.config.publish_port = pub;
  if (sub >= 0)
    desc.config.subscribe_port = sub;
  if (!bind.empty())
    desc.config.bind_address = bind;
  if (desc.plugins.empty() && !customize) {
    std::cerr << "event-engine: " << path
              << " registers no plugin: add at least one [[plugin]]\n";
    return 2;
  }
  if (check) {
    std::cout << "event-engine: " << path << " is valid ("
              << desc.plugins.size() << " plugins)\n";
    return 0;
  }
  ee::app app{desc.config};
  if (customize)
    customize(app);
  for (auto& p : desc.plugins)
    app.register_external_plugin(p);
  app.stop_on_signals();
  // wait_started() also returns when run() fails before starting (bind or
  // launch errors), so the announcer never holds up the exit.
  std::thread announcer{[&] {
    if (!app.wait_started(std::chrono::seconds{30}))
      return;
    std::string line = "event-engine: ready publish_port=" +
                       std::to_string(app.publish_port()) + " subscribe_port=" +
                       std::to_string(app.subscribe_port());
    for (auto& p : desc.plugins)
      line +=
          " plugin." + p.name + "=" + std::to_string(app.plugin_port(p.name));
    std::cout << line << std::endl;
  }};
  auto err = app.run();
  announcer.join();
  if (err) {
    std::cerr << "event-engine: " << err.to_string() << '\n';
    return 1;
  }
  std::cout << "event-engine: all plugins finished" << std::endl;
  return 0;
}

} // namespace ee
