// The supervisor's rules with time as an argument: the barrier (also across
// restarts), every restart policy x strategy x outcome, restart intensity
// at its boundaries, escalation texts and back-off. Deterministic: no
// threads, no clock. The shutdown is in supervisor_shutdown_test.cpp.

#include "src/core/supervisor.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/supervisor_fixture.hpp"

using namespace ee;
using namespace ee::test;
using namespace std::chrono_literals;

// -- the barrier
// ----------------------------------------------------------------

TEST_F(SupervisorTest, BarrierWaitsForEveryPluginThenRunsThemAll) {
  make({internal("a"), internal("b"), external("x")});
  sup->start(t);
  EXPECT_EQ(fx.take(), (lines{"spawn 0#1", "spawn 1#1"}));
  sup->ready(child_id{1}, 1, t);
  EXPECT_FALSE(sup->barrier_passed());
  sup->ready(child_id{0}, 2, t); // a stale incarnation changes nothing
  EXPECT_FALSE(sup->barrier_passed());
  sup->ready(child_id{0}, 1, t);
  EXPECT_TRUE(sup->barrier_passed());
  EXPECT_EQ(fx.take(), (lines{"open", "run 0", "ee.lifecycle.started:0",
                              "run 1", "ee.lifecycle.started:1", "run 2",
                              "ee.lifecycle.started:2"}));
}

TEST_F(SupervisorTest, BarrierCanWaitForAnExternalProcessFirstRequest) {
  make({internal("a"), external("x", true, true)});
  sup->start(t);
  EXPECT_EQ(fx.take(), (lines{"spawn 0#1", "launch 1"}));
  sup->ready(child_id{0}, 1, t);
  EXPECT_FALSE(sup->barrier_passed());
  sup->first_request(child_id{1}, t);
  EXPECT_TRUE(sup->barrier_passed());
}

TEST_F(SupervisorTest, BarrierWaitsForAPluginRestartedBeforeItPassed) {
  make({internal("a", restart_policy::transient), internal("b")});
  sup->start(t);
  sup->ready(child_id{1}, 1, t);
  sup->exited(child_id{0}, 1, true, "boom in subscriptions",
              t); // fails before ready
  EXPECT_FALSE(sup->barrier_passed());
  EXPECT_EQ(sup->state(child_id{0}), child_state::restarting);
  fx.take();
  fire_restart(child_id{0});
  EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.restarted:0 1", "spawn 0#2"}));
  EXPECT_FALSE(sup->barrier_passed());
  sup->ready(child_id{0}, 2, t);
  EXPECT_TRUE(sup->barrier_passed());
}

TEST_F(SupervisorTest, BarrierAcrossAnExternalRestartNeedsANewFirstRequest) {
  make({internal("a"), external("x", true, true, restart_policy::permanent)});
  sup->start(t);
  sup->first_request(child_id{1}, t);
  sup->process_exited(child_id{1}, false, "killed by signal 9", t);
  fire_restart(child_id{1});
  sup->ready(child_id{0}, 1, t);
  EXPECT_FALSE(sup->barrier_passed()); // the new process has not asked yet
  sup->first_request(child_id{1}, t);
  EXPECT_TRUE(sup->barrier_passed());
}

TEST_F(SupervisorTest, ManyPluginsPassTheBarrierInLinearTime) {
  std::vector<child_spec> kids;
  for (int i = 0; i < 100000; ++i)
    kids.push_back(internal("p" + std::to_string(i)));
  make(std::move(kids));
  sup->start(t);
  for (auto i : sup->child_ids())
    sup->ready(i, 1, t);
  EXPECT_TRUE(sup->barrier_passed());
}

TEST_F(SupervisorTest, PluginsReadyAtSpawnPassTheBarrierWithoutAReadyMessage) {
  fx.ready_at_spawn = {child_id{0}, child_id{1}};
  make({internal("a"), internal("b"), internal("c")});
  sup->start(t);
  EXPECT_FALSE(sup->barrier_passed());
  sup->ready(child_id{2}, 1, t);
  EXPECT_TRUE(sup->barrier_passed());
  auto log = fx.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "run 0"), 1);
}

