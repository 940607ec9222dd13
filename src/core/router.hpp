#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ee/event.hpp"
#include "ee/stats.hpp"
#include "ee/supervision.hpp"
#include "src/core/ids.hpp"
#include "src/core/ring.hpp"
#include "src/core/shared_types.hpp"
#include "src/core/subscription_table.hpp"

namespace ee {

/// Bounds and policy of one subscriber's queue.
struct subscriber_limits {
  /// Most events queued plus in flight.
  std::size_t capacity = 10000;
  /// Most bytes queued plus in flight (an event larger than this still gets
  /// into an empty queue).
  std::size_t bytes = 64 * 1024 * 1024;
  /// Most events in flight (delivered, not yet settled).
  std::size_t window = 1000;
  /// What a full queue does to a new event.
  overflow_policy overflow = overflow_policy::block;
};

/// Who holds the events a subscriber has in flight.
enum class custody {
  /// The router keeps them (internal plugins: a crashed host's mailbox is
  /// gone, so the router redelivers from its own copy).
  router,
  /// The subscriber's owner keeps them and settles them in batches (external
  /// plugins: the bridge's endpoint); the router only counts.
  owner,
};

/// Declares a counter of a list in `ee/stats.hpp` the router keeps (sums are
/// computed: `dropped()`).
#define EE_ROUTER_FIELD(field, kind, ...) EE_ROUTER_FIELD_##kind(field)
#define EE_ROUTER_FIELD_counter(field) std::uint64_t field = 0;
#define EE_ROUTER_FIELD_gauge(field) std::uint64_t field = 0;
#define EE_ROUTER_FIELD_sum(field)

/// Counters of one subscriber (`EE_PLUGIN_QUEUE_COUNTERS`). At every moment
/// `routed == handled + dead_letters + dropped() + queued`.
struct subscriber_counters {
  EE_PLUGIN_QUEUE_COUNTERS(EE_ROUTER_FIELD)

  std::uint64_t dropped() const noexcept {
    return dropped_policy + dropped_cycle + dropped_retired;
  }
};

/// Counters of one event type (`EE_TYPE_COUNTERS`). Copies count once per
/// subscriber; at every moment
/// `routed == handled + dead_letters + dropped() + queued`.
struct type_counters {
  EE_TYPE_COUNTERS(EE_ROUTER_FIELD)

  std::uint64_t dropped() const noexcept {
    return dropped_policy + dropped_cycle + dropped_retired;
  }
};

/// Counters of one publisher (`EE_PLUGIN_PUBLISH_COUNTERS`, and its parking).
struct publisher_counters {
  EE_PLUGIN_PUBLISH_COUNTERS(EE_ROUTER_FIELD)
  /// Events that closed a wait-for cycle and were dropped for some
  /// subscriber (see `subscriber_counters::dropped_cycle`).
  std::uint64_t cycles_broken = 0;
  /// Events parked now (waiting for room).
  std::uint64_t parked = 0;
  /// Largest `parked` seen.
  std::uint64_t peak_parked = 0;
};

/// Counters of the whole router.
struct router_totals {
  /// Events routed (each once, however many subscribers it reached),
  /// including the engine's own.
  std::uint64_t routed = 0;
  /// The engine's own events among them.
  std::uint64_t system = 0;
  /// Events that matched no subscriber (internal or raw).
  std::uint64_t unmatched = 0;
  /// Events handed to raw subscribers, and dropped for their byte budget.
  std::uint64_t raw_routed = 0;
  std::uint64_t raw_dropped = 0;
  /// Bytes handed to raw subscribers and not yet released by ZeroMQ.
  std::uint64_t raw_bytes = 0;
};

/// Where `router::flush` puts what routing decided.
class router_sink {
public:
  virtual ~router_sink();

  /// Deliver `events` to subscriber `sub`, in order.
  virtual void deliver(sub_id sub, event_batch&& events) = 0;

  /// Publisher `pub` may publish `c` more.
  virtual void grant(pub_id pub, credit c) = 0;

  /// Hand `events` to raw subscribers.
  virtual void deliver_raw(event_batch&& events) = 0;

  /// An event of `pub` was dropped for `sub` because delivering it would
  /// have closed a wait-for cycle (reported once per flush per pair).
  virtual void cycle(pub_id pub, sub_id sub) = 0;
};

/// The engine's routing and flow control, as a plain class: no actors, no
/// threads, no clock.
///
/// * Subscriptions: prefix filters per subscriber (a `subscription_table`),
///   plus the filters of raw subscribers.
/// * Per subscriber: a queue bounded in events and bytes, a delivery window,
///   an overflow policy, counters.
/// * Per publisher: credit (events and bytes; returned in batches as its
///   events are routed) and parking: an event that a full `block`
///   subscriber cannot take waits at its publisher, in order, and the
///   publisher gets no credit back meanwhile; a subscriber whose own
///   publisher side is waiting gets nothing new, so backpressure travels
///   up a pipeline.
/// * A publisher about to wait on a subscriber that (transitively) waits on
///   it would never move again: the event is dropped for that subscriber
///   instead, counted, and reported (`router_sink::cycle`).
/// * While closed (before the start barrier) publications park.
///
/// Every function but `flush` only changes state; `flush` emits the
/// deliveries, grants, raw batches and cycle reports that became due.
class router {
public:
  /// @param raw_bytes most bytes handed to raw subscribers and not yet
  ///        released (`raw_released`); beyond it raw events are dropped.
  explicit router(std::size_t raw_bytes = 64 * 1024 * 1024);

