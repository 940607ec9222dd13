#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "ee/event.hpp"
#include "ee/event_type.hpp"

namespace ee {

/// Identifies a timer scheduled with `context::schedule`.
using timer_id = std::uint64_t;

/// What an actor plugin can do from inside its callbacks. A context is only
/// valid inside the callbacks of the plugin it was passed to, and only on the
/// thread that runs them.
class context {
public:
  virtual ~context();

  /// @returns the plugin's name.
  virtual const std::string& name() const noexcept = 0;

  /// @returns the plugin's unique id (a UUID string, new for every app run).
  virtual const std::string& id() const noexcept = 0;

  /// Publishes `ev` to every plugin subscribed to it.
  virtual void publish(event ev) = 0;

  /// Publishes a copy of `bytes`.
  void publish(std::string_view bytes) { publish(event{bytes}); }

  /// Publishes a typed event.
  template <class T, class = std::enable_if_t<is_typed_event_v<T>>>
  void publish(const T& x) {
    publish(encode(x));
  }

  /// Asks the engine to stop this plugin: `on_stop` runs after the current
  /// callback returns, then the plugin has finished. Events not handled yet
  /// are not delivered to it any more.
  virtual void stop() = 0;

  /// Runs `fn` once after `delay`, on the plugin's own thread of control.
  /// @returns an id for `cancel`.
  virtual timer_id schedule(std::chrono::milliseconds delay,
                            std::function<void(context&)> fn) = 0;

  /// Cancels a timer scheduled with `schedule`; no-op if it already ran.
  virtual void cancel(timer_id id) = 0;

  /// @returns how many times this plugin has been restarted (0 at first).
  virtual std::uint32_t restarts() const noexcept = 0;
};

} // namespace ee
