#pragma once

#include <cstdint>
#include <map>
#include <string>

// Every counter of the engine is declared once, in the lists below: its
// field (also its JSON key), its kind, its Prometheus family, the value of
// its `reason` label and its meaning. The structs, `to_json`, the
// Prometheus output and the tables in docs/metrics.md (checked by
// tests/unit/metrics_doc_test.cpp) all come from these lists.
//
// X(field, kind, family, reason, help). Kinds:
// - `counter`, `gauge`: exported as a Prometheus counter or gauge;
// - `sum`: the sum of the fields that share its family (each with its own
//   `reason`); in the JSON, not exported itself (Prometheus sums labels).

/// The engine as a whole.
#define EE_ENGINE_COUNTERS(X)                                                  \
  X(routed, counter, "ee_events_routed_total", "",                             \
    "Events routed (each once, however many plugins received it), the "        \
    "engine's own included")                                                   \
  X(system_events, counter, "ee_system_events_total", "",                      \
    "The engine's own events among them (lifecycle, dead letters, stats)")     \
  X(delivered, counter, "ee_events_delivered_total", "",                       \
    "Events handed to plugins (each copy)")                                    \
  X(dropped, counter, "ee_events_dropped_total", "",                           \
    "Event copies dropped (all plugins, all reasons)")                         \
  X(dead_letters, counter, "ee_dead_letters_total", "",                        \
    "Dead letters (all plugins)")                                              \
  X(unmatched, counter, "ee_events_unmatched_total", "",                       \
    "Events that matched no subscription at all")                              \
  X(rejected, counter, "ee_wire_rejected_total", "",                           \
    "Malformed or oversized messages rejected from the wire")                  \
  X(raw_routed, counter, "ee_raw_events_routed_total", "",                     \
    "Events handed to raw SUB clients on the subscribe port")                  \
  X(raw_dropped, counter, "ee_raw_events_dropped_total", "",                   \
    "Events dropped for raw SUB clients (their byte budget, or ZeroMQ's "      \
    "high-water mark)")                                                        \
  X(raw_published, counter, "ee_raw_events_published_total", "",               \
    "Events published by raw PUB clients on the publish port")                 \
  X(refused_connections, counter, "ee_refused_connections_total", "",          \
    "TCP connections refused: beyond max_connections, or in their handshake "  \
    "(CURVE: keys not allowed, plain-text clients, wrong server keys; see "    \
    "docs/security.md)")                                                       \
  X(refused_subscribers, counter, "ee_refused_subscribers_total", "",          \
    "Raw SUB clients disconnected for going beyond a subscription limit "      \
    "(max_subscriptions and its siblings)")

/// One plugin's queue, kept by the router. For every plugin, at every
/// snapshot: `routed == handled + dead_letters + dropped + queued`.
#define EE_PLUGIN_QUEUE_COUNTERS(X)                                            \
  X(routed, counter, "ee_plugin_events_routed_total", "",                      \
    "Events that matched the plugin's subscriptions (each once)")              \
  X(delivered, counter, "ee_plugin_events_delivered_total", "",                \
    "Hand-offs to the plugin (a redelivery counts again)")                     \
  X(handled, counter, "ee_plugin_events_handled_total", "",                    \
    "Events the plugin finished with (acknowledged; external plugins: "        \
    "confirmed or sent, see the delivery mode)")                               \
  X(dropped, sum, "ee_plugin_events_dropped_total", "",                        \
    "Events dropped for the plugin, by reason")                                \
  X(dropped_policy, counter, "ee_plugin_events_dropped_total", "policy",       \
    "Dropped by its overflow policy (or an engine event that found its "       \
    "queue full)")                                                             \
  X(dropped_cycle, counter, "ee_plugin_events_dropped_total", "cycle",         \
    "Dropped because waiting for room would have closed a wait-for cycle "     \
    "(plugins waiting on each other's full queues)")                           \
  X(dropped_retired, counter, "ee_plugin_events_dropped_total", "retired",     \
    "Thrown away when the plugin went away for good (finished, failed, "       \
    "stopped at shutdown) with events queued")                                 \
  X(dead_letters, counter, "ee_plugin_dead_letters_total", "",                 \
    "Events of the plugin that went to dead letters (the event it failed "     \
    "on; external plugins: events that used up their delivery attempts)")      \
  X(redelivered, counter, "ee_plugin_events_redelivered_total", "",            \
    "Events delivered again after a failure or a vanished connection")         \
  X(queued, gauge, "ee_plugin_queue_events", "",                               \
    "Events queued for the plugin or in flight")                               \
  X(queued_bytes, gauge, "ee_plugin_queue_bytes", "",                          \
    "Bytes queued for the plugin or in flight")                                \
  X(peak_queue, gauge, "ee_plugin_queue_peak_events", "",                      \
    "Largest queue seen, in events")                                           \
  X(peak_bytes, gauge, "ee_plugin_queue_peak_bytes", "",                       \
    "Largest queue seen, in bytes")