  router(const router&) = delete;
  router& operator=(const router&) = delete;

  ~router();

  // -- topology ---------------------------------------------------------------

  /// Adds a subscriber (inactive, no filters). @returns its id.
  sub_id add_subscriber(std::string name, subscriber_limits limits,
                        custody who);

  /// Adds a publisher with `window` credit. `self` is its own subscriber
  /// side, if any (it gets no deliveries while the publisher waits). Without
  /// `echo`, its own events never reach `self` (the federation: events from
  /// peers must not flow back out).
  pub_id add_publisher(std::string name, credit window,
                       sub_id self = sub_id::none(), bool echo = true);

  /// Replaces the filters of `sub`.
  void subscribe(sub_id sub, const std::vector<std::string>& filters);

  /// Allows (or stops) deliveries to `sub`. Events queue either way.
  void set_active(sub_id sub, bool active);

  /// `sub` is gone for good: its filters go, its queue is dropped (counted
  /// as retired); events in the router's custody too; events in its owner's
  /// custody count until settled.
  void retire(sub_id sub);

  /// A new incarnation of `pub` starts with a full window: what the router
  /// owed the old one is void.
  void reset_credit(pub_id pub);

  /// Sets the raw subscribers' byte budget (see the constructor).
  void raw_budget(std::size_t bytes) { raw_budget_ = bytes; }

  /// Names the event types to count by: `(name, prefix)` pairs. An event is
  /// of the type with the longest prefix that starts it; events of none
  /// count as type `types()` ("other"). Call before routing.
  void set_types(const std::vector<std::pair<std::string, std::string>>& types);

  /// @returns the number of named event types (the "other" type has this
  /// id).
  type_id types() const noexcept { return type_id{type_names_.size()}; }

  /// @returns the name of type `t` ("" for the "other" type).
  const std::string& type_name(type_id t) const;

  /// @returns the counters of type `t` (`t <= types()`).
  const type_counters& counters_of_type(type_id t) const {
    return type_counters_[t];
  }

  /// A raw subscriber added (or removed) `filter`.
  void raw_subscribe(std::string_view filter, bool on);

  /// While closed, publications park (the start barrier); opening routes
  /// them.
  void set_open(bool open);

  // -- events -----------------------------------------------------------------

  /// Routes `ev` from `pub`, or parks it.
  void publish(pub_id pub, event ev);

  /// Routes the engine's own event: never waits; reaches only filters that
  /// name it (not the empty filter); a full subscriber loses it (counted as
  /// a policy drop).
  void publish_system(event ev);

  // -- subscriber feedback ----------------------------------------------------

  /// `sub` (router custody) handled its `n` oldest events in flight.
  void ack(sub_id sub, std::uint64_t n);

  /// Takes `sub`'s oldest event in flight as a dead letter (router custody:
  /// the event its host failed on). @returns it, if there was one.
  std::optional<event> take_dead_letter(sub_id sub);

  /// Puts `sub`'s events in flight back at the front of its queue, in order
  /// (router custody: its host went down).
  void requeue(sub_id sub);

  /// `sub` (owner custody) settled events: handled, discarded (counted as
  /// retired drops) and dead letters (returned for publication).
  void settle(sub_id sub, const settlement& s);

  /// Forgets events still in `sub`'s owner's custody, counted as retired
  /// drops (the owner is gone and will not settle them).
  void abandon_in_flight(sub_id sub);

  /// ZeroMQ released `bytes` of raw events.
  void raw_released(std::uint64_t bytes);

  /// Retries every waiting publisher, breaking wait-for cycles that formed
  /// without a publisher starting to wait (a queue that filled up while its
  /// would-be publishers already waited). Cycles that close when a publisher
  /// starts to wait are broken at once; call this now and then while
  /// `waiting_publishers() > 0` to catch the rest.
  void break_cycles();

  // -- output -----------------------------------------------------------------

  /// Emits what became due: deliveries, grants, raw events, cycle reports.
  void flush(router_sink& sink);

  // -- queries ----------------------------------------------------------------

  /// @returns true if `sub` has nothing queued, nor in the router's custody.
  bool drained(sub_id sub) const;

  /// @returns true if `pub` has events waiting for room.
  bool waiting(pub_id pub) const { return pubs_[pub].blocked; }

  /// @returns the number of publishers with events waiting for room.
  std::size_t waiting_publishers() const noexcept { return waiting_; }

  const subscriber_counters& counters(sub_id sub) const {
    return subs_[sub].counters;
  }

  const publisher_counters& counters_of_publisher(pub_id pub) const {
    return pubs_[pub].counters;
  }

