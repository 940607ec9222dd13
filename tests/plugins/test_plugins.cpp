// Plugins for the host's tests, loaded by `event-engine run` from this
// library:
//
// * make_flaky (actor): for each event of its subscriptions publishes
//   "Done" + payload; the first instance throws on its `fail_at`-th event
//   (so a restart calls the factory again); "JobStop" stops it. Logs
//   "instance N" for every instance the factory builds.
// * make_echo (blocking): "Echo" + the event for each event; an event
//   that ends with "Stop" ends it.
// * make_logger (actor): logs one line per level through ee::log (the
//   host's sink) and stops.
// * make_needs_key: its factory needs config.needed (a config_error).
// * make_misnamed: a plugin whose name() is not the [[plugin]] name.
// * make_null: a factory that returns nothing.

#include <atomic>
#include <stdexcept>

#include <ee/log.hpp>
#include <ee/plugin_library.hpp>

namespace {

std::atomic<int> flaky_instances{0};

class flaky : public ee::plugin {
public:
  explicit flaky(const ee::plugin_config& cfg)
      : cfg_(cfg), instance_(++flaky_instances),
        fail_at_(cfg.get_int("fail_at", 0)) {
    ee::log(ee::log_level::info, cfg_.name(),
            "instance " + std::to_string(instance_));
  }

  std::string name() const override { return cfg_.name(); }

  std::vector<ee::event_type> subscriptions() const override {
    return cfg_.subscriptions();
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (ev.bytes() == "JobStop") {
      ctx.stop();
      return;
    }
    if (instance_ == 1 && ++seen_ == fail_at_)
      throw std::runtime_error("failing on purpose at event " +
                               std::to_string(seen_));
    ctx.publish(ee::event::concat("Done", ev.after(3)));
  }

private:
  ee::plugin_config cfg_;
  int instance_;
  std::int64_t fail_at_;
  std::int64_t seen_ = 0;
};

class echo : public ee::blocking_plugin {
public:
  explicit echo(const ee::plugin_config& cfg) : cfg_(cfg) {
    // nop
  }

  std::string name() const override { return cfg_.name(); }

  std::vector<ee::event_type> subscriptions() const override {
    return cfg_.subscriptions();
  }

  void run(ee::publisher& pub, ee::subscriber& sub) override {
    while (true) {
      auto ev = sub.recv();
      auto bytes = ev.bytes();
      if (bytes.size() >= 4 && bytes.substr(bytes.size() - 4) == "Stop")
        return;
      pub.publish(ee::event::concat("Echo", ev.bytes()));
    }
  }

private:
  ee::plugin_config cfg_;
};

class logger : public ee::plugin {
public:
  explicit logger(const ee::plugin_config& cfg) : name_(cfg.name()) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override { return {}; }

  void on_start(ee::context& ctx) override {
    ee::log(ee::log_level::warning, name_, "a warning from the library");
    ee::log(ee::log_level::info, name_, "an \"info\" line from the library");
    ctx.stop();
  }

  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  std::string name_;
};

class misnamed : public ee::plugin {
public:
  std::string name() const override { return "someone_else"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }
};

} // namespace

std::unique_ptr<ee::plugin_base> make_flaky(const ee::plugin_config& cfg) {
  return std::make_unique<flaky>(cfg);
}

std::unique_ptr<ee::plugin_base> make_echo(const ee::plugin_config& cfg) {
  return std::make_unique<echo>(cfg);
}

std::unique_ptr<ee::plugin_base> make_logger(const ee::plugin_config& cfg) {
  return std::make_unique<logger>(cfg);
}

std::unique_ptr<ee::plugin_base> make_needs_key(const ee::plugin_config& cfg) {
  cfg.get_int("needed");
  return std::make_unique<logger>(cfg);
}

std::unique_ptr<ee::plugin_base> make_misnamed(const ee::plugin_config&) {
  return std::make_unique<misnamed>();
}

std::unique_ptr<ee::plugin_base> make_null(const ee::plugin_config&) {
  return nullptr;
}

EE_PLUGIN("2.5.0", EE_FACTORY(make_flaky), EE_FACTORY(make_echo),
          EE_FACTORY(make_logger), EE_FACTORY(make_needs_key),
          EE_FACTORY(make_misnamed), EE_FACTORY(make_null))
