#pragma once

// What the app tests share (app_test.cpp, app_plugins_test.cpp,
// app_errors_test.cpp): an app config without TCP, and plugins that
// publish a list, receive a count of events, or idle until stopped.

#include "ee/app.hpp"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/test_util.hpp"

namespace ee::test::app_fixture {

using namespace std::chrono_literals;

inline ee::app_config local_config() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  return cfg;
}

// Publishes `events` in on_start, then stops.
class publisher_plugin : public ee::plugin {
public:
  publisher_plugin(std::string name, std::vector<std::string> events)
      : name_(std::move(name)), events_(std::move(events)) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override { return {}; }

  void on_start(ee::context& ctx) override {
    for (auto& e : events_)
      ctx.publish(ee::event{e});
    ctx.stop();
  }

  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  std::string name_;
  std::vector<std::string> events_;
};

// Receives `expected` events for `filters`, records them, then stops.
class receiver_plugin : public ee::plugin {
public:
  receiver_plugin(std::string name, std::vector<std::string> filters,
                  std::size_t expected, std::shared_ptr<collector> out,
                  std::chrono::milliseconds slow_subscribe = 0ms)
      : name_(std::move(name)), filters_(std::move(filters)),
        expected_(expected), out_(std::move(out)), slow_(slow_subscribe) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    // A plugin slow to subscribe is the case under test: the barrier must
    // hold the others however long it takes, and the public API has no
    // signal of "the others are waiting" that a gate could open on.
    if (slow_.count() > 0)
      std::this_thread::sleep_for(slow_);
    std::vector<ee::event_type> result;
    for (auto& f : filters_)
      result.emplace_back(f, f);
    return result;
  }

  void on_start(ee::context& ctx) override {
    if (expected_ == 0)
      ctx.stop();
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    out_->add(ev);
    if (++seen_ == expected_)
      ctx.stop();
  }

private:
  std::string name_;
  std::vector<std::string> filters_;
  std::size_t expected_;
  std::shared_ptr<collector> out_;
  std::chrono::milliseconds slow_;
  std::size_t seen_ = 0;
};

// Does nothing until stopped; records that it started and that it stopped.
class idle_plugin : public ee::plugin {
public:
  std::string name() const override { return "idle"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_start(ee::context&) override { started = true; }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }
  void on_stop(ee::context&) override { stopped = true; }
  static inline std::atomic<bool> started{false};
  static inline std::atomic<bool> stopped{false};
};

} // namespace ee::test::app_fixture
