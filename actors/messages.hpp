#pragma once

// The project's single header of CAF atoms and message types.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include "actors/federation_messages.hpp"
#include "bridge/seam.hpp"
#include "ee/event.hpp"
#include "ee/stats.hpp"

namespace ee {

/// A stats request: the engine fills it; the asker waits with a timeout and
/// never throws (a dead engine just leaves it empty). Thread-safe.
class stats_request {
public:
  void fulfil(engine_stats st) {
    {
      std::lock_guard<std::mutex> guard{mtx_};
      value_ = std::move(st);
    }
    cv_.notify_all();
  }

  /// @returns the snapshot, or nothing after `timeout`.
  std::optional<engine_stats> wait(std::chrono::milliseconds timeout) {
    std::unique_lock<std::mutex> guard{mtx_};
    cv_.wait_for(guard, timeout, [&] { return value_.has_value(); });
    return value_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::optional<engine_stats> value_; // guarded by mtx_
};

using stats_request_ptr = std::shared_ptr<stats_request>;

// -- plugin host -> engine
// ------------------------------------------------------

/// `(ready_atom, slot, incarnation, filters, type_names)`: subscriptions are
/// in place (a blocking plugin's thread announces them).
using ready_atom = caf::atom_constant<caf::atom("ready")>;

/// `(drain_atom, slot)`: the doorbell of the plugin's outbox.
using drain_atom = caf::atom_constant<caf::atom("drain")>;

/// `(ack_atom, slot, n)`: the plugin handled its `n` oldest delivered events.
using ack_atom = caf::atom_constant<caf::atom("ack")>;

/// `(failure_atom, slot, incarnation, handled, poisoned, what)` just before
/// the host ends because its plugin threw: `handled` delivered events were
/// handled first; if `poisoned`, the next one was being handled (it goes to
/// dead letters, not back to the plugin).
using failure_atom = caf::atom_constant<caf::atom("failure")>;

/// `(ended_atom, slot, incarnation, abnormal, reason)`: a blocking plugin's
/// thread is done (event-based hosts are monitored instead).
using ended_atom = caf::atom_constant<caf::atom("ended")>;

// -- engine -> plugin host
// ------------------------------------------------------

/// The start barrier passed: run your start code.
using ok_atom = caf::atom_constant<caf::atom("ok")>;

/// `(deliver_atom, event_batch)`.
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;

/// `(credit_atom, events, bytes)`: publish this much more.
using credit_atom = caf::atom_constant<caf::atom("credit")>;

/// Stop your plugin (`on_stop`, then end). app -> engine: stop the app.
using stop_atom = caf::atom_constant<caf::atom("stop")>;

/// host -> itself: `(timer_atom, timer_id)`: a plugin's scheduled action.
using timer_atom = caf::atom_constant<caf::atom("timer")>;

/// engine -> itself: `(sup_timer_atom, kind, slot, generation)`: a timer of
/// the supervisor.
using sup_timer_atom = caf::atom_constant<caf::atom("sup_timer")>;

/// engine -> itself: break wait-for cycles, now and then while publishers
/// wait.
using tick_atom = caf::atom_constant<caf::atom("tick")>;

/// engine -> itself: publish the periodic `ee.stats` event.
using report_atom = caf::atom_constant<caf::atom("report")>;

// -- bridge -> engine (through the engine_link of bridge/seam.hpp)
// ---------------

/// `(publish_atom, endpoint, event_batch)`.
using publish_atom = caf::atom_constant<caf::atom("publish")>;

/// `(settle_atom, endpoint, settlement)`.
using settle_atom = caf::atom_constant<caf::atom("settle")>;

/// `(first_atom, endpoint)`: the first request on an endpoint.
using first_atom = caf::atom_constant<caf::atom("first")>;

/// `(quit_atom, endpoint)`: the external plugin sent quit.
using quit_atom = caf::atom_constant<caf::atom("quit")>;

/// `(exited_atom, endpoint, normal, text)`: its process ended.
using exited_atom = caf::atom_constant<caf::atom("exited")>;

/// `(raw_sub_atom, filter, subscribed)`: raw TCP subscribers.
using raw_sub_atom = caf::atom_constant<caf::atom("rawsub")>;

/// `(bridge_failed_atom, what)`: the bridge's thread ended on an error.
using bridge_failed_atom = caf::atom_constant<caf::atom("brfailed")>;

// -- anyone -> engine
// -------------------------------------------------------------

/// `(stats_atom, stats_request_ptr)`: fill in a snapshot of the counters.
using stats_atom = caf::atom_constant<caf::atom("stats")>;

// -- the engine's interface
// ----------------------------------------------------------

/// A handle to the engine actor: every message it takes, as listed above,
/// so a message of the wrong shape does not compile.
using engine_handle = caf::typed_actor<
    caf::reacts_to<ready_atom, slot_id, std::uint32_t, std::vector<std::string>,
                   std::vector<std::string>>,
    caf::reacts_to<drain_atom, slot_id>,
    caf::reacts_to<ack_atom, slot_id, std::uint64_t>,
    caf::reacts_to<failure_atom, slot_id, std::uint32_t, std::uint64_t, bool,
                   std::string>,
    caf::reacts_to<ended_atom, slot_id, std::uint32_t, bool, std::string>,
    caf::reacts_to<publish_atom, endpoint_id, event_batch>,
    caf::reacts_to<settle_atom, endpoint_id, settlement>,
    caf::reacts_to<first_atom, endpoint_id>,
    caf::reacts_to<quit_atom, endpoint_id>,
    caf::reacts_to<exited_atom, endpoint_id, bool, std::string>,
    caf::reacts_to<raw_sub_atom, std::string, bool>,
    caf::reacts_to<bridge_failed_atom, std::string>,
    caf::reacts_to<sup_timer_atom, int, child_id, std::uint64_t>,
    caf::reacts_to<tick_atom>, caf::reacts_to<report_atom>,
    caf::reacts_to<stop_atom>, caf::reacts_to<stats_atom, stats_request_ptr>,
    caf::reacts_to<fed_publish_atom, event_batch>,
    caf::reacts_to<fed_taken_atom, std::uint64_t>,
    caf::reacts_to<fed_filters_atom, std::vector<std::string>>,
    caf::reacts_to<fed_peer_atom, std::string, bool>>;

} // namespace ee

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::event_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::settlement)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(ee::stats_request_ptr)
