#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ee/context.hpp"
#include "ee/event.hpp"
#include "ee/event_type.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// Common base of every plugin kind: a name and the event types it wants.
class plugin_base {
public:
  virtual ~plugin_base();

  /// @returns the plugin's name, unique within an app, never empty.
  virtual std::string name() const = 0;

  /// @returns the event types this plugin receives. Called once per start,
  /// before the start barrier; a plugin with no subscriptions receives nothing
  /// and must stop itself (or be stopped by `app::stop`).
  virtual std::vector<event_type> subscriptions() const = 0;
};

/// An event-driven plugin. Runs as a CAF actor on the engine's scheduler:
/// callbacks of one plugin never run concurrently, thousands of plugins share
/// a few threads. A callback must not block.
///
/// An exception escaping a callback fails the plugin: it is logged with the
/// plugin's name, counted, and handled by the plugin's restart policy.
class plugin : public plugin_base {
public:
  /// Runs once, after every plugin of the app passed the start barrier.
  virtual void on_start(context& ctx);

  /// Runs for every event that matches one of the subscriptions, in the order
  /// the engine received them.
  virtual void on_event(context& ctx, const event& ev) = 0;

  /// Runs once when the plugin stops (after `context::stop` or on shutdown).
  virtual void on_stop(context& ctx);
};

// -- blocking plugins
// ----------------------------------------------------------

/// Publishes events from a blocking plugin. Blocks while the engine holds back
/// publishers (flow control). Publish from the thread that runs
/// `blocking_plugin::run` (the outbox behind it is a single-producer ring, so
/// publishing takes no lock); from any other thread `publish` throws
/// `std::logic_error` and publishes nothing.
class publisher {
public:
  virtual ~publisher();

  /// Publishes `ev` to every subscriber.
  virtual void publish(event ev) = 0;

  /// Publishes a copy of `bytes`.
  void publish(std::string_view bytes) { publish(event{bytes}); }

  /// Publishes a typed event.
  template <class T, class = std::enable_if_t<is_typed_event_v<T>>>
  void publish(const T& x) {
    publish(encode(x));
  }
};

/// Thrown by `subscriber::recv` when the engine stops the plugin. Let it
/// propagate out of `run`: the plugin then counts as finished normally.
class stop_requested : public std::exception {
public:
  const char* what() const noexcept override;
};

/// Receives events in a blocking plugin.
class subscriber {
public:
  virtual ~subscriber();

  /// Waits for the next event.
  /// @throws stop_requested when the engine stops the plugin.
  virtual event recv() = 0;

  /// Waits at most `timeout` for the next event.
  /// @returns the event, or `std::nullopt` on timeout.
  /// @throws stop_requested when the engine stops the plugin.
  virtual std::optional<event> recv(std::chrono::milliseconds timeout) = 0;

  /// @returns true once the engine asked the plugin to stop.
  virtual bool stopping() const noexcept = 0;

  /// @returns the plugin's name.
  virtual const std::string& name() const noexcept = 0;

  /// @returns the plugin's unique id.
  virtual const std::string& id() const noexcept = 0;
};

/// A plugin in the original crate's style: `run` loops over `recv` and
/// `publish` on its own thread, and returns when the plugin is done.
class blocking_plugin : public plugin_base {
public:
  /// Starts after the start barrier; the plugin has finished when it returns.
  virtual void run(publisher& pub, subscriber& sub) = 0;
};

/// Creates a fresh plugin instance: called for the first start and for every
/// restart.
using plugin_factory = std::function<std::unique_ptr<plugin_base>()>;

} // namespace ee
