// The supervisor's bounded, ordered shutdown with time as an argument:
// drain, reverse order, deadlines, abandoned plugins. Deterministic: no
// threads, no clock.

#include "src/core/supervisor.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tests/unit/supervisor_fixture.hpp"

using namespace ee;
using namespace ee::test;
using namespace std::chrono_literals;

// -- shutdown
// ---------------------------------------------------------------------------

TEST_F(SupervisorTest, ShutdownDrainsThenStopsInReverseOrderOneAtATime) {
  make({internal("a"), internal("b"), external("x"), internal("c")});
  start_all();
  fx.not_drained = {child_id{1}};
  sup->request_stop(t);
  EXPECT_TRUE(fx.take().empty()); // b's queue is not empty yet
  fx.not_drained.clear();
  sup->poll(t);
  EXPECT_EQ(fx.take(), (lines{"stop 3"}));
  sup->exited(child_id{3}, 1, false, "", t);
  EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.stopped:3", "retire 3", "retire 2",
                              "stop 1"}));
  sup->exited(child_id{1}, 1, false, "", t);
  EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.stopped:1", "retire 1", "stop 0"}));
  sup->exited(child_id{0}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_FALSE(*fx.result);
}

TEST_F(SupervisorTest, APluginStopsOnlyOnceWhatLaterOnesPublishedReachedIt) {
  make({internal("a"), internal("b")});
  start_all();
  sup->request_stop(t);
  EXPECT_EQ(fx.take(), (lines{"stop 1"}));
  // b publishes from on_stop to a: a's queue is not drained when b ends.
  fx.not_drained = {child_id{0}};
  sup->exited(child_id{1}, 1, false, "", t);
  EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.stopped:1", "retire 1"}));
  fx.not_drained.clear();
  sup->poll(t);
  EXPECT_EQ(fx.take(), (lines{"stop 0"}));
}

TEST_F(SupervisorTest, TheDrainDeadlineEndsWaitingForQueues) {
  make({internal("a"), internal("b")});
  start_all();
  fx.not_drained = {child_id{0}, child_id{1}};
  sup->request_stop(t);
  EXPECT_TRUE(fx.take().empty());
  t += 200ms;
  fire(supervisor_timer::drain_deadline);
  // Still not drained: b waits for its queue until the shutdown deadline.
  EXPECT_TRUE(fx.take().empty());
  t += 200ms;
  sup->poll(t);
  EXPECT_EQ(fx.take(), (lines{"stop 1"}));
}

TEST_F(SupervisorTest, AtTheShutdownDeadlineStuckPluginsAreAbandonedAndNamed) {
  make({internal("a"), internal("stuck"), external("x")});
  start_all();
  sup->request_stop(t);
  EXPECT_EQ(fx.take(), (lines{"retire 2", "stop 1"}));
  t += 400ms;
  fire(supervisor_timer::shutdown_deadline);
  // The plugin never asked is asked now; the stuck one keeps its chance.
  EXPECT_EQ(fx.take(), (lines{"stop 0"}));
  sup->exited(child_id{0}, 1, false, "", t + 10ms);
  fx.take();
  EXPECT_FALSE(fx.result);
  auto margin = std::find_if(fx.timers.begin(), fx.timers.end(), [](auto& x) {
    return x.kind == supervisor_timer::final_deadline;
  });
  ASSERT_NE(margin, fx.timers.end());
  EXPECT_EQ(margin->delay, 80ms); // a fifth of the grace
  t += margin->delay;
  fire(supervisor_timer::final_deadline);
  EXPECT_EQ(fx.take(), (lines{"abandon 1", "retire 1"}));
  ASSERT_TRUE(fx.result);
  EXPECT_EQ(fx.result->code(), ec::shutdown_timeout);
  EXPECT_EQ(fx.result->message(),
            "shutdown took longer than shutdown_grace (400 ms); abandoned "
            "(still running in its own code): 'stuck'");
  EXPECT_EQ(sup->abandoned(), (std::vector<std::string>{"stuck"}));
  // A late exit changes nothing.
  sup->exited(child_id{1}, 1, false, "", t);
  EXPECT_TRUE(fx.take().empty());
}

TEST_F(SupervisorTest, APluginThatEndsWithinTheMarginIsNotAbandoned) {
  make({internal("a"), internal("slow")});
  start_all();
  sup->request_stop(t);
  fx.take();
  t += 400ms;
  fire(supervisor_timer::shutdown_deadline);
  EXPECT_EQ(fx.take(), (lines{"stop 0"}));
  sup->exited(child_id{1}, 1, false, "", t + 1ms);
  sup->exited(child_id{0}, 1, false, "", t + 2ms);
  ASSERT_TRUE(fx.result);
  EXPECT_FALSE(*fx.result);
  EXPECT_TRUE(sup->abandoned().empty());
}

TEST_F(SupervisorTest, StopBeforeTheBarrierStopsWithoutDraining) {
  make({internal("a"), internal("b")});
  sup->start(t);
  sup->ready(child_id{0}, 1, t);
  fx.take();
  sup->request_stop(t);
  EXPECT_EQ(fx.take(), (lines{"stop 1"}));
  sup->exited(child_id{1}, 1, false, "", t);
  sup->exited(child_id{0}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_FALSE(sup->barrier_passed());
}

TEST_F(SupervisorTest, AnExternalPluginThatQuitsLeavesTheStopOrder) {
  make({internal("a"), external("x")});
  start_all();
  sup->quit(child_id{1}, t);
  EXPECT_EQ(fx.take(), (lines{"ee.lifecycle.stopped:1", "retire 1"}));
  sup->exited(child_id{0}, 1, false, "", t);
  ASSERT_TRUE(fx.result);
  EXPECT_FALSE(*fx.result);
}

TEST_F(SupervisorTest, FailuresAreJoinedInTheResult) {
  make({internal("a"), internal("b")});
  start_all();
  sup->exited(child_id{0}, 1, true, "std::runtime_error: one", t);
  sup->exited(child_id{1}, 1, true, "std::runtime_error: two", t);
  ASSERT_TRUE(fx.result);
  EXPECT_EQ(fx.result->message(),
            "plugin 'a' failed: std::runtime_error: one; plugin 'b' failed: "
            "std::runtime_error: two");
}
