// Supervision: restart policies and strategies, restart intensity, back-off,
// no event lost across restarts, lifecycle events, graceful shutdown.

#include "ee/app.hpp"

#include <atomic>
#include <fstream>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/integration/test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace std::chrono_literals;
using ee::test::collector;
using ee::test::eventually;
using ee::test::run_bounded;

namespace {

/// A log of (plugin name, incarnation) starts and stops, shared by plugins.
class journal {
public:
  void add(std::string line) {
    std::lock_guard<std::mutex> guard{mtx_};
    lines_.push_back(std::move(line));
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_;
  }

  std::size_t count(const std::string& line) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<std::size_t>(
        std::count(lines_.begin(), lines_.end(), line));
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

ee::app_config local_config() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  cfg.shutdown_grace = 2s;
  return cfg;
}

ee::plugin_options restart_opts(ee::restart_policy p) {
  ee::plugin_options opts;
  opts.restart = p;
  opts.backoff.initial = 1ms;
  opts.backoff.max = 5ms;
  opts.backoff.jitter = 0;
  return opts;
}

/// Records its starts; on "fail:<name>" throws, on "quit:<name>" stops
/// normally; stays otherwise.
class member : public ee::plugin {
public:
  member(std::string name, std::shared_ptr<journal> j)
      : name_(std::move(name)), j_(std::move(j)) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"fail:" + name_}, ee::event_type{"quit:" + name_}};
  }

  void on_start(ee::context& ctx) override {
    j_->add("start " + name_ + " " + std::to_string(ctx.restarts()));
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (ev.starts_with("fail:")) {
      j_->add("fail " + name_);
      throw std::runtime_error("told to fail");
    }
    ctx.stop();
  }

  void on_stop(ee::context&) override { j_->add("stop " + name_); }

private:
  std::string name_;
  std::shared_ptr<journal> j_;
};

/// Publishes `events` once the journal shows `wait_for` (polled by timer),
/// then publishes `after` when the journal shows `then_wait`.
class director : public ee::plugin {
public:
  director(std::shared_ptr<journal> j, std::string wait_for,
           std::vector<std::string> events, std::string then_wait,
           std::vector<std::string> after)
      : j_(std::move(j)), wait_for_(std::move(wait_for)),
        events_(std::move(events)), then_wait_(std::move(then_wait)),
        after_(std::move(after)) {
    // nop
  }

  std::string name() const override { return "director"; }

  std::vector<ee::event_type> subscriptions() const override { return {}; }

  void on_start(ee::context& ctx) override { poll(ctx); }

  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  void poll(ee::context& ctx) {
    if (phase_ == 0 && j_->count(wait_for_) > 0) {
      for (auto& e : events_)
        ctx.publish(e);
      phase_ = 1;
    }
    if (phase_ == 1 && (then_wait_.empty() || j_->count(then_wait_) > 0)) {
      for (auto& e : after_)
        ctx.publish(e);
      ctx.stop();
      return;
    }
    ctx.schedule(2ms, [this](ee::context& c) { poll(c); });
  }

  std::shared_ptr<journal> j_;
  std::string wait_for_;
  std::vector<std::string> events_;
  std::string then_wait_;
  std::vector<std::string> after_;
  int phase_ = 0;
};

ee::plugin_factory member_factory(std::string name,
                                  std::shared_ptr<journal> j) {
  return [name, j] { return std::make_unique<member>(name, j); };
}

// Runs an app of members a, b, c (policy `p`, strategy `s`) and a director
// that waits until all three started, then makes `b` fail and, later, sends
// `after`. The test stops the app once the journal shows `expect` (or after
// 20 s).
struct strategy_run {
  std::shared_ptr<journal> j = std::make_shared<journal>();
  ee::error err;
};

strategy_run run_strategy(ee::restart_strategy strategy,
                          ee::restart_policy policy, const std::string& expect,
                          std::vector<std::string> after = {},
                          const std::string& expect_after = "") {
  strategy_run r;
  auto cfg = local_config();
  cfg.strategy = strategy;
  ee::app app{cfg};
  for (auto n : {"a", "b", "c"})
    app.register_plugin(member_factory(n, r.j), restart_opts(policy));
  app.emplace_plugin<director>(r.j, "start c 0",
                               std::vector<std::string>{"fail:b"}, expect,
                               std::move(after));
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  auto wait_for = [&](const std::string& line) {
    EXPECT_TRUE(eventually([&] { return r.j->count(line) > 0; })) << line;
  };
  wait_for(expect);
  if (!expect_after.empty())
    wait_for(expect_after);
  // That no other plugin restarts is shown where it is decided, without
  // threads: the strategy tests of SupervisorTest (supervisor_test.cpp).
  // Here the wiring: the expected restarts happen, in the real engine.
  app.stop();
  if (fut.wait_for(20s) != std::future_status::ready)
    std::abort();
  r.err = fut.get();
  return r;
}

} // namespace

