// The original event-engine example application (SPEC §6): two internal
// plugins written as actors and one external Python plugin that speaks the
// pyevents protocol on TCP port 6000.
//
//   example_app [--no-launch] [--bind-address ADDR] [--publish-port N]
//               [--subscribe-port N] [--plugin-port N] [--python PATH]
//               [--script PATH]
//
// By default the app launches the Python plugin itself; with --no-launch it
// waits for any pyevents plugin to connect to the plugin port. The ports
// listen on the loopback unless --bind-address says otherwise (the
// two-container example, containers/compose.yaml, binds 0.0.0.0).

#include <cstdint>
#include <iostream>
#include <string>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <ee/app.hpp>

#include "examples/common/example_events.hpp"

using namespace example;

namespace {

class msg_producer : public ee::plugin {
public:
  std::string name() const override { return "MsgProducer"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_b_event>(), ee::type_of<type_c_event>()};
  }

  void on_start(ee::context& ctx) override {
    for (int i = 0; i < 5; ++i)
      ctx.publish(type_a_event{"This is message " + std::to_string(i)});
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (auto b = ee::decode<type_b_event>(ev)) {
      std::cout << "MsgProducer: got TypeB count " << b->count << std::endl;
      ++counts_;
    } else if (auto c = ee::decode<type_c_event>(ev)) {
      std::cout << "MsgProducer: got TypeC '" << c->message << "'" << std::endl;
      got_goodbye_ = true;
    }
    if (counts_ >= 5 && got_goodbye_)
      ctx.stop();
  }

private:
  int counts_ = 0;
  bool got_goodbye_ = false;
};

class counter : public ee::plugin {
public:
  std::string name() const override { return "Counter"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_a_event>()};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (auto a = ee::decode<type_a_event>(ev)) {
      std::cout << "Counter: got TypeA '" << a->message << "'" << std::endl;
      ctx.publish(type_b_event{a->message.size()});
      if (++seen_ == 5)
        ctx.stop();
    }
  }

private:
  int seen_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  ee::app_config cfg; // publish 5559, subscribe 5560, as the original
  int plugin_port = 6000;
  bool launch = true;
  std::string python =
      ::access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
  std::string script = EE_SOURCE_DIR "/examples/example_app/py_plugin.py";
  CLI::App cli{"The original event-engine example application: MsgProducer "
               "and Counter as actors, PyPlugin as a Python process.",
               "example_app"};
  cli.add_flag(
      "--no-launch", [&](std::int64_t) { launch = false; },
      "do not launch the Python plugin: wait for any pyevents plugin "
      "to connect to the plugin port");
  cli.add_option("--bind-address", cfg.bind_address,
                 "where the ports listen (\"*\" or 0.0.0.0: every "
                 "interface, without CURVE open to all who reach it)")
      ->capture_default_str();
  cli.add_option("--publish-port", cfg.publish_port, "0 = any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cli.add_option("--subscribe-port", cfg.subscribe_port, "0 = any free port")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cli.add_option("--plugin-port", plugin_port,
                 "PyPlugin's port (0 = any free port)")
      ->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cli.add_option("--python", python, "the Python interpreter")
      ->capture_default_str();
  cli.add_option("--script", script, "the Python plugin")
      ->capture_default_str();
  CLI11_PARSE(cli, argc, argv);
  ee::app app{cfg};
  app.emplace_plugin<msg_producer>().emplace_plugin<counter>();
  ee::external_plugin_config py;
  py.name = "PyPlugin";
  py.port = plugin_port;
  py.subscriptions = {ee::type_of<type_a_event>(), ee::type_of<type_b_event>()};
  if (launch)
    py.command = {python, script}; // learns its port from EE_PLUGIN_PORT
  app.register_external_plugin(py);
  app.stop_on_signals();
  if (!launch)
    std::cout << "example_app: waiting for a pyevents plugin on port "
              << plugin_port << std::endl;
  if (auto err = app.run()) {
    std::cerr << "example_app failed: " << err.to_string() << '\n';
    return 1;
  }
  std::cout << "example_app: all plugins finished" << std::endl;
  return 0;
}
