#include "actors/plugin_host.hpp"

#include <deque>
#include <unordered_map>

#include <caf/all.hpp>

#include "ee/caf.hpp"
#include "ee/log.hpp"
#include "src/core/publish_credit.hpp"

namespace ee {

void caf_plugin::on_stop(context&) {
  // nop
}

namespace {

class host_state;

using host_actor = caf::stateful_actor<host_state>;

/// The context of an event-based plugin: publishing goes through the
/// plugin's outbox, timers through the actor's own messages.
class actor_context final : public context {
public:
  actor_context(caf::event_based_actor* self, const host_params& params)
      : self_(self), params_(params), credit_(params.window) {
    // nop
  }

  const std::string& name() const noexcept override { return params_.name; }

  const std::string& id() const noexcept override { return params_.uuid; }

  void publish(event ev) override {
    credit_.spend(ev.size());
    if (params_.outbox->push(std::move(ev)))
      self_->send(params_.engine, drain_atom::value, params_.slot);
  }

  void stop() override { stop_requested_ = true; }

  timer_id schedule(std::chrono::milliseconds delay,
                    std::function<void(context&)> fn) override {
    auto id = ++last_timer_;
    timers_.emplace(id, std::move(fn));
    self_->delayed_send(self_, delay, timer_atom::value, id);
    return id;
  }

  void cancel(timer_id id) override { timers_.erase(id); }

  std::uint32_t restarts() const noexcept override { return params_.restarts; }

  bool stop_requested() const noexcept { return stop_requested_; }

  /// The plugin's publish credit (scheduled actions wait while there is
  /// none).
  publish_credit& credit() noexcept { return credit_; }

  std::function<void(context&)> take_timer(timer_id id) {
    auto i = timers_.find(id);
    if (i == timers_.end())
      return {};
    auto fn = std::move(i->second);
    timers_.erase(i);
    return fn;
  }

private:
  caf::event_based_actor* self_;
  const host_params& params_;
  bool stop_requested_ = false;
  publish_credit credit_;
  timer_id last_timer_ = 0;
  std::unordered_map<timer_id, std::function<void(context&)>> timers_;
};

/// The state of a plugin host: one incarnation of one actor plugin (or raw
/// CAF plugin). Handlers only translate engine messages into plugin
/// callbacks; an exception in a callback ends the host with a failure report.
class host_state {
public:
  static inline const char* name = "ee.plugin_host";

  explicit host_state(host_actor* self) : self_(self) {
    // nop
  }

  caf::behavior make_behavior(std::shared_ptr<host_params> params) {
    params_ = std::move(params);
    ctx_ = std::make_unique<actor_context>(self_, *params_);
    actor_plugin_ = dynamic_cast<plugin*>(params_->instance.get());
    raw_plugin_ = dynamic_cast<caf_plugin*>(params_->instance.get());
    auto self = self_;
    self_->set_exception_handler([self](std::exception_ptr& ptr) {
      // Plugin code's exceptions are caught where they happen; this one
      // escaped them (a raw CAF plugin's response handler, the host).
      self->state.fail("a CAF handler", describe_exception(ptr));
      return caf::make_error(caf::exit_reason::unhandled_exception);
    });
    if (raw_plugin_)
      self_->set_default_handler(
          [self](caf::scheduled_actor*,
                 caf::message_view& x) -> caf::result<caf::message> {
            return self->state.to_user_behavior(x);
          });
    return {
        [self](ok_atom) { self->state.start(); },
        [self](deliver_atom, event_batch& batch) {
          self->state.deliver(batch);
        },
        [self](timer_atom, timer_id id) { self->state.timer(id); },
        [self](credit_atom, std::uint64_t events, std::uint64_t bytes) {
          self->state.credit(events, bytes);
        },
        [self](stop_atom) { self->state.finish(); },
    };
  }

private:
  // Messages the host does not know go to a raw CAF plugin's behavior.
  caf::result<caf::message> to_user_behavior(caf::message_view& x) {
    if (!user_behavior_)
      return caf::sec::unexpected_message;
    auto msg = x.move_content_to_message();
    try {
      if (auto res = user_behavior_(msg))
        return std::move(*res);
    } catch (...) {
      fail("a message handler");
      return caf::message{};
    }
    return caf::sec::unexpected_message;
  }

