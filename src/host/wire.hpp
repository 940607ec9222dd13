#pragma once

// What tap and pub share: endpoints, filters and names of event types,
// timestamps, and stopping on SIGINT/SIGTERM.

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "ee/event_type.hpp"

namespace ee::host {

/// @returns "tcp://HOST:PORT".
std::string endpoint(const std::string& host, int port);

/// Connects `socket` to `ep`; prints why not, naming `command`.
/// @returns true on success.
bool connect(zmq::socket_t& socket, const std::string& ep, const char* command);

/// Resolves a tap filter or pub type: a name of `types`, `hex:...`, or a
/// literal prefix. @returns the bytes, or nothing after printing an error
/// for bad hex.
std::optional<std::string> resolve_prefix(const std::string& text,
                                          const std::vector<event_type>& types);

/// @returns the type of `types` with the longest prefix that starts `bytes`,
/// or null.
const event_type* type_of(std::string_view bytes,
                          const std::vector<event_type>& types);

/// @returns the time now: local ("2026-01-02 15:04:05.123") or UTC in
/// ISO 8601 ("2026-01-02T14:04:05.123Z").
std::string timestamp(bool utc);

/// Set by SIGINT and SIGTERM once `stop_on_signals` ran.
extern std::atomic<bool> stop_requested;

/// Makes SIGINT and SIGTERM set `stop_requested`.
void stop_on_signals();

} // namespace ee::host