TEST_F(SupervisorTest, AFailureWhileStartingFollowsTheRestartPolicy) {
  fx.failing_starts = {child_id{0}};
  make({internal("a", restart_policy::transient), internal("b")});
  sup->start(t);
  EXPECT_EQ(sup->state(child_id{0}), child_state::restarting);
  fx.failing_starts.clear();
  fx.ready_at_spawn = {child_id{0}};
  fire_restart(child_id{0});
  EXPECT_EQ(sup->state(child_id{0}), child_state::ready);
  sup->ready(child_id{1}, 1, t);
  EXPECT_TRUE(sup->barrier_passed());
  EXPECT_EQ(sup->state(child_id{0}), child_state::running);
}

// -- policies x outcomes
// ----------------------------------------------------------

TEST_F(SupervisorTest, EveryPolicyAndOutcome) {
  struct row {
    restart_policy policy;
    bool abnormal;
    bool restarted;
    child_state after;
  };
  const row table[] = {
      {restart_policy::permanent, false, true, child_state::restarting},
      {restart_policy::permanent, true, true, child_state::restarting},
      {restart_policy::transient, false, false, child_state::finished},
      {restart_policy::transient, true, true, child_state::restarting},
      {restart_policy::temporary, false, false, child_state::finished},
      {restart_policy::temporary, true, false, child_state::failed},
  };
  for (auto& r : table) {
    fx = recorder{};
    make({internal("a", r.policy), internal("b")});
    start_all();
    sup->exited(child_id{0}, 1, r.abnormal, "boom", t);
    EXPECT_EQ(sup->state(child_id{0}), r.after)
        << "policy " << static_cast<int>(r.policy) << " abnormal "
        << r.abnormal;
    EXPECT_EQ(fx.restart_timer(child_id{0}).has_value(), r.restarted);
    auto log = fx.take();
    EXPECT_EQ(log.front(), r.abnormal ? "ee.lifecycle.failed:0 boom"
                                      : "ee.lifecycle.stopped:0");
    EXPECT_EQ(sup->failures(child_id{0}), r.abnormal ? 1u : 0u);
    if (r.restarted) {
      fire_restart(child_id{0});
      EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.restarted:0 1", "spawn 0#2"}));
      sup->ready(child_id{0}, 2, t);
      EXPECT_EQ(fx.take(), (lines{"run 0", "ee.lifecycle.started:0"}));
      EXPECT_EQ(sup->restarts(child_id{0}), 1u);
    }
  }
}

TEST_F(SupervisorTest, AFailedFactoryFailsThePluginForGood) {
  make({internal("a", restart_policy::permanent), internal("b")});
  start_all();
  fx.failing_spawns.insert(child_id{0});
  sup->exited(child_id{0}, 1, true, "boom", t);
  fire_restart(child_id{0});
  EXPECT_EQ(sup->state(child_id{0}), child_state::failed);
  sup->exited(child_id{1}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_EQ(fx.result->code(), ec::plugin_failed);
  EXPECT_NE(fx.result->message().find("factory threw"), std::string::npos);
}

// -- strategies
// -------------------------------------------------------------------

TEST_F(SupervisorTest, OneForOneRestartsOnlyTheFailedPlugin) {
  make({internal("a", restart_policy::permanent),
        internal("b", restart_policy::permanent),
        internal("c", restart_policy::permanent)});
  start_all();
  sup->exited(child_id{1}, 1, true, "boom", t);
  auto log = fx.take();
  EXPECT_EQ(std::count(log.begin(), log.end(), "stop 0"), 0);
  EXPECT_EQ(std::count(log.begin(), log.end(), "stop 2"), 0);
  EXPECT_EQ(sup->state(child_id{0}), child_state::running);
}

TEST_F(SupervisorTest, OneForAllStopsEverySiblingButTemporaryOnes) {
  make({internal("a", restart_policy::permanent),
        internal("b", restart_policy::transient), internal("t"),
        external("x", false, true, restart_policy::permanent)},
       restart_strategy::one_for_all);
  start_all();
  sup->exited(child_id{1}, 1, true, "boom", t);
  auto log = fx.take();
  EXPECT_NE(std::find(log.begin(), log.end(), "stop 0"), log.end());
  EXPECT_EQ(std::find(log.begin(), log.end(), "stop 2"), log.end());
  EXPECT_EQ(sup->state(child_id{0}), child_state::stopping_for_restart);
  EXPECT_EQ(sup->state(child_id{2}),
            child_state::running); // temporary: left alone
  EXPECT_EQ(sup->state(child_id{3}),
            child_state::restarting); // its process restarts
  // The stopped sibling restarts at once when it is down.
  sup->exited(child_id{0}, 1, false, "", t);
  EXPECT_EQ(sup->state(child_id{0}), child_state::restarting);
  EXPECT_EQ(fx.restart_timer(child_id{0})->delay, 0ms);
  fire_restart(child_id{0});
  fire_restart(child_id{3});
  fire_restart(child_id{1});
  auto after = fx.take();
  EXPECT_NE(std::find(after.begin(), after.end(), "spawn 0#2"), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), "spawn 1#2"), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), "launch 3"), after.end());
}

