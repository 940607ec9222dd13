#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ee {

/// Counters of one plugin as seen by the engine. For every plugin, at every
/// snapshot: `routed == handled + dead_letters + dropped + queued`.
struct subscriber_stats {
  /// How it runs: "actor", "blocking", "caf" or "external".
  std::string kind;
  /// Events that matched its subscriptions (each counted once).
  std::uint64_t routed = 0;
  /// Hand-offs to the plugin (an event delivered again counts again).
  std::uint64_t delivered = 0;
  /// Events it handled (acknowledged; for external plugins: settled).
  std::uint64_t handled = 0;
  /// Events dropped in total: `dropped_policy + dropped_cycle +
  /// dropped_retired`.
  std::uint64_t dropped = 0;
  /// Dropped by its overflow policy (or an engine event that found its
  /// queue full).
  std::uint64_t dropped_policy = 0;
  /// Dropped because waiting for room would have closed a wait-for cycle
  /// (plugins waiting on each other's full queues).
  std::uint64_t dropped_cycle = 0;
  /// Thrown away when the plugin went away for good (finished, failed,
  /// stopped at shutdown) with events still queued for it.
  std::uint64_t dropped_retired = 0;
  /// Events sent to dead letters (the event it failed on; for external
  /// plugins, events that used up their delivery attempts).
  std::uint64_t dead_letters = 0;
  /// Events delivered again after a failure.
  std::uint64_t redelivered = 0;
  /// Events queued or in flight now, and their bytes.
  std::uint64_t queued = 0;
  std::uint64_t queued_bytes = 0;
  /// Largest number of queued (undelivered + unacknowledged) events seen.
  std::uint64_t peak_queue = 0;
  /// Largest number of queued bytes seen.
  std::uint64_t peak_bytes = 0;
  /// Events it published.
  std::uint64_t published = 0;
  /// Times it had to wait for room to publish (flow control).
  std::uint64_t credit_waits = 0;
  /// Times it failed.
  std::uint64_t failures = 0;
  /// Times it was restarted.
  std::uint64_t restarts = 0;
  // -- external plugins only (their port on the wire) --
  /// Requests read from its port.
  std::uint64_t requests = 0;
  /// Requests answered (an event to `next_msg`, a publish confirmed).
  std::uint64_t round_trips = 0;
  /// Requests answered with `bad msg`.
  std::uint64_t bad_requests = 0;
  /// Connections that closed.
  std::uint64_t disconnects = 0;
};

/// Counters of one event type (a name and a prefix: from
/// `app_config::event_types`, the TOML file's `[types]`, or the plugins'
/// subscriptions). An event is of the type with the longest prefix that
/// starts it; events of no type count under `"(other)"`. Copies count once per
/// plugin that receives them; at every snapshot
/// `routed == handled + dead_letters + dropped + queued`.
struct type_stats {
  /// Events of this type published (each once).
  std::uint64_t published = 0;
  /// Copies that matched a plugin's subscriptions.
  std::uint64_t routed = 0;
  /// Hand-offs to plugins (an event delivered again counts again).
  std::uint64_t delivered = 0;
  /// Copies their plugin finished with.
  std::uint64_t handled = 0;
  /// Copies that went to dead letters.
  std::uint64_t dead_letters = 0;
  /// Copies dropped in total, and by reason (see `subscriber_stats`).
  std::uint64_t dropped = 0;
  std::uint64_t dropped_policy = 0;
  std::uint64_t dropped_cycle = 0;
  std::uint64_t dropped_retired = 0;
  /// Copies queued or in flight now.
  std::uint64_t queued = 0;
};

/// Counters of the engine.
struct engine_stats {
  /// Events routed (each once, however many plugins received it),
  /// including the engine's own.
  std::uint64_t published = 0;
  /// The engine's own events among them (lifecycle, dead letters).
  std::uint64_t system_events = 0;
  /// Events delivered to plugins (counting each copy).
  std::uint64_t delivered = 0;
  /// Events dropped in total (all plugins, all reasons).
  std::uint64_t dropped = 0;
  /// Dead letters in total.
  std::uint64_t dead_letters = 0;
  /// Events that matched no subscription at all.
  std::uint64_t unmatched = 0;
  /// Malformed or oversized messages rejected from the wire.
  std::uint64_t rejected = 0;
  /// Events handed to raw TCP subscribers on the subscribe port.
  std::uint64_t raw_routed = 0;
  /// Events dropped for raw TCP subscribers (their byte budget, or ZeroMQ's
  /// high-water mark: they keep ZeroMQ's drop semantics).
  std::uint64_t raw_dropped = 0;
  /// Events published by raw PUB clients on the publish port.
  std::uint64_t raw_published = 0;
  /// TCP connections refused in their handshake: with CURVE, clients whose
  /// key is not allowed on the port, plain-text clients and clients with a
  /// wrong server key (see docs/security.md).
  std::uint64_t refused_connections = 0;
  /// Raw SUB clients disconnected because their subscriptions went beyond
  /// a limit (`app_config::max_subscriptions` and its siblings).
  std::uint64_t refused_subscribers = 0;
  /// Per plugin, by name.
  std::map<std::string, subscriber_stats> plugins;
  /// Per event type, by name (`"(other)"`: events of no named type).
  std::map<std::string, type_stats> types;
};

/// @returns `st` as one line of JSON (the body of the periodic `ee.stats`
/// event; `docs/metrics.md` documents the fields).
std::string to_json(const engine_stats& st);

} // namespace ee
