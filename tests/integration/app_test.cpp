// End-to-end tests of the core engine: real actor system, real threads.

#include "ee/app.hpp"
#include "ee/caf.hpp"

#include <atomic>
#include <future>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "examples/common/example_events.hpp"
#include "tests/integration/test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace std::chrono_literals;
using namespace example;
using ee::test::collector;
using ee::test::eventually;
using ee::test::run_bounded;

namespace {

ee::app_config local_config() {
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

} // namespace

// -- the quickstart scenario
// ----------------------------------------------------

class producer : public ee::plugin {
public:
  std::string name() const override { return "producer"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_b_event>()};
  }
  void on_start(ee::context& ctx) override {
    for (int i = 0; i < 5; ++i)
      ctx.publish(type_a_event{"This is message " + std::to_string(i)});
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto b = ee::decode<type_b_event>(ev);
    ASSERT_TRUE(b);
    counts.push_back(b->count);
    if (counts.size() == 5)
      ctx.stop();
  }
  static inline std::vector<std::size_t> counts;
};

class counter : public ee::plugin {
public:
  std::string name() const override { return "counter"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_a_event>()};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto a = ee::decode<type_a_event>(ev);
    ctx.publish(type_b_event{a->message.size()});
    if (++seen_ == 5)
      ctx.stop();
  }

private:
  int seen_ = 0;
};

TEST(App, QuickstartWithActorPlugins) {
  producer::counts.clear();
  ee::app app{local_config()};
  app.emplace_plugin<producer>().emplace_plugin<counter>();
  auto err = run_bounded(app, 20s);
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(producer::counts, std::vector<std::size_t>(5, 17));
}

class blocking_producer : public ee::blocking_plugin {
public:
  std::string name() const override { return "producer"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_b_event>()};
  }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (int i = 0; i < 5; ++i)
      pub.publish(type_a_event{"This is message " + std::to_string(i)});
    for (int i = 0; i < 5; ++i) {
      auto ev = sub.recv(10s);
      if (!ev)
        throw std::runtime_error("timeout waiting for TypeB");
      counts.push_back(ee::decode<type_b_event>(*ev)->count);
    }
  }
  static inline std::vector<std::size_t> counts;
};

class blocking_counter : public ee::blocking_plugin {
public:
  std::string name() const override { return "counter"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::type_of<type_a_event>()};
  }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (int i = 0; i < 5; ++i) {
      auto a = ee::decode<type_a_event>(sub.recv());
      pub.publish(type_b_event{a->message.size()});
    }
  }
};

TEST(App, QuickstartWithBlockingPlugins) {
  blocking_producer::counts.clear();
  ee::app app{local_config()};
  app.emplace_plugin<blocking_producer>().emplace_plugin<blocking_counter>();
  auto err = run_bounded(app, 20s);
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(blocking_producer::counts, std::vector<std::size_t>(5, 17));
}

TEST(App, MixedPluginStylesTalkToEachOther) {
  producer::counts.clear();
  ee::app app{local_config()};
  app.emplace_plugin<producer>().emplace_plugin<blocking_counter>();
  auto err = run_bounded(app, 20s);
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(producer::counts.size(), 5u);
}

// -- delivery
// -------------------------------------------------------------------

TEST(App, DeliversBytesExactly) {
  std::string binary{"BIN\0\x01\x02\xff\0tail", 12};
  std::string only_filter = "BIN";
  std::string big = "BIN" + std::string(1 << 20, '\0');
  for (std::size_t i = 3; i < big.size(); i += 4093)
    big[i] = static_cast<char>(i * 7);
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<receiver_plugin>("rx", std::vector<std::string>{"BIN"}, 3u,
                                      out);
  app.emplace_plugin<publisher_plugin>(
      "tx", std::vector<std::string>{binary, only_filter, big});
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  auto got = out->strings();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0], binary);
  EXPECT_EQ(got[1], only_filter);
  EXPECT_EQ(got[2], big);
}

TEST(App, NoDeliveryToNonSubscribersAndOneCopyForOverlaps) {
  auto a = std::make_shared<collector>();
  auto b = std::make_shared<collector>();
  auto all = std::make_shared<collector>();
  ee::app app{local_config()};
  // `a` has overlapping filters: it must still get each event once.
  app.emplace_plugin<receiver_plugin>(
      "a", std::vector<std::string>{"TypeA", "TypeA1", "TypeA4", "TypeA"}, 2u,
      a);
  app.emplace_plugin<receiver_plugin>("b", std::vector<std::string>{"TypeB"},
                                      1u, b);
  app.emplace_plugin<receiver_plugin>("all", std::vector<std::string>{""}, 4u,
                                      all);
  app.emplace_plugin<publisher_plugin>(
      "tx", std::vector<std::string>{"TypeA1", "TypeB2", "Other3", "TypeA4"});
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(a->strings(), (std::vector<std::string>{"TypeA1", "TypeA4"}));
  EXPECT_EQ(b->strings(), (std::vector<std::string>{"TypeB2"}));
  EXPECT_EQ(all->strings(),
            (std::vector<std::string>{"TypeA1", "TypeB2", "Other3", "TypeA4"}));
  EXPECT_EQ(app.stats().plugins.at("a").routed, 2u);
}

