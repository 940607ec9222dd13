// End-to-end tests of the core engine: exceptions in plugins are reported
// (not fatal to the others), and bad input is refused with a clear error.

#include "ee/app.hpp"

#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/integration/app_fixture.hpp"
#include "tests/integration/test_util.hpp"

using namespace std::chrono_literals;
using namespace ee::test::app_fixture;
using ee::test::collector;
using ee::test::run_bounded;

// -- failures
// -----------------------------------------------------------------------

class thrower : public ee::plugin {
public:
  explicit thrower(bool in_start) : in_start_(in_start) {
    // nop
  }
  std::string name() const override { return "thrower"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"X"}};
  }
  void on_start(ee::context&) override {
    if (in_start_)
      throw std::logic_error("broken start");
  }
  void on_event(ee::context&, const ee::event&) override {
    throw std::runtime_error("cannot handle X");
  }

private:
  bool in_start_;
};

TEST(App, ExceptionInOnStartIsReportedNotFatal) {
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<thrower>(true);
  app.emplace_plugin<receiver_plugin>("rx", std::vector<std::string>{"Y"}, 1u,
                                      out);
  app.emplace_plugin<publisher_plugin>("tx", std::vector<std::string>{"Y1"});
  auto err = run_bounded(app, 20s);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::plugin_failed);
  EXPECT_NE(err.message().find("thrower"), std::string::npos);
  EXPECT_NE(err.message().find("std::logic_error: broken start"),
            std::string::npos);
  EXPECT_NE(err.message().find("on_start"), std::string::npos);
  // The others ran to completion.
  EXPECT_EQ(out->strings(), std::vector<std::string>{"Y1"});
}

TEST(App, ExceptionInOnEventIsReportedWithDeadLetter) {
  auto dead = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<thrower>(false);
  app.emplace_plugin<receiver_plugin>(
      "watcher", std::vector<std::string>{ee::dead_letter_prefix}, 1u, dead);
  app.emplace_plugin<publisher_plugin>("tx", std::vector<std::string>{"X1"});
  auto err = run_bounded(app, 20s);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("std::runtime_error: cannot handle X"),
            std::string::npos);
  ASSERT_EQ(dead->size(), 1u);
  EXPECT_EQ(dead->strings()[0],
            std::string{ee::dead_letter_prefix} + "thrower\nX1");
  EXPECT_EQ(app.stats().plugins.at("thrower").failures, 1u);
}

class blocking_thrower : public ee::blocking_plugin {
public:
  std::string name() const override { return "blocking_thrower"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher&, ee::subscriber&) override {
    throw std::out_of_range("index 7");
  }
};

TEST(App, ExceptionInBlockingRunIsReported) {
  ee::app app{local_config()};
  app.emplace_plugin<blocking_thrower>();
  auto err = run_bounded(app, 20s);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("blocking_thrower"), std::string::npos);
  EXPECT_NE(err.message().find("std::out_of_range: index 7"),
            std::string::npos);
}

// Publishes from a thread of its own making: refused with a clear error,
// nothing corrupted; its own thread's events still arrive.
class two_thread_publisher : public ee::blocking_plugin {
public:
  explicit two_thread_publisher(std::shared_ptr<std::string> what)
      : what_(std::move(what)) {
    // nop
  }
  std::string name() const override { return "two_threads"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    std::thread helper{[&] {
      try {
        pub.publish(ee::event{"Y1"});
      } catch (const std::logic_error& e) {
        *what_ = e.what();
      }
    }};
    helper.join();
    pub.publish(ee::event{"Y2"});
  }

private:
  std::shared_ptr<std::string> what_;
};

TEST(AppErrors, PublishingFromAnotherThreadOfABlockingPluginIsRefused) {
  auto what = std::make_shared<std::string>();
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<receiver_plugin>("rx", std::vector<std::string>{"Y"}, 1u,
                                      out);
  app.emplace_plugin<two_thread_publisher>(what);
  ASSERT_FALSE(run_bounded(app, 20s));
  EXPECT_NE(what->find("publish called from a thread other than"),
            std::string::npos)
      << *what;
  EXPECT_EQ(out->strings(), std::vector<std::string>{"Y2"});
}

// -- bad input
// ---------------------------------------------------------------------