/// One plugin as a publisher, kept by the router.
#define EE_PLUGIN_PUBLISH_COUNTERS(X)                                          \
  X(published, counter, "ee_plugin_events_published_total", "",                \
    "Events the plugin published")                                             \
  X(credit_waits, counter, "ee_plugin_credit_waits_total", "",                 \
    "Times the plugin waited for room to publish (flow control)")

/// One plugin's failures, kept by the supervisor.
#define EE_PLUGIN_SUPERVISION_COUNTERS(X)                                      \
  X(failures, counter, "ee_plugin_failures_total", "",                         \
    "Times the plugin failed")                                                 \
  X(restarts, counter, "ee_plugin_restarts_total", "",                         \
    "Times the plugin was restarted")

/// An external plugin's port, kept by the bridge (external plugins only).
#define EE_PLUGIN_WIRE_COUNTERS(X)                                             \
  X(requests, counter, "ee_plugin_requests_total", "",                         \
    "Requests read from the external plugin's port")                           \
  X(round_trips, counter, "ee_plugin_round_trips_total", "",                   \
    "Requests of the external plugin answered (an event to next_msg, a "       \
    "publish confirmed)")                                                      \
  X(bad_requests, counter, "ee_plugin_bad_requests_total", "",                 \
    "Requests of the external plugin answered with bad msg")                   \
  X(disconnects, counter, "ee_plugin_disconnects_total", "",                   \
    "Connections to the external plugin's port that closed")

/// One event type, kept by the router. Copies count once per plugin that
/// receives them; at every snapshot
/// `routed == handled + dead_letters + dropped + queued`.
#define EE_TYPE_COUNTERS(X)                                                    \
  X(published, counter, "ee_type_events_published_total", "",                  \
    "Events of the type published (each once)")                                \
  X(routed, counter, "ee_type_events_routed_total", "",                        \
    "Copies of the type's events that matched a plugin")                       \
  X(delivered, counter, "ee_type_events_delivered_total", "",                  \
    "Hand-offs of the type's events to plugins (a redelivery counts again)")   \
  X(handled, counter, "ee_type_events_handled_total", "",                      \
    "Copies of the type's events their plugin finished with")                  \
  X(dead_letters, counter, "ee_type_dead_letters_total", "",                   \
    "Copies of the type's events that went to dead letters")                   \
  X(dropped, sum, "ee_type_events_dropped_total", "",                          \
    "Copies of the type's events dropped, by reason")                          \
  X(dropped_policy, counter, "ee_type_events_dropped_total", "policy",         \
    "Copies dropped by their plugin's overflow policy")                        \
  X(dropped_cycle, counter, "ee_type_events_dropped_total", "cycle",           \
    "Copies dropped to break a wait-for cycle")                                \
  X(dropped_retired, counter, "ee_type_events_dropped_total", "retired",       \
    "Copies thrown away when their plugin went away for good")                 \
  X(queued, gauge, "ee_type_queue_events", "",                                 \
    "Copies of the type's events queued or in flight")

/// The federation as a whole (docs/federation.md).
#define EE_FEDERATION_COUNTERS(X)                                              \
  X(refused, counter, "ee_federation_refused_total", "",                       \
    "Peer connections refused (TLS failures, plain vs TLS, a duplicate name, " \
    "the engine itself)")                                                      \
  X(duplicates, counter, "ee_federation_duplicates_total", "",                 \
    "Copies of events from peers dropped as already seen (rings, meshes, "     \
    "resends after a reconnect)")

/// One peer link of the federation. `rtt_us` is exported in seconds.
#define EE_FEDERATION_PEER_COUNTERS(X)                                         \
  X(up, gauge, "ee_federation_peer_up", "", "1 while the link is up")          \
  X(forwarded, counter, "ee_federation_forwarded_total", "",                   \
    "Events sent to the peer (each once, resends not counted)")                \
  X(received, counter, "ee_federation_received_total", "",                     \
    "Events received from the peer (first copies)")                            \
  X(buffered_bytes, gauge, "ee_federation_buffered_bytes", "",                 \
    "Bytes of events kept for the peer, not yet acknowledged")                 \
  X(dropped, counter, "ee_federation_dropped_total", "",                       \
    "Events for the peer dropped from its full buffer while the link was "     \
    "down")                                                                    \
  X(rtt_us, gauge, "ee_federation_rtt_seconds", "",                            \
    "Round-trip time of the last ping")

/// Declares the field of a list entry (every kind).
#define EE_STATS_FIELD(field, ...) std::uint64_t field = 0;

