#pragma once

// What the supervisor tests share (supervisor_test.cpp,
// supervisor_shutdown_test.cpp): a recorder of the effects the supervisor
// asks for, child specs with a fixed back-off, and a fixture that drives the
// supervisor with time as an argument.

#include "src/core/supervisor.hpp"

#include <chrono>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ee::test {

using namespace std::chrono_literals;

/// Records what the supervisor asks for, as lines of text.
class recorder : public supervisor::effects {
public:
  std::vector<std::string> log;
  std::set<child_id> not_drained;
  std::set<child_id> failing_spawns;
  std::set<child_id> failing_starts;
  std::set<child_id> ready_at_spawn;
  struct timer_req {
    supervisor_timer kind;
    child_id id;
    std::chrono::milliseconds delay;
    std::uint64_t gen;
  };
  std::vector<timer_req> timers;
  std::optional<error> result;
  bool opened = false;

  spawn_result spawn(child_id id, std::uint32_t inc) override {
    log.push_back("spawn " + to_string(id) + "#" + std::to_string(inc));
    if (failing_spawns.count(id) > 0)
      return {spawn_result::fatal, "factory threw"};
    if (failing_starts.count(id) > 0)
      return {spawn_result::failed, "subscriptions: boom"};
    if (ready_at_spawn.count(id) > 0)
      return {spawn_result::ready, ""};
    return {};
  }
  void launch(child_id id) override {
    log.push_back("launch " + to_string(id));
  }
  void run(child_id id) override { log.push_back("run " + to_string(id)); }
  void stop(child_id id) override { log.push_back("stop " + to_string(id)); }
  void abandon(child_id id) override {
    log.push_back("abandon " + to_string(id));
  }
  void retire(child_id id) override {
    log.push_back("retire " + to_string(id));
  }
  void set_timer(supervisor_timer kind, child_id id,
                 std::chrono::milliseconds delay, std::uint64_t gen) override {
    timers.push_back({kind, id, delay, gen});
  }
  void lifecycle(const char* prefix, child_id id,
                 const std::string& text) override {
    log.push_back(std::string{prefix} + to_string(id) +
                  (text.empty() ? "" : " " + text));
  }
  void open() override {
    opened = true;
    log.push_back("open");
  }
  bool drained(child_id id) const override {
    return not_drained.count(id) == 0;
  }
  void done(const error& result_) override { result = result_; }

  /// @returns the lines since the last call.
  std::vector<std::string> take() {
    auto result_ = std::move(log);
    log.clear();
    return result_;
  }

  /// @returns the last restart timer of `id`, if any.
  std::optional<timer_req> restart_timer(child_id id) const {
    for (auto i = timers.rbegin(); i != timers.rend(); ++i)
      if (i->kind == supervisor_timer::restart && i->id == id)
        return *i;
    return std::nullopt;
  }
};

using lines = std::vector<std::string>;

inline child_spec internal(const std::string& name,
                           restart_policy p = restart_policy::temporary) {
  child_spec c;
  c.name = name;
  c.policy = p;
  c.backoff.initial = 10ms;
  c.backoff.max = 80ms;
  c.backoff.factor = 2;
  c.backoff.jitter = 0;
  c.backoff.reset_after = 1000ms;
  return c;
}

inline child_spec external(const std::string& name, bool await = false,
                           bool process = false,
                           restart_policy p = restart_policy::temporary) {
  auto c = internal(name, p);
  c.external = true;
  c.await_first_request = await;
  c.has_process = process;
  return c;
}

class SupervisorTest : public ::testing::Test {
protected:
  void make(std::vector<child_spec> kids,
            restart_strategy s = restart_strategy::one_for_one,
            std::size_t max_restarts = 5) {
    supervisor_config cfg;
    cfg.strategy = s;
    cfg.max_restarts = max_restarts;
    cfg.restart_period = 1000ms;
    cfg.shutdown_grace = 400ms;
    sup = std::make_unique<supervisor>(cfg, std::move(kids), fx,
                                       [] { return 0.5; });
  }

  // Starts and passes the barrier for internal plugins 0..n-1.
  void start_all() {
    sup->start(t);
    for (auto i : sup->child_ids())
      sup->ready(i, sup->incarnation(i), t);
    fx.take();
  }

  // Fires the last restart timer of `id` at its time.
  void fire_restart(child_id id) {
    auto tm = fx.restart_timer(id);
    ASSERT_TRUE(tm);
    t += tm->delay;
    sup->timer(supervisor_timer::restart, id, tm->gen, t);
  }

  void fire(supervisor_timer kind) {
    for (auto& tm : fx.timers)
      if (tm.kind == kind) {
        sup->timer(kind, tm.id, tm.gen, t);
        return;
      }
    FAIL() << "no such timer";
  }

  supervisor::time_point t{};
  recorder fx;
  std::unique_ptr<supervisor> sup;
};

} // namespace ee::test