TEST(AppErrors, DuplicateAndEmptyNames) {
  auto out = std::make_shared<collector>();
  {
    ee::app app{local_config()};
    app.emplace_plugin<receiver_plugin>("same", std::vector<std::string>{}, 0u,
                                        out);
    app.emplace_plugin<receiver_plugin>("same", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_EQ(err.code(), ee::ec::duplicate_name);
    EXPECT_NE(err.message().find("'same'"), std::string::npos);
  }
  {
    ee::app app{local_config()};
    app.emplace_plugin<receiver_plugin>("", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_EQ(err.code(), ee::ec::invalid_config);
    EXPECT_NE(err.message().find("empty name"), std::string::npos);
  }
}

TEST(AppErrors, RunTwiceAndNoPlugins) {
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<receiver_plugin>("once", std::vector<std::string>{}, 0u,
                                      out);
  EXPECT_FALSE(run_bounded(app, 20s));
  auto err = app.run();
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::already_running);
  ee::app empty{local_config()};
  auto err2 = empty.run();
  ASSERT_TRUE(err2);
  EXPECT_NE(err2.message().find("no plugins registered"), std::string::npos);
}

TEST(AppErrors, ZeroQueuesAndWindowsAreRefused) {
  auto out = std::make_shared<collector>();
  for (auto field :
       {&ee::app_config::queue_capacity, &ee::app_config::delivery_window,
        &ee::app_config::publish_window}) {
    auto cfg = local_config();
    cfg.*field = 0;
    ee::app app{cfg};
    app.emplace_plugin<receiver_plugin>("p", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_EQ(err.code(), ee::ec::invalid_config);
    EXPECT_NE(err.message().find("must be at least 1"), std::string::npos)
        << err.message();
  }
}

TEST(AppErrors, PortsOutOfRangeOrTwice) {
  auto out = std::make_shared<collector>();
  {
    ee::app app{70000, 5560};
    app.emplace_plugin<receiver_plugin>("p", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_EQ(err.code(), ee::ec::invalid_config);
    EXPECT_NE(err.message().find("publish_port is 70000, out of range"),
              std::string::npos);
  }
  {
    ee::app app{0, -1};
    app.emplace_plugin<receiver_plugin>("p", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_NE(err.message().find("subscribe_port is -1"), std::string::npos);
  }
  {
    ee::app app{7777, 7777};
    app.emplace_plugin<receiver_plugin>("p", std::vector<std::string>{}, 0u,
                                        out);
    auto err = app.run();
    ASSERT_TRUE(err);
    EXPECT_EQ(err.code(), ee::ec::duplicate_port);
    EXPECT_NE(err.message().find("port 7777 of the engine's subscribe_port is "
                                 "already used by the engine's publish_port"),
              std::string::npos);
  }
}

TEST(AppErrors, PortInUseNamesThePort) {
  zmq::context_t ctx;
  zmq::socket_t blocker{ctx, zmq::socket_type::pub};
  blocker.set(zmq::sockopt::linger, 0);
  blocker.bind("tcp://127.0.0.1:*");
  auto ep = blocker.get(zmq::sockopt::last_endpoint);
  int port = std::stoi(ep.substr(ep.rfind(':') + 1));
  auto out = std::make_shared<collector>();
  ee::app app{0, port};
  app.emplace_plugin<receiver_plugin>("p", std::vector<std::string>{}, 0u, out);
  auto err = app.run();
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::bind_failed);
  EXPECT_NE(err.message().find("subscribe port"), std::string::npos);
  EXPECT_NE(err.message().find(std::to_string(port)), std::string::npos);
  EXPECT_NE(err.message().find("in use"), std::string::npos);
}

TEST(AppErrors, RestartPolicyNeedsAFactory) {
  ee::app app{local_config()};
  ee::plugin_options opts;
  opts.restart = ee::restart_policy::permanent;
  app.register_plugin(std::make_unique<idle_plugin>(), opts);
  auto err = app.run();
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("register a factory"), std::string::npos);
}

TEST(AppErrors, MissingLaunchCommand) {
  ee::app app{local_config()};
  ee::external_plugin_config ext;
  ext.name = "ghost";
  ext.command = {"/nonexistent/definitely-not-here"};
  app.register_external_plugin(ext);
  auto err = app.run();
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::launch_failed);
  EXPECT_NE(err.message().find("ghost"), std::string::npos);
  EXPECT_NE(err.message().find("not found"), std::string::npos);
}
