// End-to-end tests of the core engine: real actor system, real threads.
// The quickstart scenario, delivery, the start barrier. Stopping, timers and
// raw CAF plugins are in app_plugins_test.cpp, failures and bad input in
// app_errors_test.cpp.

#include "ee/app.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "examples/common/example_events.hpp"
#include "tests/integration/app_fixture.hpp"
#include "tests/integration/test_util.hpp"

using namespace std::chrono_literals;
using namespace example;
using namespace ee::test::app_fixture;
using ee::test::collector;
using ee::test::run_bounded;

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
