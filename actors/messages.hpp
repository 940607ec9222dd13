#pragma once

// The project's single header of CAF atoms and message types.

#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>

#include "ee/event.hpp"
#include "ee/stats.hpp"

namespace ee {

/// Where the engine puts a stats snapshot.
using stats_promise = std::shared_ptr<std::promise<engine_stats>>;

/// A batch of events in one message.
using event_batch = std::vector<event>;

/// Index of a plugin (subscriber) slot in the engine.
using slot_id = std::uint32_t;

// -- plugin host <-> engine
// ----------------------------------------------------

/// host -> engine: `(ready_atom, slot_id, incarnation, filters)`: subscriptions
/// are in place. bridge -> engine: `(ready_atom, slot_id)`: an external
/// process made its first request.
using ready_atom = caf::atom_constant<caf::atom("ready")>;

/// engine -> host: the start barrier passed, run your start code.
using ok_atom = caf::atom_constant<caf::atom("ok")>;

/// bridge -> engine: `(publish_atom, event)`.
using publish_atom = caf::atom_constant<caf::atom("publish")>;

/// host -> engine: `(drain_atom, slot_id)`: the doorbell of the plugin's
/// outbox (a `publish_queue`): take its events and publish them (the engine
/// returns credit for each).
using drain_atom = caf::atom_constant<caf::atom("drain")>;

/// engine -> host or bridge: `(deliver_atom, slot_id, event_batch)`.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

/// host or bridge -> engine: `(ack_atom, slot_id, count)`: handled events.
using ack_atom = caf::atom_constant<caf::atom("ack")>;

/// host -> engine: `(failure_atom, slot_id, handled, poisoned, what)` just
/// before the host quits because its plugin threw; `handled` delivered events
/// were handled before the failure; if `poisoned`, the next one was being
/// handled when it failed (it goes to dead letters, not back to the plugin).
using failure_atom = caf::atom_constant<caf::atom("failure")>;

/// engine -> host: stop your plugin (`on_stop`, then quit).
/// app -> engine: stop the app.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// host -> itself: a timer fired, `(timer_atom, timer_id)`.
using timer_atom = caf::atom_constant<caf::atom("timer")>;

/// engine -> itself: flush queued events to subscribers.
using flush_atom = caf::atom_constant<caf::atom("flush")>;

/// engine -> itself: `(restart_atom, slot_id, generation)` restart a plugin.
using restart_atom = caf::atom_constant<caf::atom("restart")>;

/// engine -> itself: `(timeout_atom, slot_id)` a stopping plugin took too long.
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;

/// bridge -> engine: `(quit_atom, slot_id)` an external plugin sent quit.
using quit_atom = caf::atom_constant<caf::atom("quit")>;

/// bridge -> engine: `(exited_atom, slot_id, normal, text)` a launched process
/// exited; engine -> bridge: `(launch_atom, slot_id)` (re)start its process.
using exited_atom = caf::atom_constant<caf::atom("exited")>;
using launch_atom = caf::atom_constant<caf::atom("launch")>;

/// bridge -> engine: `(raw_sub_atom, filter, subscribe)` raw TCP subscribers
/// (un)subscribed.
using raw_sub_atom = caf::atom_constant<caf::atom("rawsub")>;

/// engine -> publisher (host or bridge): `(credit_atom, n)` n more events may
/// be published.
using credit_atom = caf::atom_constant<caf::atom("credit")>;

/// anyone -> engine: `(stats_atom, stats_promise)`: fulfil the promise with
/// a snapshot of the counters (no scoped actor needed by the caller).
using stats_atom = caf::atom_constant<caf::atom("stats")>;

} // namespace ee

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::event_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::engine_stats)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::stats_promise)