// -- policies
// -------------------------------------------------------------------

TEST(Supervision, TransientRestartsAfterFailureOnly) {
  auto r = run_strategy(ee::restart_strategy::one_for_one,
                        ee::restart_policy::transient, "start b 1", {"quit:a"},
                        "stop a");
  EXPECT_FALSE(r.err) << r.err.to_string();
  EXPECT_EQ(r.j->count("start b 1"), 1u);
  // A normal stop ("quit") of a transient plugin is final.
  EXPECT_EQ(r.j->count("stop a"), 1u);
  EXPECT_EQ(r.j->count("start a 1"), 0u);
  EXPECT_EQ(r.j->count("start c 1"), 0u);
}

TEST(Supervision, TemporaryIsNeverRestarted) {
  auto r = run_strategy(ee::restart_strategy::one_for_one,
                        ee::restart_policy::temporary, "fail b");
  ASSERT_TRUE(r.err);
  EXPECT_EQ(r.err.code(), ee::ec::plugin_failed);
  EXPECT_NE(r.err.message().find("plugin 'b' failed"), std::string::npos);
  EXPECT_NE(r.err.message().find("told to fail"), std::string::npos);
  EXPECT_EQ(r.j->count("start b 1"), 0u);
}

class stops_once : public ee::plugin {
public:
  explicit stops_once(std::shared_ptr<journal> j) : j_(std::move(j)) {
    // nop
  }
  std::string name() const override { return "stops_once"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_start(ee::context& ctx) override {
    j_->add("start " + std::to_string(ctx.restarts()));
    if (ctx.restarts() == 0)
      ctx.stop(); // a normal exit
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  std::shared_ptr<journal> j_;
};

TEST(Supervision, PermanentRestartsEvenAfterNormalExit) {
  auto j = std::make_shared<journal>();
  ee::app app{local_config()};
  app.register_plugin([j] { return std::make_unique<stops_once>(j); },
                      restart_opts(ee::restart_policy::permanent));
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  EXPECT_TRUE(eventually([&] { return j->count("start 1") > 0; }));
  app.stop();
  if (fut.wait_for(20s) != std::future_status::ready)
    std::abort();
  auto err = fut.get();
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(j->count("start 1"), 1u);
}

// -- strategies
// -----------------------------------------------------------------

TEST(Supervision, OneForOneRestartsOnlyTheFailedPlugin) {
  auto r = run_strategy(ee::restart_strategy::one_for_one,
                        ee::restart_policy::permanent, "start b 1");
  EXPECT_FALSE(r.err) << r.err.to_string();
  EXPECT_EQ(r.j->count("start a 1"), 0u);
  EXPECT_EQ(r.j->count("start b 1"), 1u);
  EXPECT_EQ(r.j->count("start c 1"), 0u);
}

TEST(Supervision, OneForAllRestartsEveryPlugin) {
  auto r =
      run_strategy(ee::restart_strategy::one_for_all,
                   ee::restart_policy::permanent, "start b 1", {}, "start a 1");
  EXPECT_FALSE(r.err) << r.err.to_string();
  for (auto n : {"a", "b", "c"})
    EXPECT_EQ(r.j->count(std::string{"start "} + n + " 1"), 1u) << n;
  // a and c were stopped for the restart (on_stop ran), then at shutdown.
  EXPECT_EQ(r.j->count("stop a"), 2u);
  EXPECT_EQ(r.j->count("stop c"), 2u);
}

TEST(Supervision, RestForOneRestartsLaterPlugins) {
  auto r =
      run_strategy(ee::restart_strategy::rest_for_one,
                   ee::restart_policy::permanent, "start b 1", {}, "start c 1");
  EXPECT_FALSE(r.err) << r.err.to_string();
  EXPECT_EQ(r.j->count("start a 1"), 0u);
  EXPECT_EQ(r.j->count("stop a"), 1u); // only at shutdown
  EXPECT_EQ(r.j->count("start b 1"), 1u);
  EXPECT_EQ(r.j->count("start c 1"), 1u);
}

// -- intensity and back-off
// --------------------------------------------------------

class always_fails : public ee::plugin {
public:
  explicit always_fails(std::shared_ptr<journal> j) : j_(std::move(j)) {
    // nop
  }
  std::string name() const override { return "always_fails"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_start(ee::context& ctx) override {
    j_->add(
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now().time_since_epoch())
                           .count()));
    throw std::invalid_argument("bad config #" +
                                std::to_string(ctx.restarts()));
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  std::shared_ptr<journal> j_;
};

TEST(Supervision, IntensityExceededEscalates) {
  auto j = std::make_shared<journal>();
  auto cfg = local_config();
  cfg.max_restarts = 3;
  cfg.restart_period = 10s;
  ee::app app{cfg};
  auto out = std::make_shared<collector>();
  app.register_plugin([j] { return std::make_unique<always_fails>(j); },
                      restart_opts(ee::restart_policy::permanent));
  app.register_plugin([j] { return std::make_unique<member>("bystander", j); },
                      restart_opts(ee::restart_policy::permanent));
  auto err = run_bounded(app, 30s);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::restart_limit);
  EXPECT_NE(err.message().find("always_fails"), std::string::npos);
  EXPECT_NE(err.message().find("std::invalid_argument: bad config #3"),
            std::string::npos);
  EXPECT_NE(err.message().find("limit: 3"), std::string::npos);
  EXPECT_EQ(j->lines().size(), 4u + 2u); // 4 attempts + bystander start/stop
  EXPECT_EQ(j->count("stop bystander"), 1u);
}

TEST(Supervision, BackoffDelaysGrowAndCap) {
  auto j = std::make_shared<journal>();
  auto cfg = local_config();
  cfg.max_restarts = 5;
  ee::app app{cfg};
  auto opts = restart_opts(ee::restart_policy::permanent);
  opts.backoff.initial = 20ms;
  opts.backoff.max = 80ms;
  opts.backoff.factor = 2;
  app.register_plugin([j] { return std::make_unique<always_fails>(j); }, opts);
  auto err = run_bounded(app, 30s);
  ASSERT_TRUE(err);
  auto lines = j->lines();
  ASSERT_EQ(lines.size(), 6u);
  std::vector<long long> gaps;
  for (std::size_t i = 1; i < lines.size(); ++i)
    gaps.push_back(std::stoll(lines[i]) - std::stoll(lines[i - 1]));
  // Delays 20, 40, 80, 80, 80 ms: never shorter (the scheduler may add).
  std::vector<long long> want{20, 40, 80, 80, 80};
  for (std::size_t i = 0; i < want.size(); ++i)
    EXPECT_GE(gaps[i], want[i]) << "restart " << i + 1;
  // Capped: the last gaps did not keep doubling (160, 320 ms).
  EXPECT_LT(gaps[4], 160);
}

// -- no event lost across restarts
// -------------------------------------------------

constexpr int total_events = 10000;
constexpr int poison_every = 1000;

std::array<std::atomic<int>, total_events> handled_count;
std::atomic<int> handled_total{0};

class flaky_consumer : public ee::plugin {
public:
  std::string name() const override { return "flaky"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"N:"}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto i = std::stoi(std::string{ev.after(2)});
    if (i % poison_every == poison_every / 2)
      throw std::runtime_error("poison " + std::to_string(i));
    ++handled_count[static_cast<std::size_t>(i)];
    if (++handled_total == total_events - total_events / poison_every)
      ctx.stop();
  }
};

