// The original crate's own test scenario, twice: a producer publishes 5 TypeA
// events; a counter answers each with a TypeB count; the producer receives
// all 5 TypeB events and exits; the app returns.
//
//   quickstart            actor plugins (event-driven)
//   quickstart blocking   blocking plugins (the original's thread style)

#include <cstdio>
#include <cstring>
#include <iostream>

#include <ee/app.hpp>

#include "examples/common/example_events.hpp"

using namespace example;

namespace {

// -- actor style
// -----------------------------------------------------------------

class msg_producer : public ee::plugin {
public:
  std::string name() const override { return "msg_producer"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_b_event>()};
  }

  void on_start(ee::context& ctx) override {
    for (int i = 0; i < 5; ++i)
      ctx.publish(type_a_event{"This is message " + std::to_string(i)});
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (auto b = ee::decode<type_b_event>(ev)) {
      std::cout << "msg_producer: got count " << b->count << '\n';
      if (++received_ == 5)
        ctx.stop();
    }
  }

private:
  int received_ = 0;
};

class counter : public ee::plugin {
public:
  std::string name() const override { return "counter"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_a_event>()};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (auto a = ee::decode<type_a_event>(ev)) {
      ctx.publish(type_b_event{a->message.size()});
      if (++seen_ == 5)
        ctx.stop();
    }
  }

private:
  int seen_ = 0;
};

// -- blocking style
// --------------------------------------------------------------

class blocking_producer : public ee::blocking_plugin {
public:
  std::string name() const override { return "msg_producer"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_b_event>()};
  }

  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (int i = 0; i < 5; ++i)
      pub.publish(type_a_event{"This is message " + std::to_string(i)});
    for (int i = 0; i < 5; ++i) {
      auto b = ee::decode<type_b_event>(sub.recv());
      std::cout << "msg_producer: got count " << (b ? b->count : 0) << '\n';
    }
  }
};

class blocking_counter : public ee::blocking_plugin {
public:
  std::string name() const override { return "counter"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_a_event>()};
  }

  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (int i = 0; i < 5; ++i)
      if (auto a = ee::decode<type_a_event>(sub.recv()))
        pub.publish(type_b_event{a->message.size()});
  }
};

} // namespace

int main(int argc, char** argv) {
  bool blocking = argc > 1 && std::strcmp(argv[1], "blocking") == 0;
  ee::app_config cfg;
  cfg.enable_tcp = false; // in-process only: no ports needed
  ee::app app{cfg};
  if (blocking)
    app.emplace_plugin<blocking_producer>().emplace_plugin<blocking_counter>();
  else
    app.emplace_plugin<msg_producer>().emplace_plugin<counter>();
  if (auto err = app.run()) {
    std::cerr << "quickstart failed: " << err.to_string() << '\n';
    return 1;
  }
  std::cout << "quickstart (" << (blocking ? "blocking" : "actor")
            << " plugins): done\n";
  return 0;
}
