#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "ee/error.hpp"
#include "ee/supervision.hpp"
#include "src/core/ids.hpp"

namespace ee {

/// Where a plugin is in its life.
enum class child_state {
  /// Spawned (or launched), not ready yet: internal plugins register their
  /// subscriptions; external ones with `await_first_request` wait for it.
  starting,
  /// Ready, waiting for the start barrier.
  ready,
  /// Started: receives events.
  running,
  /// Asked to stop (shutdown), waiting for it to end.
  stopping,
  /// Asked to stop because a sibling failed (one_for_all, rest_for_one).
  stopping_for_restart,
  /// Down, waiting for its back-off delay.
  restarting,
  /// Ended normally; gone for good.
  finished,
  /// Failed and not restarted; gone for good.
  failed,
  /// Did not stop within the shutdown grace; left behind; gone for good.
  abandoned,
};

/// @returns true for the states a plugin never leaves.
constexpr bool is_gone(child_state s) noexcept {
  return s == child_state::finished || s == child_state::failed ||
         s == child_state::abandoned;
}

/// What the supervisor knows of one plugin.
struct child_spec {
  std::string name;
  restart_policy policy = restart_policy::temporary;
  ee::backoff backoff{};
  /// An external plugin (a process, or clients on its port).
  bool external = false;
  /// External: the barrier also waits for its first request.
  bool await_first_request = false;
  /// External: the engine launches (and relaunches) its process.
  bool has_process = false;
};

/// What became of a spawn.
struct spawn_result {
  enum kind_t {
    /// Spawned; it reports ready (`supervisor::ready`) when its
    /// subscriptions are in place.
    pending,
    /// Spawned with its subscriptions in place already.
    ready,
    /// It failed while starting (its restart policy applies); `text` says
    /// how.
    failed,
    /// It cannot be started at all (no factory, the factory threw): it fails
    /// for good.
    fatal,
  };
  kind_t kind = pending;
  std::string text;
};

/// Application-wide supervision settings.
struct supervisor_config {
  restart_strategy strategy = restart_strategy::one_for_one;
  std::size_t max_restarts = 5;
  std::chrono::milliseconds restart_period{10000};
  std::chrono::milliseconds shutdown_grace{3000};
  /// With no plugins at all, run until stopped instead of finishing at once
  /// (an engine that only relays between federation peers).
  bool idle_until_stopped = false;
};

/// The timers a supervisor asks for.
enum class supervisor_timer {
  /// A back-off delay passed: restart the plugin (if `gen` still matches).
  restart,
  /// The queue-draining part of the shutdown grace is over.
  drain_deadline,
  /// The shutdown grace is over: the plugins not asked to stop yet are
  /// asked all at once.
  shutdown_deadline,
  /// A short margin after the shutdown deadline: whatever still runs is
  /// abandoned.
  final_deadline,
};

/// Supervision as a plain class: restart policies and strategies, restart
/// intensity over a period (time is an argument), escalation, back-off with
/// jitter, the start barrier, and the bounded, ordered shutdown. No actors,
/// no threads, no clock: it decides; its `effects` act.
///
/// Shutdown: queues drain (until half the grace), then plugins stop one at a
/// time in reverse registration order, each only once its own queue is
/// drained (so what a later plugin published while stopping reaches an
/// earlier one). At the shutdown deadline the plugins not asked yet are
/// asked all at once; a short margin later (a fifth of the grace, at most
/// 200 ms) whatever is still there is abandoned and named in the result.
class supervisor {
public:
  using time_point = std::chrono::steady_clock::time_point;

  /// What the supervisor asks of the engine. Calls never re-enter the
  /// supervisor.
  class effects {
  public:
    virtual ~effects();

    /// Starts incarnation `incarnation` of internal plugin `id` (builds an
    /// instance, spawns its host).
    virtual spawn_result spawn(child_id id, std::uint32_t incarnation) = 0;

    /// (Re)launches the process of external plugin `id`.
    virtual void launch(child_id id) = 0;

    /// Plugin `id` passed the barrier: its start code runs, it gets events.
    virtual void run(child_id id) = 0;

    /// Asks internal plugin `id` to stop (`on_stop`, then it ends).
    virtual void stop(child_id id) = 0;

    /// Internal plugin `id` did not stop in time: kill it, or leave its
    /// thread behind.
    virtual void abandon(child_id id) = 0;

    /// Plugin `id` is gone for good (routing stops; an external plugin's
    /// port and process are retired).
    virtual void retire(child_id id) = 0;

    /// Calls `supervisor::timer(kind, id, gen, ...)` after `delay`.
    virtual void set_timer(supervisor_timer kind, child_id id,
                           std::chrono::milliseconds delay,
                           std::uint64_t gen) = 0;

    /// Publishes the lifecycle event `prefix + name [+ "\n" + text]`.
    virtual void lifecycle(const char* prefix, child_id id,
                           const std::string& text) = 0;