namespace ee {

/// How a counter is exported (see the lists above).
enum class stat_kind { counter, gauge, sum };

/// One entry of a counter list, for code that walks all of them.
template <class Stats>
struct stat_field {
  /// The field's name and its JSON key.
  const char* key;
  std::uint64_t Stats::*member;
  stat_kind kind;
  /// The Prometheus family.
  const char* family;
  /// The value of the label `reason` ("": no such label).
  const char* reason;
  const char* help;
  /// Exported for external plugins only.
  bool external_only;
};

/// Counters of one plugin as seen by the engine.
struct subscriber_stats {
  /// How it runs: "actor", "blocking", "caf" or "external".
  std::string kind;
  EE_PLUGIN_QUEUE_COUNTERS(EE_STATS_FIELD)
  EE_PLUGIN_PUBLISH_COUNTERS(EE_STATS_FIELD)
  EE_PLUGIN_SUPERVISION_COUNTERS(EE_STATS_FIELD)
  EE_PLUGIN_WIRE_COUNTERS(EE_STATS_FIELD)
};

/// Counters of one event type (a name and a prefix: from
/// `app_config::event_types`, the TOML file's `[types]`, or the plugins'
/// subscriptions). An event is of the type with the longest prefix that
/// starts it; events of no type count under `"(other)"`.
struct type_stats {
  EE_TYPE_COUNTERS(EE_STATS_FIELD)
};

/// Counters of one peer link.
struct federation_peer_stats {
  EE_FEDERATION_PEER_COUNTERS(EE_STATS_FIELD)
};

/// Counters of the federation (empty `name`: the engine does not federate).
struct federation_stats {
  std::string name;
  EE_FEDERATION_COUNTERS(EE_STATS_FIELD)
  /// Per peer, by name (a configured peer never reached: by its address).
  std::map<std::string, federation_peer_stats> peers;
};

/// Counters of the engine.
struct engine_stats {
  EE_ENGINE_COUNTERS(EE_STATS_FIELD)
  /// Per plugin, by name.
  std::map<std::string, subscriber_stats> plugins;
  /// Per event type, by name (`"(other)"`: events of no named type).
  std::map<std::string, type_stats> types;
  /// The federation's counters.
  federation_stats federation;
};

#define EE_STATS_DESCRIBE(Stats, external, field, kind, family, reason, help)  \
  stat_field<Stats>{#field, &Stats::field, stat_kind::kind, family,            \
                    reason, help,          external},
#define EE_STATS_ENGINE(...) EE_STATS_DESCRIBE(engine_stats, false, __VA_ARGS__)
#define EE_STATS_PLUGIN(...)                                                   \
  EE_STATS_DESCRIBE(subscriber_stats, false, __VA_ARGS__)
#define EE_STATS_EXTERNAL(...)                                                 \
  EE_STATS_DESCRIBE(subscriber_stats, true, __VA_ARGS__)
#define EE_STATS_TYPE(...) EE_STATS_DESCRIBE(type_stats, false, __VA_ARGS__)

/// The engine-wide counters, in list order.
inline constexpr stat_field<engine_stats> engine_fields[] = {
    EE_ENGINE_COUNTERS(EE_STATS_ENGINE)};

/// A plugin's counters, in list order.
inline constexpr stat_field<subscriber_stats> plugin_fields[] = {
    EE_PLUGIN_QUEUE_COUNTERS(EE_STATS_PLUGIN)
        EE_PLUGIN_PUBLISH_COUNTERS(EE_STATS_PLUGIN)
            EE_PLUGIN_SUPERVISION_COUNTERS(EE_STATS_PLUGIN)
                EE_PLUGIN_WIRE_COUNTERS(EE_STATS_EXTERNAL)};

#define EE_STATS_FEDERATION(...)                                               \
  EE_STATS_DESCRIBE(federation_stats, false, __VA_ARGS__)
#define EE_STATS_PEER(...)                                                     \
  EE_STATS_DESCRIBE(federation_peer_stats, false, __VA_ARGS__)

/// The federation's counters, in list order.
inline constexpr stat_field<federation_stats> federation_fields[] = {
    EE_FEDERATION_COUNTERS(EE_STATS_FEDERATION)};

/// A peer link's counters, in list order.
inline constexpr stat_field<federation_peer_stats> peer_fields[] = {
    EE_FEDERATION_PEER_COUNTERS(EE_STATS_PEER)};

/// An event type's counters, in list order.
inline constexpr stat_field<type_stats> type_fields[] = {
    EE_TYPE_COUNTERS(EE_STATS_TYPE)};

#undef EE_STATS_DESCRIBE
#undef EE_STATS_ENGINE
#undef EE_STATS_PLUGIN
#undef EE_STATS_EXTERNAL
#undef EE_STATS_TYPE
#undef EE_STATS_FEDERATION
#undef EE_STATS_PEER

/// @returns `st` as one line of JSON (the body of the periodic `ee.stats`
/// event; `docs/metrics.md` documents the fields).
std::string to_json(const engine_stats& st);

} // namespace ee
