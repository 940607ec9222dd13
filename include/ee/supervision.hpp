#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace ee {

/// When a plugin is restarted (Erlang/OTP child restart types).
enum class restart_policy {
  /// Always restarted, even after a normal exit.
  permanent,
  /// Restarted only after an abnormal exit (an exception, a crash).
  transient,
  /// Never restarted: a failure is reported and the plugin is gone.
  temporary,
};

/// Which plugins are restarted when one fails (Erlang/OTP strategies).
/// Siblings with `restart_policy::temporary` are never stopped for a
/// sibling's restart (they could not be started again).
enum class restart_strategy {
  /// Only the failed plugin.
  one_for_one,
  /// Every plugin of the app.
  one_for_all,
  /// The failed plugin and every plugin registered after it.
  rest_for_one,
};

/// What happens to new events when a subscriber's queue is full.
enum class overflow_policy {
  /// The publisher waits until there is room (lossless, the default).
  block,
  /// The oldest queued event is dropped and counted.
  drop_oldest,
  /// The new event is dropped and counted.
  drop_newest,
};

/// Exponential back-off between restarts.
struct backoff {
  /// The delay before the first restart.
  std::chrono::milliseconds initial{10};
  /// The largest delay.
  std::chrono::milliseconds max{5000};
  /// Growth factor per consecutive restart.
  double factor = 2.0;
  /// Random spread of each delay, as a fraction of it (0.2 = ±20 %).
  double jitter = 0.2;
  /// After running this long without failing, the delay starts over.
  std::chrono::milliseconds reset_after{10000};
};

/// Per-plugin options.
struct plugin_options {
  /// When this plugin is restarted.
  restart_policy restart = restart_policy::temporary;
  /// Delay between restarts.
  ee::backoff backoff{};
  /// Capacity of the plugin's queue in events: queued plus delivered and
  /// not yet handled (0 = app default).
  std::size_t queue_capacity = 0;
  /// Capacity of the plugin's queue in bytes (0 = app default). An event
  /// larger than this still gets in when the queue is empty.
  std::size_t queue_bytes = 0;
  /// What happens when the queue is full (in events or bytes).
  overflow_policy overflow = overflow_policy::block;
};

/// Name prefixes of the events the engine publishes about plugins. Each
/// lifecycle event is `prefix + plugin name`; subscribe to `"ee.lifecycle."`
/// for all of them. The engine's own events (lifecycle, dead letters) reach
/// only subscriptions whose non-empty filter matches them, never the empty
/// "everything" filter, so applications that subscribe to everything see
/// only their own events.
namespace lifecycle {
inline constexpr const char* started = "ee.lifecycle.started:";
inline constexpr const char* stopped = "ee.lifecycle.stopped:";
inline constexpr const char* failed = "ee.lifecycle.failed:";
inline constexpr const char* restarted = "ee.lifecycle.restarted:";
inline constexpr const char* escalated = "ee.lifecycle.escalated:";
/// Published (with the publisher's name as text) when an event for this
/// plugin was dropped because waiting for room in its queue would have
/// closed a wait-for cycle (see `subscriber_stats::dropped_cycle`).
inline constexpr const char* cycle = "ee.lifecycle.cycle:";
} // namespace lifecycle

/// Dead letters are published as `dead_letter_prefix + plugin name + "\n" +
/// the original event's bytes`.
inline constexpr const char* dead_letter_prefix = "ee.dead_letter:";

} // namespace ee