class number_producer : public ee::blocking_plugin {
public:
  std::string name() const override { return "numbers"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    for (int i = 0; i < total_events; ++i)
      pub.publish("N:" + std::to_string(i));
  }
};

TEST(Supervision, EveryEventHandledOnceAndPoisonInDeadLetters) {
  for (auto& c : handled_count)
    c = 0;
  handled_total = 0;
  auto dead = std::make_shared<collector>();
  auto cfg = local_config();
  cfg.max_restarts = 100;
  cfg.queue_capacity = 500; // the producer is held back meanwhile
  ee::app app{cfg};
  app.register_plugin([] { return std::make_unique<flaky_consumer>(); },
                      restart_opts(ee::restart_policy::transient));
  app.emplace_plugin<number_producer>();
  // Collects the dead letters; stops after the last one.
  struct watcher : ee::plugin {
    std::shared_ptr<collector> out;
    explicit watcher(std::shared_ptr<collector> o) : out(std::move(o)) {}
    std::string name() const override { return "watcher"; }
    std::vector<ee::event_type> subscriptions() const override {
      return {ee::event_type{ee::dead_letter_prefix}};
    }
    void on_event(ee::context& ctx, const ee::event& ev) override {
      out->add(ev);
      if (out->size() == total_events / poison_every)
        ctx.stop();
    }
  };
  app.emplace_plugin<watcher>(dead);
  auto err = run_bounded(app, 60s);
  ASSERT_FALSE(err) << err.to_string();
  for (int i = 0; i < total_events; ++i) {
    bool poison = i % poison_every == poison_every / 2;
    EXPECT_EQ(handled_count[static_cast<std::size_t>(i)].load(), poison ? 0 : 1)
        << "event " << i;
  }
  std::set<std::string> want;
  for (int i = poison_every / 2; i < total_events; i += poison_every)
    want.insert(std::string{ee::dead_letter_prefix} +
                "flaky\nN:" + std::to_string(i));
  auto got = dead->strings();
  EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), want);
  auto st = app.stats();
  EXPECT_EQ(st.plugins.at("flaky").restarts, 10u);
  EXPECT_EQ(st.plugins.at("flaky").dead_letters, 10u);
  EXPECT_LE(st.plugins.at("flaky").peak_queue, 500u);
}