  void ack() {
    if (handled_ > 0) {
      self_->send(params_->engine, ack_atom::value, params_->slot, handled_);
      handled_ = 0;
    }
  }

  // Reports the current exception and ends the host. `poisoned`: it
  // happened while handling the next unacknowledged event.
  // Reports the current exception (or `what`) and ends the host.
  void fail(const char* where, bool poisoned = false) {
    fail(where, describe_current_exception(), poisoned);
  }

  void fail(const char* where, const std::string& what, bool poisoned = false) {
    ee::log(log_level::debug, params_->name,
            std::string{"exception in "} + where + ": " + what);
    self_->send(params_->engine, failure_atom::value, params_->slot,
                params_->incarnation, handled_, poisoned,
                std::string{where} + ": " + what);
    handled_ = 0;
    finished_ = true;
    self_->quit(caf::make_error(caf::sec::runtime_error, what));
  }

  void start() {
    if (started_ || finished_)
      return;
    started_ = true;
    try {
      if (actor_plugin_)
        actor_plugin_->on_start(*ctx_);
      else
        user_behavior_ = raw_plugin_->make_behavior(self_, *ctx_);
    } catch (...) {
      fail(actor_plugin_ ? "on_start" : "make_behavior");
      return;
    }
    after_callback();
  }

  void deliver(event_batch& batch) {
    for (auto& ev : batch) {
      if (finished_)
        return;
      try {
        if (actor_plugin_) {
          actor_plugin_->on_event(*ctx_, ev);
        } else if (user_behavior_) {
          auto msg = caf::make_message(event_atom::value, ev);
          user_behavior_(msg);
        }
      } catch (...) {
        fail("on_event", true);
        return;
      }
      ++handled_;
      if (ctx_->stop_requested()) {
        finish();
        return;
      }
    }
    ack();
  }

  void timer(timer_id id) {
    if (finished_)
      return;
    if (!ctx_->credit().available()) {
      deferred_timers_.push_back(id);
      return;
    }
    auto fn = ctx_->take_timer(id);
    if (!fn)
      return;
    try {
      fn(*ctx_);
    } catch (...) {
      fail("a scheduled action");
      return;
    }
    after_callback();
  }

  void credit(std::uint64_t events, std::uint64_t bytes) {
    ctx_->credit().grant(ee::credit{events, bytes});
    while (!finished_ && ctx_->credit().available() &&
           !deferred_timers_.empty()) {
      auto id = deferred_timers_.front();
      deferred_timers_.pop_front();
      timer(id);
    }
  }

  void after_callback() {
    if (ctx_->stop_requested())
      finish();
  }

  // Stops the plugin normally: on_stop, final acknowledgement, quit.
  void finish() {
    if (finished_)
      return;
    try {
      if (started_) {
        if (actor_plugin_)
          actor_plugin_->on_stop(*ctx_);
        else
          raw_plugin_->on_stop(*ctx_);
      }
    } catch (...) {
      fail("on_stop");
      return;
    }
    ack();
    finished_ = true;
    self_->quit();
  }

  host_actor* self_;
  std::shared_ptr<host_params> params_;
  std::unique_ptr<actor_context> ctx_;
  plugin* actor_plugin_ = nullptr;
  caf_plugin* raw_plugin_ = nullptr;
  caf::behavior user_behavior_;
  bool started_ = false;
  bool finished_ = false;
  // Events handled since the last acknowledgement.
  std::uint64_t handled_ = 0;
  // Timers that fired while out of publish credit, in order.
  std::deque<timer_id> deferred_timers_;
};

caf::behavior host_fun(host_actor* self, std::shared_ptr<host_params> params) {
  return self->state.make_behavior(std::move(params));
}

} // namespace

caf::actor spawn_plugin_host(caf::actor_system& sys,
                             std::shared_ptr<host_params> params) {
  // Lazily: the engine put the subscriptions in place; the host first runs
  // when a message (the barrier's ok, or a stop) arrives.
  return sys.spawn<caf::lazy_init>(host_fun, std::move(params));
}

} // namespace ee
