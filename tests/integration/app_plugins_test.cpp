// End-to-end tests of the core engine: stopping plugins that never stop
// themselves, scheduled actions, raw CAF plugins.

#include "ee/app.hpp"
#include "ee/caf.hpp"

#include <atomic>
#include <future>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/integration/app_fixture.hpp"
#include "tests/integration/test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace std::chrono_literals;
using namespace ee::test::app_fixture;
using ee::test::collector;
using ee::test::eventually;
using ee::test::run_bounded;

// -- stopping, timers, raw CAF plugins
// ---------------------------------------------

class idle_blocking : public ee::blocking_plugin {
public:
  std::string name() const override { return "idle_blocking"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher&, ee::subscriber& sub) override {
    sub.recv(); // throws stop_requested on app.stop()
  }
};

TEST(App, StopEndsPluginsThatNeverStopThemselves) {
  idle_plugin::started = false;
  idle_plugin::stopped = false;
  ee::app app{local_config()};
  app.emplace_plugin<idle_plugin>().emplace_plugin<idle_blocking>();
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  // on_stop runs only for a plugin that started: wait for that, not a while.
  ASSERT_TRUE(eventually([] { return idle_plugin::started.load(); }));
  app.stop();
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  auto err = fut.get();
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_TRUE(idle_plugin::stopped);
}

class ticker : public ee::plugin {
public:
  std::string name() const override { return "ticker"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_start(ee::context& ctx) override {
    auto cancelled = ctx.schedule(10ms, [](ee::context&) {
      throw std::runtime_error("cancelled timer ran");
    });
    ctx.cancel(cancelled);
    ctx.schedule(30ms, [this](ee::context& c) {
      ++ticks;
      c.schedule(10ms, [this](ee::context& c2) {
        ++ticks;
        c2.stop();
      });
    });
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }
  static inline std::atomic<int> ticks{0};
};

TEST(App, ScheduledActionsRunAndCancel) {
  ticker::ticks = 0;
  ee::app app{local_config()};
  app.emplace_plugin<ticker>();
  auto err = run_bounded(app, 20s);
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(ticker::ticks.load(), 2);
}

class raw_echo : public ee::caf_plugin {
public:
  std::string name() const override { return "raw_echo"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Ping"}};
  }
  caf::behavior make_behavior(caf::event_based_actor*,
                              ee::context& ctx) override {
    return {
        [&ctx](ee::event_atom, const ee::event& ev) {
          ctx.publish("Pong" + std::string{ev.after(4)});
          ctx.stop();
        },
    };
  }
};

TEST(App, RawCafPluginsReceiveEventsAsMessages) {
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<raw_echo>();
  app.emplace_plugin<receiver_plugin>("rx", std::vector<std::string>{"Pong"},
                                      1u, out);
  app.emplace_plugin<publisher_plugin>("tx",
                                       std::vector<std::string>{"Ping42"});
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(out->strings(), std::vector<std::string>{"Pong42"});
}

using self_ping_atom = caf::atom_constant<caf::atom("self_ping")>;

// Throws from a response handler: outside the host's own callbacks, so the
// exception reaches the host's exception handler.
class raw_thrower : public ee::caf_plugin {
public:
  std::string name() const override { return "raw_thrower"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  caf::behavior make_behavior(caf::event_based_actor* self,
                              ee::context&) override {
    self->request(caf::actor{self}, caf::infinite, self_ping_atom::value)
        .then([](int) { throw std::runtime_error("boom from a response"); });
    return {[](self_ping_atom) { return 1; }};
  }
};

TEST(App, AnExceptionEscapingToTheHostKeepsItsText) {
  ee::app app{local_config()};
  app.emplace_plugin<raw_thrower>();
  auto err = run_bounded(app, 20s);
  ASSERT_TRUE(err);
  EXPECT_NE(err.to_string().find("std::runtime_error: boom from a response"),
            std::string::npos)
      << err.to_string();
}