  /// @returns the publisher whose subscriber side is `sub` (see
  /// `add_publisher`), or `pub_id::none()`.
  pub_id publisher_of(sub_id sub) const { return subs_[sub].self; }

  const std::string& name(sub_id sub) const { return subs_[sub].name; }

  const router_totals& totals() const noexcept { return totals_; }

  std::size_t subscribers() const noexcept { return subs_.size(); }

  /// @returns every subscriber's id, in order.
  auto subscriber_ids() const noexcept { return subs_.ids(); }

  /// @returns every event type's id, the "other" type's last.
  auto type_ids() const noexcept { return type_counters_.ids(); }

  std::size_t publishers() const noexcept { return pubs_.size(); }

private:
  struct parked_event {
    event ev;
    // Subscribers it was already dropped for (cycle breaking).
    std::vector<sub_id> skip;
  };

  // A queued event, its type and its size (pending with router custody:
  // holding two references, see `release_spare`). The size is kept here so
  // that delivering and acknowledging read no event's block: its line is
  // the one the subscribers' threads write when they drop their copies.
  struct item {
    event ev;
    type_id type;
    std::size_t size;
  };

  struct subscriber {
    std::string name;
    subscriber_limits limits;
    custody who = custody::router;
    pub_id self;
    bool active = false;
    bool gone = false;
    bool dirty = false;
    ring<item> pending;
    // Router custody: the events in flight; owner custody: only counted
    // (per type, so that what the owner never settles can be counted).
    ring<item> in_flight;
    id_vector<type_id, std::uint64_t> owned_by_type;
    std::uint64_t in_flight_count = 0;
    std::uint64_t in_flight_bytes = 0;
    // Publishers whose head event waits for room here.
    std::vector<pub_id> waiters;
    subscriber_counters counters;
  };

  struct publisher {
    std::string name;
    credit window;
    sub_id self;
    bool echo = true;
    ring<parked_event> parked;
    bool blocked = false;
    // Subscribers the head parked event waits on.
    std::vector<sub_id> waits_on;
    std::uint64_t owed_events = 0;
    std::uint64_t owed_bytes = 0;
    bool grant_due = false;
    publisher_counters counters;
  };

  enum class outcome { routed, waiting };

  bool full(const subscriber& s, std::size_t size) const {
    auto& c = s.counters;
    return c.queued >= s.limits.capacity ||
           (c.queued > 0 && c.queued_bytes + size > s.limits.bytes);
  }

  void sort_matched();
  // Router custody: a pending event holds a spare reference, which its
  // delivery batch takes over, so delivering writes no reference count
  // (a cache line the subscribers' threads keep writing). Releases it.
  static void release_spare(const subscriber& s, const event& ev);
  type_id classify(std::string_view bytes) const;
  outcome try_route(pub_id pub, const event& ev, std::vector<sub_id>& skip);
  // Enqueues `ev` for every subscriber in `matched_`.
  void fan_out(const event& ev, type_id t);
  void enqueue(sub_id id, event ev, type_id t);
  void drop_typed(type_id t, std::uint64_t type_counters::*reason);
  void drop_pending_front(subscriber& s);
  void route_raw(const event& ev, bool system);
  void owe(pub_id pub, std::uint64_t events, std::uint64_t bytes);
  void block(pub_id pub);
  void unblock(pub_id pub);
  void set_waits_on(pub_id pub, std::vector<sub_id> subs);
  void retry(pub_id pub);
  void room_freed(sub_id sub);
  void retry_all();
  void blockers(pub_id pub, std::vector<sub_id>& out);
  bool reaches(sub_id from, sub_id target);
  void mark_dirty(sub_id sub);
  void note_queue(subscriber& s);
  void deliver(sub_id id, router_sink& sink);

  subscription_table table_;
  subscription_table raw_table_;
  // Event types: their prefixes (subscriber = type id), names, counters.
  subscription_table type_table_;
  id_vector<type_id, std::string> type_names_;
  id_vector<type_id, std::size_t> type_lengths_;
  id_vector<type_id, type_counters> type_counters_;
  mutable std::vector<subscription_table::subscriber> type_matched_;
  id_vector<sub_id, subscriber> subs_;
  id_vector<pub_id, publisher> pubs_;
  bool open_ = true;
  std::size_t waiting_ = 0;
  std::size_t raw_budget_;
  router_totals totals_;
  // Work for the next flush.
  std::vector<sub_id> dirty_;
  std::vector<sub_id> flushing_;
  std::vector<pub_id> grants_;
  std::vector<pub_id> granting_;
  event_batch raw_batch_;
  std::vector<std::pair<pub_id, sub_id>> cycles_;
  // Publishers parked while closed, in order of parking.
  std::vector<pub_id> held_;
  // Scratch space.
  std::vector<subscription_table::subscriber> matched_;
  std::vector<sub_id> no_skip_;
  id_vector<sub_id, std::uint64_t> visit_stamp_;
  std::uint64_t stamp_ = 0;
  std::vector<sub_id> stack_;
  std::vector<subscription_table::subscriber> edge_matched_;
  std::vector<sub_id> edge_blockers_;
};

} // namespace ee