// -- lifecycle events
// --------------------------------------------------------------

TEST(Supervision, LifecycleEventsAreObservable) {
  auto j = std::make_shared<journal>();
  auto seen = std::make_shared<collector>();
  ee::app app{local_config()};
  struct observer : ee::plugin {
    std::shared_ptr<collector> out;
    explicit observer(std::shared_ptr<collector> o) : out(std::move(o)) {}
    std::string name() const override { return "observer"; }
    std::vector<ee::event_type> subscriptions() const override {
      return {ee::event_type{"ee.lifecycle."}};
    }
    void on_event(ee::context& ctx, const ee::event& ev) override {
      out->add(ev);
      if (ev.starts_with(std::string{ee::lifecycle::stopped} + "m"))
        ctx.stop();
    }
  };
  app.emplace_plugin<observer>(seen);
  app.register_plugin(member_factory("m", j),
                      restart_opts(ee::restart_policy::transient));
  app.emplace_plugin<director>(j, "start m 0",
                               std::vector<std::string>{"fail:m"}, "start m 1",
                               std::vector<std::string>{"quit:m"});
  auto err = run_bounded(app, 30s);
  ASSERT_FALSE(err) << err.to_string();
  std::vector<std::string> mine;
  for (auto& line : seen->strings())
    if (line.find(":m") != std::string::npos)
      mine.push_back(line.substr(0, line.find('\n')));
  EXPECT_EQ(mine, (std::vector<std::string>{
                      "ee.lifecycle.started:m", "ee.lifecycle.failed:m",
                      "ee.lifecycle.restarted:m", "ee.lifecycle.started:m",
                      "ee.lifecycle.stopped:m"}));
}

// -- graceful shutdown
// ----------------------------------------------------------------

class endless_producer : public ee::blocking_plugin {
public:
  std::string name() const override { return "endless"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    std::string payload(200, 'x');
    while (!sub.stopping())
      pub.publish("Load" + payload); // throws stop_requested when stopped
  }
};

int thread_count() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

TEST(Supervision, StopUnderLoadStopsInReverseOrderAndLeavesNothing) {
  auto j = std::make_shared<journal>();
  auto before = thread_count();
  auto cfg = local_config();
  cfg.enable_tcp = true;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  int pub_port = -1;
  {
    ee::app app{cfg};
    app.register_plugin(member_factory("first", j));
    app.emplace_plugin<endless_producer>();
    struct sink : ee::plugin {
      std::string name() const override { return "sink"; }
      std::vector<ee::event_type> subscriptions() const override {
        return {ee::event_type{"Load"}};
      }
      void on_event(ee::context&, const ee::event&) override {}
    };
    app.emplace_plugin<sink>();
    app.register_plugin(member_factory("last", j));
    auto fut = std::async(std::launch::async, [&] { return app.run(); });
    ASSERT_TRUE(app.wait_started(10s));
    pub_port = app.publish_port();
    EXPECT_TRUE(eventually([&] { return app.stats().routed > 0; }));
    app.stop();
    ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
    auto err = fut.get();
    EXPECT_FALSE(err) << err.to_string();
  }
  // Reverse registration order: last before first.
  auto lines = j->lines();
  auto pos = [&](const std::string& s) {
    return std::find(lines.begin(), lines.end(), s) - lines.begin();
  };
  EXPECT_LT(pos("stop last"), pos("stop first"));
  EXPECT_LT(pos("stop first"), static_cast<long>(lines.size()));
  // No thread and no port left behind.
  EXPECT_EQ(thread_count(), before);
  zmq::context_t ctx;
  zmq::socket_t probe{ctx, zmq::socket_type::sub};
  probe.set(zmq::sockopt::linger, 0);
  EXPECT_NO_THROW(probe.bind("tcp://127.0.0.1:" + std::to_string(pub_port)));
}