    /// The start barrier passed: events published so far may flow.
    virtual void open() = 0;

    /// @returns true if plugin `id` has nothing queued for it.
    virtual bool drained(child_id id) const = 0;

    /// Every plugin is gone: the app is over with `result`.
    virtual void done(const error& result) = 0;
  };

  /// @param random a source of numbers in [0, 1) for the jitter.
  supervisor(supervisor_config cfg, std::vector<child_spec> children,
             effects& fx, std::function<double()> random);

  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;

  // -- inputs
  // ------------------------------------------------------------------

  /// Spawns every internal plugin, launches external processes.
  void start(time_point now);

  /// Internal plugin `id` (incarnation `inc`) registered its subscriptions.
  void ready(child_id id, std::uint32_t inc, time_point now);

  /// External plugin `id` got its first request.
  void first_request(child_id id, time_point now);

  /// Internal plugin `id` (incarnation `inc`) ended: normally, or not
  /// (`abnormal`, with `reason`).
  void exited(child_id id, std::uint32_t inc, bool abnormal, std::string reason,
              time_point now);

  /// External plugin `id` sent quit (it has finished).
  void quit(child_id id, time_point now);

  /// The process of external plugin `id` ended: exit code 0 counts as
  /// finished; anything else (or a failed launch) is a failure.
  void process_exited(child_id id, bool normal, std::string reason,
                      time_point now);

  /// A timer set through `effects::set_timer` fired.
  void timer(supervisor_timer kind, child_id id, std::uint64_t gen,
             time_point now);

  /// Starts the shutdown (idempotent).
  void request_stop(time_point now);

  /// Re-checks a shutdown waiting for queues to drain (call after events
  /// were handled while `stopping()`).
  void poll(time_point now);

  // -- queries
  // -------------------------------------------------------------------

  child_state state(child_id id) const { return kids_[id].state; }

  std::uint32_t incarnation(child_id id) const { return kids_[id].incarnation; }

  std::uint32_t restarts(child_id id) const { return kids_[id].restarts; }

  std::uint64_t failures(child_id id) const { return kids_[id].failures; }

  const std::string& name(child_id id) const { return kids_[id].spec.name; }

  bool barrier_passed() const noexcept { return barrier_passed_; }

  /// @returns true once a shutdown began (draining or stopping).
  bool stopping() const noexcept { return draining_ || stopping_; }

  /// @returns true once every plugin is gone.
  bool done() const noexcept { return done_; }

  /// @returns the names of the plugins abandoned at the shutdown deadline.
  const std::vector<std::string>& abandoned() const noexcept {
    return abandoned_;
  }

  std::size_t size() const noexcept { return kids_.size(); }

  /// @returns every child's id, in order.
  auto child_ids() const noexcept { return kids_.ids(); }

private:
  struct child {
    child_spec spec;
    child_state state = child_state::starting;
    std::uint32_t incarnation = 0;
    std::uint32_t restarts = 0;
    std::uint64_t failures = 0;
    // Bumped whenever a scheduled restart must be ignored.
    std::uint64_t gen = 0;
    std::chrono::milliseconds delay{0};
    std::optional<time_point> started_at;
    std::string last_failure;
    bool last_exit_abnormal = false;
  };

  void set_state(child& c, child_state s);
  bool blocks_barrier(const child& c) const;
  void spawn(child_id id, time_point now);
  void check_barrier(time_point now);
  void run(child_id id, time_point now);
  void on_gone(child_id id, bool abnormal, time_point now);
  void handle_restart(child_id id, time_point now);
  void stop_for_restart(child_id id);
  void schedule_restart(child_id id, std::chrono::milliseconds delay);
  void escalate(child_id id, time_point now);
  void retire(child_id id, child_state final_state);
  void fail_for_good(child_id id, std::string what, time_point now);
  void after_gone(time_point now);
  void begin_ordered_stop(time_point now);
  void stop_next(time_point now);
  void abandon(child_id id);
  void abandon_all();
  std::chrono::milliseconds final_margin() const;
  void check_done();

  supervisor_config cfg_;
  id_vector<child_id, child> kids_;
  effects& fx_;
  std::function<double()> random_;
  // Start barrier: plugins not ready yet (while it has not passed).
  std::size_t not_ready_ = 0;
  bool barrier_passed_ = false;
  // Restart intensity, app-wide (as an OTP supervisor counts it).
  std::deque<time_point> restart_times_;
  // Shutdown.
  // Plugins gone for good (check_done is O(1)).
  std::size_t gone_ = 0;
  bool draining_ = false;
  std::size_t drain_cursor_ = 0;
  bool stopping_ = false;
  std::optional<time_point> deadline_;
  std::vector<child_id> stop_order_;
  std::vector<std::string> failures_;
  std::vector<std::string> abandoned_;
  error result_;
  bool done_ = false;
};

} // namespace ee