TEST_F(SupervisorTest, RestForOneStopsOnlyLaterPlugins) {
  make({internal("a", restart_policy::permanent),
        internal("b", restart_policy::permanent),
        internal("c", restart_policy::permanent)},
       restart_strategy::rest_for_one);
  start_all();
  sup->exited(child_id{1}, 1, true, "boom", t);
  EXPECT_EQ(sup->state(child_id{0}), child_state::running);
  EXPECT_EQ(sup->state(child_id{2}), child_state::stopping_for_restart);
}

// -- restart intensity
// --------------------------------------------------------------

TEST_F(SupervisorTest, IntensityAllowsExactlyMaxRestartsWithinThePeriod) {
  make({internal("a", restart_policy::permanent), internal("b")},
       restart_strategy::one_for_one, 3);
  start_all();
  for (std::uint32_t i = 1; i <= 3; ++i) {
    sup->exited(child_id{0}, i, true, "boom " + std::to_string(i), t);
    ASSERT_EQ(sup->state(child_id{0}), child_state::restarting) << i;
    fire_restart(child_id{0});
    sup->ready(child_id{0}, i + 1, t);
  }
  // The 4th failure within the period needs a 4th restart: escalation.
  sup->exited(child_id{0}, 4, true, "boom 4", t);
  EXPECT_EQ(sup->state(child_id{0}), child_state::failed);
  EXPECT_TRUE(sup->stopping());
  auto log = fx.take();
  EXPECT_NE(
      std::find(log.begin(), log.end(), "ee.lifecycle.escalated:0 boom 4"),
      log.end());
  sup->exited(child_id{1}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_EQ(fx.result->code(), ec::restart_limit);
  EXPECT_EQ(fx.result->message(),
            "plugin 'a' needs a restart beyond the limit: 3 restarts within "
            "1000 ms already (max_restarts: 3); last failure: boom 4");
}

TEST_F(SupervisorTest, IntensityForgetsRestartsOlderThanThePeriod) {
  make({internal("a", restart_policy::permanent), internal("b")},
       restart_strategy::one_for_one, 2);
  start_all();
  for (std::uint32_t i = 1; i <= 6; ++i) {
    sup->exited(child_id{0}, i, true, "boom", t);
    ASSERT_EQ(sup->state(child_id{0}), child_state::restarting)
        << "failure " << i;
    fire_restart(child_id{0});
    sup->ready(child_id{0}, i + 1, t);
    t += 501ms; // two restarts always fit into any 1000 ms
  }
}

TEST_F(SupervisorTest, IntensityCountsARestartExactlyOnePeriodOld) {
  make({internal("a", restart_policy::permanent), internal("b")},
       restart_strategy::one_for_one, 1);
  start_all();
  sup->exited(child_id{0}, 1, true, "boom",
              t); // restart #1 at t0 (delay 10 ms)
  auto t0 = t;
  fire_restart(child_id{0});
  sup->ready(child_id{0}, 2, t);
  t = t0 + 1000ms; // exactly one period later: still within it
  sup->exited(child_id{0}, 2, true, "boom", t);
  EXPECT_EQ(sup->state(child_id{0}), child_state::failed);
}

TEST_F(SupervisorTest, APermanentPluginThatOnlyEndsNormallyEscalatesSayingSo) {
  make({internal("a", restart_policy::permanent), internal("b")},
       restart_strategy::one_for_one, 1);
  start_all();
  sup->exited(child_id{0}, 1, false, "", t);
  fire_restart(child_id{0});
  sup->ready(child_id{0}, 2, t);
  sup->exited(child_id{0}, 2, false, "", t);
  sup->exited(child_id{1}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_EQ(fx.result->message(),
            "plugin 'a' needs a restart beyond the limit: 1 restarts within "
            "1000 ms already (max_restarts: 1); last exit: normal (a "
            "permanent plugin is restarted even after a normal exit)");
}

// -- back-off
// -------------------------------------------------------------------------

TEST_F(SupervisorTest, BackoffDoublesCapsAndStartsOverAfterHealthyRunning) {
  make({internal("a", restart_policy::permanent), internal("b")},
       restart_strategy::one_for_one, 100);
  start_all();
  std::vector<long long> delays;
  for (std::uint32_t i = 1; i <= 6; ++i) {
    sup->exited(child_id{0}, i, true, "boom", t);
    delays.push_back(fx.restart_timer(child_id{0})->delay.count());
    fire_restart(child_id{0});
    sup->ready(child_id{0}, i + 1, t);
    t += 1ms;
  }
  EXPECT_EQ(delays, (std::vector<long long>{10, 20, 40, 80, 80, 80}));
  t += 2000ms; // ran healthy for longer than reset_after
  sup->exited(child_id{0}, 7, true, "boom", t);
  EXPECT_EQ(fx.restart_timer(child_id{0})->delay, 10ms);
}

TEST_F(SupervisorTest, JitterComesFromTheRandomSource) {
  supervisor_config cfg;
  auto spec = internal("a", restart_policy::permanent);
  spec.backoff.jitter = 0.5;
  std::vector<double> draws{0.0, 1.0};
  std::size_t next = 0;
  supervisor s{cfg, {spec, internal("b")}, fx, [&] { return draws[next++]; }};
  s.start(t);
  s.ready(child_id{0}, 1, t);
  s.ready(child_id{1}, 1, t);
  s.exited(child_id{0}, 1, true, "boom", t);
  EXPECT_EQ(fx.restart_timer(child_id{0})->delay, 5ms); // 10 ms - 50 %
  auto tm = *fx.restart_timer(child_id{0});
  s.timer(supervisor_timer::restart, child_id{0}, tm.gen, t + 5ms);
  s.ready(child_id{0}, 2, t);
  s.exited(child_id{0}, 2, true, "boom", t + 6ms);
  EXPECT_EQ(fx.restart_timer(child_id{0})->delay, 30ms); // 20 ms + 50 %
}

TEST_F(SupervisorTest, StaleRestartTimersAreIgnored) {
  make({internal("a", restart_policy::permanent), internal("b")});
  start_all();
  sup->exited(child_id{0}, 1, true, "boom", t);
  auto tm = *fx.restart_timer(child_id{0});
  sup->timer(supervisor_timer::restart, child_id{0}, tm.gen + 1, t + 1s);
  EXPECT_EQ(sup->state(child_id{0}), child_state::restarting);
  sup->request_stop(t);
  sup->timer(supervisor_timer::restart, child_id{0}, tm.gen, t + 1s);
  // Not restarted during shutdown: retired, then b is asked to stop.
  EXPECT_EQ(fx.take(),
            (lines{"ee.lifecycle.failed:0 boom", "retire 0", "stop 1"}));
  EXPECT_EQ(sup->state(child_id{0}), child_state::finished);
}
