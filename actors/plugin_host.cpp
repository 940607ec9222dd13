#include "actors/plugin_host.hpp"

#include <cxxabi.h>

#include <deque>
#include <typeinfo>
#include <unordered_map>

#include <caf/all.hpp>

#include "ee/caf.hpp"
#include "ee/log.hpp"

namespace ee {

void caf_plugin::on_stop(context&) {
  // nop
}

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    std::string type = typeid(e).name();
    int status = 0;
    if (char* demangled =
            abi::__cxa_demangle(type.c_str(), nullptr, nullptr, &status)) {
      if (status == 0)
        type = demangled;
      std::free(demangled);
    }
    return type + ": " + e.what();
  } catch (const std::string& s) {
    return "std::string: " + s;
  } catch (const char* s) {
    return std::string{"const char*: "} + s;
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

namespace {

// -- event-based hosts (actor plugins and raw CAF plugins) --------------------

struct host_state;

using host_actor = caf::stateful_actor<host_state>;

/// The context of an event-based plugin.
class actor_context final : public context {
public:
  actor_context(host_actor* self, host_params& params)
      : self_(self), params_(params),
        credit_(static_cast<std::int64_t>(params.publish_window)) {
    // nop
  }

  const std::string& name() const noexcept override { return params_.name; }

  const std::string& id() const noexcept override { return params_.uuid; }

  void publish(event ev) override;

  void stop() override { stop_requested_ = true; }

  timer_id schedule(std::chrono::milliseconds delay,
                    std::function<void(context&)> fn) override;

  void cancel(timer_id id) override { timers_.erase(id); }

  std::uint32_t restarts() const noexcept override { return params_.restarts; }

  bool stop_requested() const noexcept { return stop_requested_; }

  /// @returns true while the plugin may publish without exceeding its credit.
  bool has_credit() const noexcept { return credit_ > 0; }

  void add_credit(std::uint64_t n) { credit_ += static_cast<std::int64_t>(n); }

  std::function<void(context&)> take_timer(timer_id id) {
    auto i = timers_.find(id);
    if (i == timers_.end())
      return {};
    auto fn = std::move(i->second);
    timers_.erase(i);
    return fn;
  }

private:
  host_actor* self_;
  host_params& params_;
  bool stop_requested_ = false;
  // May go negative: a callback is never interrupted; scheduled actions wait
  // while it is not positive.
  std::int64_t credit_;
  timer_id last_timer_ = 0;
  std::unordered_map<timer_id, std::function<void(context&)>> timers_;
};

struct host_state {
  static inline const char* name = "ee.plugin_host";
  std::shared_ptr<host_params> params;
  std::unique_ptr<actor_context> ctx;
  plugin* actor_plugin = nullptr;
  caf_plugin* raw_plugin = nullptr;
  caf::behavior user_behavior;
  bool started = false;
  bool finished = false;
  // Events handled since the last acknowledgement.
  std::uint64_t handled = 0;
  // Timers that fired while out of publish credit, in order.
  std::deque<timer_id> deferred_timers;
};

void actor_context::publish(event ev) {
  --credit_;
  if (params_.outbox->push(std::move(ev)))
    self_->send(params_.engine, drain_atom::value, params_.slot);
}

timer_id actor_context::schedule(std::chrono::milliseconds delay,
                                 std::function<void(context&)> fn) {
  auto id = ++last_timer_;
  timers_.emplace(id, std::move(fn));
  self_->delayed_send(self_, delay, timer_atom::value, id);
  return id;
}

class host_impl {
public:
  explicit host_impl(host_actor* self) : self_(self), st_(self->state) {
    // nop
  }

  const std::string& name() const { return st_.params->name; }

  void ack() {
    if (st_.handled > 0) {
      self_->send(st_.params->engine, ack_atom::value, st_.params->slot,
                  st_.handled);
      st_.handled = 0;
    }
  }

  // Reports the current exception and terminates the host. `poisoned`: the
  // failure happened while handling the next unacknowledged event.
  void fail(const char* where, bool poisoned = false) {
    auto what = describe_current_exception();
    ee::log(log_level::debug,
            "plugin '" + name() + "': exception in " + where + ": " + what);
    self_->send(st_.params->engine, failure_atom::value, st_.params->slot,
                st_.handled, poisoned, std::string{where} + ": " + what);
    st_.handled = 0;
    st_.finished = true;
    self_->quit(caf::make_error(caf::sec::runtime_error, what));
  }

  void announce() {
    std::vector<std::string> filters;
    try {
      for (auto& t : st_.params->instance->subscriptions())
        filters.push_back(t.filter());
    } catch (...) {
      fail("subscriptions");
      return;
    }
    self_->send(st_.params->engine, ready_atom::value, st_.params->slot,
                st_.params->incarnation, std::move(filters));
  }

  void start() {
    if (st_.started || st_.finished)
      return;
    st_.started = true;
    try {
      if (st_.actor_plugin) {
        st_.actor_plugin->on_start(*st_.ctx);
      } else {
        // Raw CAF plugin: its behavior handles what we do not.
        st_.user_behavior = st_.raw_plugin->make_behavior(self_, *st_.ctx);
      }
    } catch (...) {
      fail(st_.actor_plugin ? "on_start" : "make_behavior");
      return;
    }
    after_callback();
  }

  void deliver(event_batch& batch) {
    for (auto& ev : batch) {
      if (st_.finished)
        return;
      try {
        if (st_.actor_plugin) {
          st_.actor_plugin->on_event(*st_.ctx, ev);
        } else if (st_.user_behavior) {
          auto msg = caf::make_message(event_atom::value, ev);
          st_.user_behavior(msg);
        }
      } catch (...) {
        fail("on_event", true);
        return;
      }
      ++st_.handled;
      if (st_.ctx->stop_requested()) {
        finish();
        return;
      }
    }
    ack();
  }

  void timer(timer_id id) {
    if (st_.finished)
      return;
    if (!st_.ctx->has_credit()) {
      st_.deferred_timers.push_back(id);
      return;
    }
    auto fn = st_.ctx->take_timer(id);
    if (!fn)
      return;
    try {
      fn(*st_.ctx);
    } catch (...) {
      fail("a scheduled action");
      return;
    }
    after_callback();
  }

  void credit(std::uint64_t n) {
    st_.ctx->add_credit(n);
    while (!st_.finished && st_.ctx->has_credit() &&
           !st_.deferred_timers.empty()) {
      auto id = st_.deferred_timers.front();
      st_.deferred_timers.pop_front();
      timer(id);
    }
  }

  void after_callback() {
    if (st_.ctx->stop_requested())
      finish();
  }

  // Stops the plugin normally: on_stop, final acknowledgement, quit.
  void finish() {
    if (st_.finished)
      return;
    try {
      if (st_.started) {
        if (st_.actor_plugin)
          st_.actor_plugin->on_stop(*st_.ctx);
        else
          st_.raw_plugin->on_stop(*st_.ctx);
      }
    } catch (...) {
      fail("on_stop");
      return;
    }
    ack();
    st_.finished = true;
    self_->quit();
  }

private:
  host_actor* self_;
  host_state& st_;
};

caf::behavior host_fun(host_actor* self, std::shared_ptr<host_params> params) {
  auto& st = self->state;
  st.params = std::move(params);
  st.ctx = std::make_unique<actor_context>(self, *st.params);
  st.actor_plugin = dynamic_cast<plugin*>(st.params->instance.get());
  st.raw_plugin = dynamic_cast<caf_plugin*>(st.params->instance.get());
  auto impl = std::make_shared<host_impl>(self);
  self->set_exception_handler([self](std::exception_ptr&) -> caf::error {
    // Exceptions of plugin code are caught where they happen; this one comes
    // from the host itself.
    ee::log(log_level::error,
            "plugin '" + self->state.params->name + "': internal error");
    return caf::exit_reason::unhandled_exception;
  });
  if (st.raw_plugin) {
    // Messages the host does not know go to the plugin's own behavior.
    self->set_default_handler(
        [self](caf::scheduled_actor*,
               caf::message_view& x) -> caf::result<caf::message> {
          auto& ub = self->state.user_behavior;
          if (!ub)
            return caf::sec::unexpected_message;
          auto msg = x.move_content_to_message();
          try {
            if (auto res = ub(msg))
              return std::move(*res);
          } catch (...) {
            host_impl{self}.fail("a message handler", false);
            return caf::message{};
          }
          return caf::sec::unexpected_message;
        });
  }
  impl->announce();
  return {
      [impl](ok_atom) { impl->start(); },
      [impl](deliver_atom, slot_id, event_batch& batch) {
        impl->deliver(batch);
      },
      [impl](timer_atom, timer_id id) { impl->timer(id); },
      [impl](credit_atom, std::uint64_t n) { impl->credit(n); },
      [impl](stop_atom) { impl->finish(); },
  };
}

// -- blocking hosts
// ------------------------------------------------------------

class blocking_io final : public publisher, public subscriber {
public:
  blocking_io(caf::blocking_actor* self, host_params& params)
      : self_(self), params_(params), credit_(params.publish_window) {
    // nop
  }

  // -- publisher --

  void publish(event ev) override {
    // Take in credit, deliveries and stop requests without blocking, so a
    // plugin that only publishes still notices a stop.
    for (int i = 0; i < 64 && !self_->mailbox().empty() && !stopping_; ++i)
      receive_one(std::chrono::milliseconds{0});
    if (stopping_)
      stop_inside_publish();
    while (credit_ == 0) {
      receive_one(std::nullopt); // flow control: the engine returns credit
      if (stopping_)
        stop_inside_publish();
    }
    --credit_;
    if (params_.outbox->push(std::move(ev)))
      self_->send(params_.engine, drain_atom::value, params_.slot);
  }

  // -- subscriber --

  event recv() override {
    for (;;) {
      if (auto ev = next())
        return std::move(*ev);
      wait(std::nullopt);
    }
  }

  std::optional<event> recv(std::chrono::milliseconds timeout) override {
    if (auto ev = next())
      return ev;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline)
        return std::nullopt;
      wait(std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 now));
      if (auto ev = next())
        return ev;
    }
  }

  bool stopping() const noexcept override {
    if (!stopping_ && !self_->mailbox().empty())
      const_cast<blocking_io*>(this)->peek_stop();
    return stopping_;
  }

  const std::string& name() const noexcept override { return params_.name; }

  const std::string& id() const noexcept override { return params_.uuid; }

  // -- host side --

  /// A stop while `run` handles the last event `recv` returned: the events
  /// before it are handled, that one is not (a restarted plugin gets it
  /// again).
  [[noreturn]] void stop_inside_publish() {
    if (returned_ > 0) {
      --returned_;
      ack_all();
    }
    throw stop_requested{};
  }

  /// Takes in pending messages without blocking (a stop sets `stopping_`).
  void peek_stop() noexcept {
    try {
      for (int i = 0; i < 64 && !self_->mailbox().empty() && !stopping_; ++i)
        receive_one(std::chrono::milliseconds{0});
    } catch (...) {
      // receive_one does not throw; stay safe in a noexcept context
    }
  }

  /// Waits for the ok of the start barrier. @returns false on stop.
  bool await_ok() {
    bool ok = false;
    while (!ok && !stopping_) {
      self_->receive([&](ok_atom) { ok = true; },
                     [&](stop_atom) { stopping_ = true; },
                     [&](deliver_atom, slot_id, event_batch& batch) {
                       for (auto& ev : batch)
                         buffer_.push_back(std::move(ev));
                     },
                     [&](credit_atom, std::uint64_t n) { credit_ += n; });
    }
    return ok;
  }

  /// Acknowledges every event returned by `recv` so far.
  void ack_all() {
    if (returned_ > 0) {
      self_->send(params_.engine, ack_atom::value, params_.slot, returned_);
      returned_ = 0;
    }
  }

  /// Reports a failure: every returned event but the last was handled; the
  /// last one (if any) was being handled.
  void report_failure(const std::string& what) {
    bool poisoned = returned_ > 0;
    std::uint64_t handled = poisoned ? returned_ - 1 : 0;
    self_->send(params_.engine, failure_atom::value, params_.slot, handled,
                poisoned, what);
    returned_ = 0;
  }

