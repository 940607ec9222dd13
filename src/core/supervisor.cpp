#include "src/core/supervisor.hpp"

#include <algorithm>

#include "ee/log.hpp"
#include "src/core/backoff.hpp"

namespace ee {

supervisor::effects::~effects() = default;

namespace {

std::string join(const std::vector<std::string>& xs, const char* sep) {
  std::string result;
  for (auto& x : xs) {
    if (!result.empty())
      result += sep;
    result += x;
  }
  return result;
}

std::string quoted(const std::string& name) {
  return "plugin '" + name + "'";
}

} // namespace

supervisor::supervisor(supervisor_config cfg, std::vector<child_spec> children,
                       effects& fx, std::function<double()> random)
    : cfg_(cfg), fx_(fx), random_(std::move(random)) {
  kids_.reserve(children.size());
  for (auto& spec : children) {
    auto& c = kids_[kids_.push_back(child{})];
    c.delay = spec.backoff.initial;
    c.spec = std::move(spec);
  }
  not_ready_ = kids_.size();
}

// -- state and the barrier ----------------------------------------------------

bool supervisor::blocks_barrier(const child& c) const {
  return !is_gone(c.state) && c.state != child_state::ready &&
         c.state != child_state::running;
}

void supervisor::set_state(child& c, child_state s) {
  if (is_gone(s) && !is_gone(c.state))
    ++gone_;
  if (!barrier_passed_) {
    bool before = blocks_barrier(c);
    c.state = s;
    bool after = blocks_barrier(c);
    if (before && !after)
      --not_ready_;
    else if (!before && after)
      ++not_ready_;
    return;
  }
  c.state = s;
}

void supervisor::start(time_point now) {
  for (auto id : kids_.ids()) {
    auto& c = kids_[id];
    if (c.spec.external)
      set_state(c, c.spec.await_first_request ? child_state::starting
                                              : child_state::ready);
    else
      spawn(id, now);
  }
  for (auto id : kids_.ids())
    if (kids_[id].spec.has_process && !is_gone(kids_[id].state))
      fx_.launch(id);
  ee::log(log_level::debug, "engine: " + std::to_string(kids_.size()) +
                                " plugins spawned, waiting for the barrier");
  check_barrier(now);
  check_done();
}

void supervisor::spawn(child_id id, time_point now) {
  auto& c = kids_[id];
  ++c.incarnation;
  set_state(c, child_state::starting);
  auto result = fx_.spawn(id, c.incarnation);
  switch (result.kind) {
  case spawn_result::pending:
    return;
  case spawn_result::ready:
    set_state(c, child_state::ready);
    if (barrier_passed_ && !stopping_)
      run(id, now);
    return; // before the barrier, the caller checks it
  case spawn_result::failed:
    c.last_failure = std::move(result.text);
    on_gone(id, true, now);
    return;
  case spawn_result::fatal:
    fail_for_good(id, std::move(result.text), now);
    return;
  }
}

void supervisor::ready(child_id id, std::uint32_t inc, time_point now) {
  auto& c = kids_[id];
  if (c.spec.external || inc != c.incarnation ||
      c.state != child_state::starting)
    return;
  set_state(c, child_state::ready);
  if (stopping_) {
    stop_next(now);
    return;
  }
  if (barrier_passed_)
    run(id, now);
  else
    check_barrier(now);
}

void supervisor::first_request(child_id id, time_point now) {
  auto& c = kids_[id];
  if (!c.spec.external || c.state != child_state::starting)
    return;
  set_state(c, child_state::ready);
  if (barrier_passed_)
    run(id, now);
  else
    check_barrier(now);
}

void supervisor::check_barrier(time_point now) {
  if (barrier_passed_ || stopping_ || not_ready_ > 0)
    return;
  barrier_passed_ = true;
  ee::log(log_level::debug, "engine: start barrier passed");
  fx_.open();
  for (auto id : kids_.ids())
    if (kids_[id].state == child_state::ready)
      run(id, now);
}

void supervisor::run(child_id id, time_point now) {
  auto& c = kids_[id];
  set_state(c, child_state::running);
  c.started_at = now;
  fx_.run(id);
  fx_.lifecycle(lifecycle::started, id, "");
}

// -- failures and restarts ----------------------------------------------------

void supervisor::exited(child_id id, std::uint32_t inc, bool abnormal,
                        std::string reason, time_point now) {
  auto& c = kids_[id];
  if (c.spec.external || inc != c.incarnation || is_gone(c.state) ||
      c.state == child_state::restarting)
    return;
  if (abnormal)
    c.last_failure = std::move(reason);
  on_gone(id, abnormal, now);
}

void supervisor::quit(child_id id, time_point now) {
  auto& c = kids_[id];
  if (!c.spec.external || is_gone(c.state))
    return;
  ee::log(log_level::debug, c.spec.name, "quit");
  fx_.lifecycle(lifecycle::stopped, id, "");
  retire(id, child_state::finished);
  after_gone(now);
}

void supervisor::process_exited(child_id id, bool normal, std::string reason,
                                time_point now) {
  auto& c = kids_[id];
  if (!c.spec.external || is_gone(c.state) ||
      c.state == child_state::restarting)
    return;
  if (normal) {
    // A process that exits 0 without sending quit has finished too.
    quit(id, now);
    return;
  }
  c.last_failure = std::move(reason);
  on_gone(id, true, now);
}

void supervisor::on_gone(child_id id, bool abnormal, time_point now) {
  auto& c = kids_[id];
  c.last_exit_abnormal = abnormal;
  if (c.state == child_state::stopping_for_restart && !stopping_) {
    schedule_restart(id, std::chrono::milliseconds{0});
    return;
  }
  if (abnormal) {
    ++c.failures;
    ee::log(log_level::error, c.spec.name, "failed: " + c.last_failure);
    fx_.lifecycle(lifecycle::failed, id, c.last_failure);
  } else {
    ee::log(log_level::debug, c.spec.name, "finished");
    fx_.lifecycle(lifecycle::stopped, id, "");
  }
  auto policy = c.spec.policy;
  bool restart =
      !stopping() && (policy == restart_policy::permanent ||
                      (policy == restart_policy::transient && abnormal));
  if (!restart) {
    if (abnormal) {
      failures_.push_back(quoted(c.spec.name) + " failed: " + c.last_failure);
      retire(id, child_state::failed);
    } else {
      retire(id, child_state::finished);
    }
    after_gone(now);
    return;
  }
  handle_restart(id, now);
}

void supervisor::handle_restart(child_id id, time_point now) {
  auto& c = kids_[id];
  restart_times_.push_back(now);
  while (!restart_times_.empty() &&
         now - restart_times_.front() > cfg_.restart_period)
    restart_times_.pop_front();
  if (restart_times_.size() > cfg_.max_restarts) {
    escalate(id, now);
    return;
  }
  auto& bo = c.spec.backoff;
  bool reset =
      c.restarts == 0 || !c.started_at || now - *c.started_at > bo.reset_after;
  c.delay = next_backoff(bo, c.delay, reset);
  schedule_restart(id, with_jitter(c.delay, bo.jitter, random_()));
  if (cfg_.strategy == restart_strategy::one_for_one)
    return;
  for (auto o : kids_.ids()) {
    auto& x = kids_[o];
    // Temporary plugins cannot be started again: they keep running.
    if (o == id || is_gone(x.state) || x.state == child_state::restarting ||
        x.state == child_state::stopping ||
        x.state == child_state::stopping_for_restart ||
        x.spec.policy == restart_policy::temporary)
      continue;
    if (cfg_.strategy == restart_strategy::rest_for_one && o < id)
      continue;
    stop_for_restart(o);
  }
}

void supervisor::stop_for_restart(child_id id) {
  auto& c = kids_[id];
  ee::log(log_level::info, c.spec.name, "stops to be restarted with a sibling");
  set_state(c, child_state::stopping_for_restart);
  if (c.spec.external)
    schedule_restart(id, std::chrono::milliseconds{0}); // process relaunched
  else
    fx_.stop(id);
}

void supervisor::schedule_restart(child_id id,
                                  std::chrono::milliseconds delay) {
  auto& c = kids_[id];
  set_state(c, child_state::restarting);
  ee::log(log_level::info, c.spec.name,
          "restarts in " + std::to_string(delay.count()) + " ms");
  fx_.set_timer(supervisor_timer::restart, id, delay, ++c.gen);
}

void supervisor::timer(supervisor_timer kind, child_id id, std::uint64_t gen,
                       time_point now) {
  switch (kind) {
  case supervisor_timer::restart:
    break;
  case supervisor_timer::drain_deadline:
    if (draining_) {
      ee::log(log_level::warning,
              "shutdown: queues did not drain within half the grace; "
              "stopping plugins anyway");
      draining_ = false;
      begin_ordered_stop(now);
    }
    return;
  case supervisor_timer::shutdown_deadline:
    if (!done_) {
      // Ask every plugin not asked yet, all at once; whatever is still
      // there after a short margin is stuck.
      draining_ = false;
      stopping_ = true;
      stop_order_.clear();
      for (auto i : kids_.ids()) {
        auto& c = kids_[i];
        if (is_gone(c.state) || c.state == child_state::stopping)
          continue;
        if (c.spec.external || c.state == child_state::restarting) {
          retire(i, child_state::finished);
          continue;
        }
        set_state(c, child_state::stopping);
        fx_.stop(i);
      }
      fx_.set_timer(supervisor_timer::final_deadline, child_id::none(),
                    final_margin(), 0);
      check_done();
    }
    return;
  case supervisor_timer::final_deadline:
    if (!done_) {
      abandon_all();
      check_done();
    }
    return;
  }
  auto& c = kids_[id];
  if (c.gen != gen || c.state != child_state::restarting || stopping())
    return;
  ++c.restarts;
  fx_.lifecycle(lifecycle::restarted, id, std::to_string(c.restarts));
  if (!c.spec.external) {
    spawn(id, now);
    check_barrier(now);
    return;
  }
  if (c.spec.has_process)
    fx_.launch(id);
  if (!barrier_passed_) {
    // Still at the barrier: it counts as (not yet) ready again.
    set_state(c, c.spec.await_first_request ? child_state::starting
                                            : child_state::ready);
    check_barrier(now);
    return;
  }
  run(id, now);
}

void supervisor::escalate(child_id id, time_point now) {
  auto& c = kids_[id];
  // The restarts already done within the period; this failure needs one
  // more, which the limit does not allow.
  auto done_restarts = restart_times_.size() - 1;
  std::string last =
      c.last_exit_abnormal
          ? "last failure: " + c.last_failure
          : std::string{"last exit: normal (a permanent plugin "
                        "is restarted even after a normal exit)"};
  std::string text =
      quoted(c.spec.name) + " needs a restart beyond the " +
      "limit: " + std::to_string(done_restarts) + " restarts within " +
      std::to_string(cfg_.restart_period.count()) +
      " ms already (max_restarts: " + std::to_string(cfg_.max_restarts) +
      "); " + last;
  ee::log(log_level::error, c.spec.name, "escalating: " + text);
  fx_.lifecycle(lifecycle::escalated, id,
                c.last_exit_abnormal ? c.last_failure : "normal exit");
  result_ = error{ec::restart_limit, text};
  retire(id, child_state::failed);
  draining_ = false;
  if (!deadline_) {
    deadline_ = now + cfg_.shutdown_grace;
    fx_.set_timer(supervisor_timer::shutdown_deadline, child_id::none(),
                  cfg_.shutdown_grace, 0);
  }
  if (!stopping_)
    begin_ordered_stop(now);
  check_done();
}

void supervisor::retire(child_id id, child_state final_state) {
  auto& c = kids_[id];
  set_state(c, final_state);
  ++c.gen;
  fx_.retire(id);
}

void supervisor::fail_for_good(child_id id, std::string what, time_point now) {
  auto& c = kids_[id];
  ++c.failures;
  c.last_failure = what;
  ee::log(log_level::error, c.spec.name, what);
  failures_.push_back(std::move(what));
  retire(id, child_state::failed);
  after_gone(now);
}

void supervisor::after_gone(time_point now) {
  if (draining_ || stopping_)
    poll(now);
  check_barrier(now);
  check_done();
}

// -- shutdown -----------------------------------------------------------------

void supervisor::request_stop(time_point now) {
  if (stopping() || done_)
    return;
  deadline_ = now + cfg_.shutdown_grace;
  fx_.set_timer(supervisor_timer::shutdown_deadline, child_id::none(),
                cfg_.shutdown_grace, 0);
  if (barrier_passed_) {
    draining_ = true;
    fx_.set_timer(supervisor_timer::drain_deadline, child_id::none(),
                  cfg_.shutdown_grace / 2, 0);
    poll(now);
    check_done(); // nothing to drain without plugins
    return;
  }
  begin_ordered_stop(now);
}

void supervisor::poll(time_point now) {
  if (done_)
    return;
  if (draining_) {
    // Every running plugin's queue must have been empty once (an external
    // plugin's last event stays with its endpoint until the client asks
    // again, so only what the engine holds counts). The cursor makes the
    // whole wait O(plugins); a queue that fills again is waited for before
    // its plugin stops (stop_next).
    for (; drain_cursor_ < kids_.size(); ++drain_cursor_) {
      child_id id{drain_cursor_};
      auto& c = kids_[id];
      if (c.state == child_state::running && !fx_.drained(id))
        return;
    }
    draining_ = false;
    begin_ordered_stop(now);
    return;
  }
  if (stopping_)
    stop_next(now);
}

void supervisor::begin_ordered_stop(time_point now) {
  stopping_ = true;
  stop_order_.clear();
  for (auto id : kids_.ids())
    stop_order_.push_back(id);
  for (auto id : kids_.ids())
    if (kids_[id].state == child_state::restarting)
      retire(id, child_state::finished);
  stop_next(now);
}

void supervisor::stop_next(time_point now) {
  while (!stop_order_.empty()) {
    auto id = stop_order_.back();
    auto& c = kids_[id];
    if (is_gone(c.state)) {
      stop_order_.pop_back();
      continue;
    }
    if (c.state == child_state::stopping)
      return; // waiting for it to end
    if (c.spec.external) {
      stop_order_.pop_back();
      retire(id, child_state::finished);
      continue;
    }
    if (c.state == child_state::restarting) {
      stop_order_.pop_back();
      retire(id, child_state::finished);
      continue;
    }
    // What later plugins published while they stopped must reach this one
    // before it stops (until the deadline).
    if (c.state == child_state::running && !fx_.drained(id) &&
        (!deadline_ || now < *deadline_))
      return;
    set_state(c, child_state::stopping);
    fx_.stop(id);
    return;
  }
  check_done();
}

std::chrono::milliseconds supervisor::final_margin() const {
  return std::min(cfg_.shutdown_grace / 5, std::chrono::milliseconds{200});
}

void supervisor::abandon(child_id id) {
  auto& c = kids_[id];
  ee::log(log_level::error, c.spec.name,
          "did not stop within the shutdown grace (" +
              std::to_string(cfg_.shutdown_grace.count()) + " ms): abandoned");
  abandoned_.push_back(c.spec.name);
  fx_.abandon(id);
  retire(id, child_state::abandoned);
}

void supervisor::abandon_all() {
  for (auto id : kids_.ids()) {
    auto& c = kids_[id];
    if (is_gone(c.state))
      continue;
    if (c.spec.external || c.state == child_state::restarting)
      retire(id, child_state::finished);
    else
      abandon(id);
  }
  stop_order_.clear();
}

void supervisor::check_done() {
  if (done_ || gone_ < kids_.size())
    return;
  if (kids_.empty() && cfg_.idle_until_stopped && !stopping())
    return;
  done_ = true;
  auto result = result_;
  if (!result && !failures_.empty())
    result = error{ec::plugin_failed, join(failures_, "; ")};
  if (!result && !abandoned_.empty()) {
    std::vector<std::string> names;
    for (auto& n : abandoned_)
      names.push_back("'" + n + "'");
    result = error{ec::shutdown_timeout,
                   "shutdown took longer than shutdown_grace (" +
                       std::to_string(cfg_.shutdown_grace.count()) +
                       " ms); abandoned (still running in its own code): " +
                       join(names, ", ")};
  }
  fx_.done(result);
}

} // namespace ee
