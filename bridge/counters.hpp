#pragma once

// The bridge's counters, each declared once.

#include "ee/stats.hpp"

/// The counters of one external plugin's endpoint, declared once (in the
/// format of `ee/stats.hpp`): the wire counters every snapshot shows, then
/// the bridge's own. `endpoint_counters` (atomics, bridge/endpoint.hpp),
/// `endpoint_stats` and their copy are made from it.
#define EE_ENDPOINT_COUNTERS(X)                                                \
  EE_PLUGIN_WIRE_COUNTERS(X)                                                   \
  X(next_msg_served, counter, "", "",                                          \
    "next_msg requests answered with an event")                                \
  X(published, counter, "", "", "Events published through its port")           \
  X(redeliveries, counter, "", "",                                             \
    "Events sent again because their connection closed unconfirmed or the "    \
    "process was relaunched")                                                  \
  X(dead_letters, counter, "", "",                                             \
    "Events that reached the delivery-attempt limit")                          \
  X(discarded, counter, "", "",                                                \
    "Events thrown away because the plugin was retired")                       \
  X(probes, counter, "", "",                                                   \
    "Probes sent to verify connections of uncertain identity")

/// The bridge's own counters, declared once (in the format of
/// `ee/stats.hpp`); the engine's snapshot takes those of the same name.
#define EE_BRIDGE_COUNTERS(X)                                                  \
  X(rejected, counter, "", "",                                                 \
    "Wire messages rejected (bad requests and malformed raw events)")          \
  X(raw_published, counter, "", "", "Events published by raw PUB clients")     \
  X(raw_dropped, counter, "", "", "Events dropped for slow raw subscribers")   \
  X(auth_allowed, counter, "", "", "CURVE handshakes the ZAP handler allowed") \
  X(auth_refused, counter, "", "", "CURVE handshakes the ZAP handler refused") \
  X(refused_connections, counter, "", "",                                      \
    "Connections refused in their handshake for any reason (ZAP refusals, "    \
    "plain-text clients on CURVE ports, wrong server keys, ...), each logged " \
    "unless beyond the log's rate limit")                                      \
  X(refused_subscribers, counter, "", "",                                      \
    "Raw SUB clients disconnected for exceeding a subscription limit")