private:
  std::optional<event> next() {
    if (stopping_)
      throw stop_requested{};
    if (buffer_.empty()) {
      // Everything returned so far is handled: give the credit back.
      ack_all();
      return std::nullopt;
    }
    auto ev = std::move(buffer_.front());
    buffer_.pop_front();
    ++returned_;
    return ev;
  }

  void wait(std::optional<std::chrono::milliseconds> timeout) {
    receive_one(timeout);
    if (stopping_)
      throw stop_requested{};
  }

  void receive_one(std::optional<std::chrono::milliseconds> timeout) {
    auto on_deliver = [&](deliver_atom, slot_id, event_batch& batch) {
      for (auto& ev : batch)
        buffer_.push_back(std::move(ev));
    };
    auto on_stop = [&](stop_atom) { stopping_ = true; };
    auto on_credit = [&](credit_atom, std::uint64_t n) { credit_ += n; };
    if (timeout)
      self_->receive(
          on_deliver, on_stop, on_credit, caf::after(*timeout) >> [] {});
    else
      self_->receive(on_deliver, on_stop, on_credit);
  }

  caf::blocking_actor* self_;
  host_params& params_;
  std::deque<event> buffer_;
  std::uint64_t returned_ = 0;
  std::uint64_t credit_;
  bool stopping_ = false;
};