// -- regressions found in review
// ------------------------------------------------------

namespace {

std::atomic<int> flaky_made{0};
std::atomic<bool> flaky_started{false};

class fails_first_subscribe : public ee::plugin {
public:
  explicit fails_first_subscribe(int n) : n_(n) {
    // nop
  }
  std::string name() const override { return "fails_first_subscribe"; }
  std::vector<ee::event_type> subscriptions() const override {
    if (n_ == 1)
      throw std::runtime_error("first instance fails");
    return {ee::event_type{"A"}};
  }
  void on_start(ee::context& ctx) override {
    flaky_started = true;
    ctx.stop();
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  int n_;
};

} // namespace

TEST(Supervision, BarrierPassesAfterAnExternalSiblingRestartedBeforeIt) {
  flaky_made = 0;
  flaky_started = false;
  auto cfg = local_config();
  cfg.strategy = ee::restart_strategy::one_for_all;
  ee::app app{cfg};
  app.register_plugin(
      [] { return std::make_unique<fails_first_subscribe>(++flaky_made); },
      restart_opts(ee::restart_policy::transient));
  ee::external_plugin_config ext;
  ext.name = "ext";
  ext.subscriptions = {ee::event_type{"B"}};
  ext.options = restart_opts(ee::restart_policy::transient);
  app.register_external_plugin(ext);
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  EXPECT_TRUE(eventually([] { return flaky_started.load(); }))
      << "the barrier never passed";
  EXPECT_EQ(flaky_made.load(), 2);
  app.stop();
  if (fut.wait_for(20s) != std::future_status::ready)
    std::abort();
  (void)fut.get();
}

TEST(Supervision, ZeroPublishWindowIsRejected) {
  auto cfg = local_config();
  cfg.publish_window = 0;
  ee::app app{cfg};
  app.register_plugin(member_factory("m", std::make_shared<journal>()));
  auto err = app.run();
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::invalid_config);
  EXPECT_NE(err.message().find("publish_window"), std::string::npos);
}

namespace {
ee::test::gate quitter_busy;
} // namespace

TEST(Supervision, ShutdownDoesNotWaitForAQueueThatWentAway) {
  quitter_busy.close();
  // The only non-empty queue belongs to a plugin that stops itself during
  // the drain: shutdown goes on at once instead of waiting out the grace.
  struct quitter : ee::plugin {
    std::string name() const override { return "quitter"; }
    std::vector<ee::event_type> subscriptions() const override {
      return {ee::event_type{"E"}};
    }
    void on_event(ee::context& ctx, const ee::event&) override {
      // Still handling its first event when the stop comes: its queue is
      // not empty when it goes away.
      (void)quitter_busy.wait();
      ctx.stop();
    }
  };
  struct burst : ee::blocking_plugin {
    std::string name() const override { return "burst"; }
    std::vector<ee::event_type> subscriptions() const override { return {}; }
    void run(ee::publisher& pub, ee::subscriber&) override {
      for (int i = 0; i < 10; ++i)
        pub.publish("E");
    }
  };
  auto cfg = local_config();
  cfg.shutdown_grace = 30s;
  ee::app app{cfg};
  app.register_plugin(member_factory("idle", std::make_shared<journal>()));
  app.emplace_plugin<quitter>().emplace_plugin<burst>();
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  ASSERT_TRUE(app.wait_started(10s));
  ASSERT_TRUE(eventually([&] {
    auto st = app.stats().plugins;
    return st.count("quitter") && st.at("quitter").routed == 10;
  }));
  app.stop();
  quitter_busy.open();
  // Far below the 30 s grace that a missed drain check would wait out.
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(fut.get());
}

