// The engine actor with CAF's deterministic test coordinator: messages in,
// messages out, one thread, no waiting. Every actor (the engine, the plugin
// hosts) runs only when the test runs the scheduler; timers fire only when
// the test triggers them.

#include "actors/engine.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <gtest/gtest.h>

#include "actors/messages.hpp"

using namespace ee;

namespace {

/// What the test's plugins saw, shared with the test.
struct journal {
  std::vector<std::string> lines;
  void add(const std::string& who, const std::string& what) {
    lines.push_back(who + ": " + what);
  }
  bool has(const std::string& line) const {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  }
};

/// Publishes `events` when it starts; records what it receives; throws on
/// events that start with "boom".
class test_plugin : public plugin {
public:
  test_plugin(std::string name, std::vector<event_type> subs,
              std::vector<std::string> events, std::shared_ptr<journal> j)
      : name_(std::move(name)), subs_(std::move(subs)),
        events_(std::move(events)), journal_(std::move(j)) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<event_type> subscriptions() const override { return subs_; }

  void on_start(context& ctx) override {
    journal_->add(name_, "start " + std::to_string(ctx.restarts()));
    for (auto& ev : events_)
      ctx.publish(ev);
  }

  void on_event(context&, const event& ev) override {
    if (ev.str().rfind("boom", 0) == 0)
      throw std::runtime_error("told to fail by " + ev.str());
    journal_->add(name_, "got " + ev.str());
  }

  void on_stop(context&) override { journal_->add(name_, "stop"); }

private:
  std::string name_;
  std::vector<event_type> subs_;
  std::vector<std::string> events_;
  std::shared_ptr<journal> journal_;
};

caf::actor_system_config& testing_config(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("testing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

class engine_test : public ::testing::Test {
protected:
  engine_test()
      : sys_(testing_config(cfg_)),
        sched_(
            dynamic_cast<caf::scheduler::test_coordinator&>(sys_.scheduler())) {
    params_->threads = std::make_shared<blocking_threads>();
    params_->live_hosts = std::make_shared<std::atomic<int>>(0);
    params_->on_done = [this](const error& err, const engine_stats& st) {
      result_ = err;
      final_stats_ = st;
    };
  }

  ~engine_test() override {
    if (engine_)
      caf::anon_send_exit(engine_, caf::exit_reason::kill);
    sched_.run();
    params_->threads->join_all();
  }

  /// Adds an actor plugin built by a factory (so it can be restarted).
  void add(std::string name, std::vector<event_type> subs,
           std::vector<std::string> events,
           restart_policy restart = restart_policy::temporary) {
    plugin_spec spec;
    spec.kind = plugin_kind::actor;
    spec.name = name;
    spec.options.restart = restart;
    spec.options.backoff.jitter = 0.0; // restarts after 10 ms
    spec.factory = [=, j = journal_]() -> std::unique_ptr<plugin_base> {
      return std::make_unique<test_plugin>(name, subs, events, j);
    };
    params_->plugins.push_back(std::move(spec));
  }

  void start() {
    engine_ = spawn_engine(sys_, params_);
    sched_.run();
  }

  /// Runs every message, then fires the timers that are due after `dt`,
  /// until nothing is left to do.
  void run_for(std::chrono::milliseconds dt) {
    sched_.run();
    sched_.advance_time(dt);
    sched_.run();
  }

  engine_stats stats() {
    auto req = std::make_shared<stats_request>();
    caf::anon_send(engine_, stats_atom::value, req);
    sched_.run();
    auto st = req->wait(std::chrono::milliseconds{0});
    EXPECT_TRUE(st.has_value());
    return st ? *st : engine_stats{};
  }

  caf::actor_system_config cfg_;
  caf::actor_system sys_;
  caf::scheduler::test_coordinator& sched_;
  std::shared_ptr<engine_params> params_ = std::make_shared<engine_params>();
  std::shared_ptr<journal> journal_ = std::make_shared<journal>();
  engine_handle engine_;
  std::optional<error> result_;
  engine_stats final_stats_;
};

} // namespace

TEST_F(engine_test, TheBarrierPassesAndEventsReachTheirSubscribers) {
  add("sink", {event_type{"T"}}, {});
  add("source", {}, {"T1", "T2", "U1"});
  start();
  EXPECT_TRUE(journal_->has("sink: start 0"));
  EXPECT_TRUE(journal_->has("source: start 0"));
  EXPECT_TRUE(journal_->has("sink: got T1"));
  EXPECT_TRUE(journal_->has("sink: got T2"));
  EXPECT_FALSE(journal_->has("sink: got U1"));
  auto st = stats();
  EXPECT_EQ(st.plugins.at("source").published, 3u);
  EXPECT_EQ(st.plugins.at("sink").handled, 2u);
  EXPECT_EQ(st.plugins.at("sink").queued, 0u);
  EXPECT_FALSE(result_); // still running
}

TEST_F(engine_test, EventsPublishedBeforeTheBarrierWaitForIt) {
  // The source starts (and publishes) only once every plugin is ready, so
  // the sink, registered after it, still gets everything.
  add("source", {}, {"T1"});
  add("sink", {event_type{"T"}}, {});
  start();
  ASSERT_TRUE(journal_->has("sink: got T1"));
  auto& lines = journal_->lines;
  auto start_at = std::find(lines.begin(), lines.end(), "sink: start 0");
  auto got_at = std::find(lines.begin(), lines.end(), "sink: got T1");
  EXPECT_LT(start_at, got_at);
}

TEST_F(engine_test, AFailingPluginIsRestartedAndItsPoisonGoesToDeadLetters) {
  add("worker", {event_type{"boom"}, event_type{"ok"}}, {},
      restart_policy::transient);
  add("source", {}, {"boom1", "ok1"});
  start();
  run_for(std::chrono::milliseconds{50}); // the restart's backoff
  EXPECT_TRUE(journal_->has("worker: start 1"));
  EXPECT_TRUE(journal_->has("worker: got ok1"));
  auto st = stats();
  auto& w = st.plugins.at("worker");
  EXPECT_EQ(w.failures, 1u);
  EXPECT_EQ(w.restarts, 1u);
  EXPECT_EQ(w.dead_letters, 1u); // boom1, the event it failed on
  EXPECT_EQ(w.handled, 1u);
  EXPECT_EQ(w.routed, w.handled + w.dead_letters + w.dropped + w.queued);
}

TEST_F(engine_test, StopEndsEveryPluginAndReportsTheResult) {
  add("sink", {event_type{"T"}}, {});
  start();
  caf::anon_send(engine_, stop_atom::value);
  run_for(std::chrono::milliseconds{10});
  EXPECT_TRUE(journal_->has("sink: stop"));
  ASSERT_TRUE(result_.has_value());
  EXPECT_FALSE(*result_) << result_->to_string();
  EXPECT_EQ(final_stats_.plugins.count("sink"), 1u);
}