void blocking_host_fun(caf::blocking_actor* self,
                       std::shared_ptr<host_params> params) {
  auto* instance = dynamic_cast<blocking_plugin*>(params->instance.get());
  blocking_io io{self, *params};
  std::vector<std::string> filters;
  try {
    for (auto& t : instance->subscriptions())
      filters.push_back(t.filter());
  } catch (...) {
    auto what = describe_current_exception();
    ee::log(log_level::debug, "plugin '" + params->name +
                                  "': exception in subscriptions: " + what);
    io.report_failure("subscriptions: " + what);
    self->fail_state(caf::make_error(caf::sec::runtime_error, what));
    return;
  }
  self->send(params->engine, ready_atom::value, params->slot,
             params->incarnation, std::move(filters));
  if (!io.await_ok())
    return;
  try {
    instance->run(io, io);
    io.ack_all();
  } catch (const stop_requested&) {
    io.ack_all();
  } catch (...) {
    auto what = describe_current_exception();
    ee::log(log_level::debug,
            "plugin '" + params->name + "': exception in run: " + what);
    io.report_failure("run: " + what);
    self->fail_state(caf::make_error(caf::sec::runtime_error, what));
  }
}

} // namespace

caf::actor spawn_plugin_host(caf::actor_system& sys,
                             std::shared_ptr<host_params> params) {
  switch (kind_of(*params->instance)) {
  case plugin_kind::blocking:
    return sys.spawn<caf::detached>(blocking_host_fun, std::move(params));
  default:
    return sys.spawn(host_fun, std::move(params));
  }
}

} // namespace ee