// Records whether fanned-out copies share one buffer.
class buffer_checker : public ee::plugin {
public:
  buffer_checker(std::string name, std::shared_ptr<std::vector<const char*>> p)
      : name_(std::move(name)), ptrs_(std::move(p)) {
    // nop
  }
  std::string name() const override { return name_; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Shared"}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    std::lock_guard<std::mutex> guard{mtx};
    ptrs_->push_back(ev.data());
    ctx.stop();
  }
  static inline std::mutex mtx;

private:
  std::string name_;
  std::shared_ptr<std::vector<const char*>> ptrs_;
};

TEST(App, FanOutSharesOneBuffer) {
  auto ptrs = std::make_shared<std::vector<const char*>>();
  ee::app app{local_config()};
  for (int i = 0; i < 10; ++i)
    app.emplace_plugin<buffer_checker>("rx" + std::to_string(i), ptrs);
  app.emplace_plugin<publisher_plugin>(
      "tx", std::vector<std::string>{"Shared" + std::string(4096, 'x')});
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  ASSERT_EQ(ptrs->size(), 10u);
  for (auto p : *ptrs)
    EXPECT_EQ(p, ptrs->front());
}

// -- the start barrier
// ------------------------------------------------------------

TEST(App, BarrierHoldsStartUntilSlowSubscriberIsReady) {
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  // The publisher is registered first and publishes in on_start; the
  // receiver takes 300 ms to set up its subscriptions.
  app.emplace_plugin<publisher_plugin>(
      "early", std::vector<std::string>{"Boot1", "Boot2"});
  app.emplace_plugin<receiver_plugin>("slow", std::vector<std::string>{"Boot"},
                                      2u, out, 300ms);
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(out->strings(), (std::vector<std::string>{"Boot1", "Boot2"}));
}

class slow_blocking_receiver : public ee::blocking_plugin {
public:
  explicit slow_blocking_receiver(std::shared_ptr<collector> out)
      : out_(std::move(out)) {
    // nop
  }
  std::string name() const override { return "slow_blocking"; }
  std::vector<ee::event_type> subscriptions() const override {
    // Slow to subscribe on purpose (see receiver_plugin::subscriptions).
    std::this_thread::sleep_for(300ms);
    return {ee::event_type{"Boot"}};
  }
  void run(ee::publisher&, ee::subscriber& sub) override {
    for (int i = 0; i < 2; ++i)
      if (auto ev = sub.recv(10s))
        out_->add(*ev);
  }

private:
  std::shared_ptr<collector> out_;
};

TEST(App, BarrierHoldsStartForBlockingPlugins) {
  auto out = std::make_shared<collector>();
  ee::app app{local_config()};
  app.emplace_plugin<publisher_plugin>(
      "early", std::vector<std::string>{"Boot1", "Boot2"});
  app.emplace_plugin<slow_blocking_receiver>(out);
  auto err = run_bounded(app, 20s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(out->strings(), (std::vector<std::string>{"Boot1", "Boot2"}));
}

// A coordinator says "go" in on_start; each of N workers answers once.
class coordinator : public ee::plugin {
public:
  explicit coordinator(int n) : n_(n) {
    // nop
  }
  std::string name() const override { return "coordinator"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"done:"}};
  }
  void on_start(ee::context& ctx) override { ctx.publish("go"); }
  void on_event(ee::context& ctx, const ee::event&) override {
    if (++answers == n_)
      ctx.stop();
  }
  static inline std::atomic<int> answers{0};

private:
  int n_;
};

class worker : public ee::plugin {
public:
  explicit worker(int i) : i_(i) {
    // nop
  }
  std::string name() const override { return "worker" + std::to_string(i_); }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"go"}};
  }
  void on_event(ee::context& ctx, const ee::event&) override {
    ctx.publish("done:" + std::to_string(i_));
    ctx.stop();
  }

private:
  int i_;
};

TEST(App, ThousandPluginsPassTheBarrierAndFinish) {
  coordinator::answers = 0;
  ee::app app{local_config()};
  app.emplace_plugin<coordinator>(1000);
  for (int i = 0; i < 1000; ++i)
    app.emplace_plugin<worker>(i);
  auto err = run_bounded(app, 60s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(coordinator::answers.load(), 1000);
}

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

// -- stopping, timers, raw CAF plugins
// ---------------------------------------------

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
