#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include "ee/app_config.hpp"
#include "ee/error.hpp"
#include "ee/external_plugin.hpp"
#include "ee/plugin.hpp"
#include "ee/stats.hpp"

namespace ee {

/// The exit status of a process whose app was stopped by a second signal
/// (`stop_on_signals`): 128 + SIGINT, as shells report an interrupt.
constexpr int interrupted_exit_code = 130;

/// The application: owns the runtime (actor system, engine, bridge). Register
/// plugins, then `run()`. Not copyable, not movable.
///
/// Registration errors (duplicate names, bad ports, ...) are kept and returned
/// by `run()`, so registration calls can be chained.
class app {
public:
  /// An app with the original's defaults: publish port 5559, subscribe 5560.
  app();

  /// An app on the given ports.
  app(int publish_port, int subscribe_port);

  /// An app with full settings.
  explicit app(app_config cfg);

  app(const app&) = delete;
  app& operator=(const app&) = delete;

  /// Stops the app (if running) and waits for `run()` (on another thread)
  /// to return: nothing `run()` uses is freed under it.
  ~app();

  // -- registration (before run) ----------------------------------------------

  /// Registers a plugin instance. Without a factory it cannot be restarted:
  /// a `permanent` or `transient` policy needs `register_plugin(factory, ...)`.
  app& register_plugin(std::unique_ptr<plugin_base> instance,
                       plugin_options opts = {});

  /// Registers a plugin built by `factory`, called again for every restart.
  app& register_plugin(plugin_factory factory, plugin_options opts = {});

  /// Registers a plugin of type `T` built from copies of `args` (and rebuilt
  /// from them on every restart).
  template <class T, class... Ts>
  app& emplace_plugin(plugin_options opts, Ts... args) {
    static_assert(std::is_base_of_v<plugin_base, T>);
    return register_plugin(
        plugin_factory{[args...]() -> std::unique_ptr<plugin_base> {
          return std::make_unique<T>(args...);
        }},
        std::move(opts));
  }

  /// Registers a plugin of type `T` with default options.
  template <class T, class... Ts>
  app& emplace_plugin(Ts... args) {
    return emplace_plugin<T>(plugin_options{}, std::move(args)...);
  }

  /// Registers an external plugin (another process, see
  /// `external_plugin_config`).
  app& register_external_plugin(external_plugin_config cfg);

  // -- running
  // -----------------------------------------------------------------

  /// Runs the app: opens the ports, starts every plugin behind the start
  /// barrier and returns when every internal plugin has finished and every
  /// external plugin has sent `quit`, or after `stop()`. After `stop()` it
  /// returns within `app_config::shutdown_grace` plus a few milliseconds,
  /// whatever the plugins do: one stuck in its own code is abandoned and
  /// named in the result (`ec::shutdown_timeout`).
  /// Before starting anything it validates the settings (the same rules
  /// `event-engine check` applies: ports, commands, working directories,
  /// keys); an error found then, or a bind failure, is returned without
  /// being logged: the caller reports it.
  /// @returns success, or the first registration error, invalid setting,
  ///          bind failure, plugin failure (with the plugin's name and its
  ///          error text), or shutdown timeout.
  /// @pre not called before on this app (a second call returns
  ///      `ec::already_running`).
  [[nodiscard]] error run();

  /// Asks the app to stop: queues drain, plugins stop in reverse
  /// registration order (`on_stop` runs), `run()` returns. Thread-safe. A
  /// stop requested before `run()` is remembered: that `run()` starts the
  /// plugins and stops them at once (so a stop that races with start-up is
  /// never lost). No-op after `run()` returned.
  void stop();

  /// @returns the settings.
  const app_config& config() const noexcept;

  /// @returns the bound publish port (after the app started; the configured
  /// one before). Thread-safe.
  int publish_port() const;

  /// @returns the bound subscribe port. Thread-safe.
  int subscribe_port() const;

  /// @returns the bound command port of the external plugin `name`, or -1.
  /// Thread-safe.
  int plugin_port(const std::string& name) const;

  /// Blocks until the app has started (ports bound, plugins spawned) or
  /// `run()` returned. @returns true if it started.
  bool wait_started(std::chrono::milliseconds timeout) const;

  /// @returns a snapshot of the engine's counters: live while the app runs,
  /// the final ones after `run()` returned, zeros before. Thread-safe; never
  /// throws, whatever the app is doing meanwhile.
  engine_stats stats() const;

  /// Installs SIGINT/SIGTERM handlers that call `stop()` on this app. A
  /// second signal means "now": every launched process tree gets SIGKILL
  /// and the process exits at once with `interrupted_exit_code`. Call
  /// before `run()`.
  void stop_on_signals();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace ee