// A blocking plugin stopped (for a sibling's restart) while it waits inside
// publish() has not finished the event it was handling: the next instance
// gets that event again.
namespace {

ee::test::gate sink_release;
ee::test::gate never;

std::atomic<int> sinks_made{0};

// The first instance never reads (its queue stays full); later ones drain.
class held_sink : public ee::blocking_plugin {
public:
  held_sink() : first_(++sinks_made == 1) {
    // nop
  }
  std::string name() const override { return "held_sink"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Out"}};
  }
  void run(ee::publisher&, ee::subscriber& sub) override {
    auto stopping = [&] { return sub.stopping(); };
    (void)(first_ ? never : sink_release).wait_unless(stopping, 1h);
    for (;;)
      sub.recv();
  }

private:
  bool first_;
};

class relay_b : public ee::blocking_plugin {
public:
  explicit relay_b(std::shared_ptr<journal> j) : j_(std::move(j)) {
    // nop
  }
  std::string name() const override { return "relay_b"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"W"}};
  }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (;;) {
      auto ev = sub.recv();
      j_->add("B got " + ev.str());
      // Two events per event: with a publish window of 1 and a full sink,
      // the second one waits for credit inside publish().
      pub.publish(ee::event::concat("Out", ev.bytes()));
      pub.publish(ee::event::concat("Out", ev.bytes()));
    }
  }

private:
  std::shared_ptr<journal> j_;
};

class fail_on_demand : public ee::plugin {
public:
  std::string name() const override { return "fail_on_demand"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Fail"}};
  }
  void on_event(ee::context&, const ee::event&) override {
    throw std::runtime_error("asked to fail");
  }
};

} // namespace

TEST(Supervision, BlockingPluginStoppedInsidePublishGetsItsEventAgain) {
  sink_release.close();
  sinks_made = 0;
  auto j = std::make_shared<journal>();
  auto cfg = local_config();
  cfg.strategy = ee::restart_strategy::one_for_all;
  cfg.publish_window = 1;
  cfg.queue_capacity = 1;
  ee::app app{cfg};
  auto opts = restart_opts(ee::restart_policy::permanent);
  app.register_plugin([] { return std::make_unique<held_sink>(); }, opts);
  auto relay_opts = opts;
  relay_opts.queue_capacity = 10; // W:0 and W:1 both reach it at once
  app.register_plugin([j] { return std::make_unique<relay_b>(j); }, relay_opts);
  app.register_plugin([] { return std::make_unique<fail_on_demand>(); }, opts);
  // Relaying W:0 fills the sink (capacity 1) and parks the second copy;
  // relaying W:1 the relay waits for credit inside publish(); then a
  // sibling fails.
  struct feeder : ee::plugin {
    std::shared_ptr<journal> j;
    int phase = 0;
    explicit feeder(std::shared_ptr<journal> jj) : j(std::move(jj)) {}
    std::string name() const override { return "feeder"; }
    std::vector<ee::event_type> subscriptions() const override { return {}; }
    void on_start(ee::context& ctx) override { step(ctx); }
    void on_event(ee::context&, const ee::event&) override {}
    void step(ee::context& ctx) {
      if (phase == 0) {
        ctx.publish("W:0"); // both at once: both reach the relay
        ctx.publish("W:1");
        phase = 2;
      } else if (j->count("B got W:1") > 0) {
        // The relay wrote "B got W:1" just before its publish() that waits
        // for credit; nothing public shows a blocking plugin waiting inside
        // publish() (the engine sees only its parked event), so give its
        // thread a moment to get there.
        std::this_thread::sleep_for(20ms);
        ctx.publish("Fail");
        sink_release.open(); // the sink's next instance drains its queue
        ctx.stop();
        return;
      }
      ctx.schedule(2ms, [this](ee::context& c) { step(c); });
    }
  };
  app.emplace_plugin<feeder>(j);
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  EXPECT_TRUE(eventually([&] { return j->count("B got W:1") >= 2; }));
  sink_release.open();
  app.stop();
  if (fut.wait_for(30s) != std::future_status::ready)
    std::abort();
  (void)fut.get();
  // The first instance got W:1 and was stopped while relaying it; the next
  // instance got it again. W:0 was finished: not repeated.
  EXPECT_EQ(j->count("B got W:1"), 2u) << ::testing::PrintToString(j->lines());
  EXPECT_EQ(j->count("B got W:0"), 1u);
}
