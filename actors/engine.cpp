#include "actors/engine.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/backoff.hpp"
#include "actors/messages.hpp"
#include "actors/plugin_host.hpp"
#include "actors/publish_queue.hpp"
#include "actors/subscription_table.hpp"
#include "ee/caf.hpp"
#include "ee/log.hpp"

namespace ee {

plugin_kind kind_of(const plugin_base& instance) {
  if (dynamic_cast<const blocking_plugin*>(&instance) != nullptr)
    return plugin_kind::blocking;
  if (dynamic_cast<const caf_plugin*>(&instance) != nullptr)
    return plugin_kind::raw_caf;
  return plugin_kind::actor;
}

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_uuid() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  auto a = rng();
  auto b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL; // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL; // variant 1
  char buf[37];
  std::snprintf(
      buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx",
      static_cast<unsigned>(a >> 32), static_cast<unsigned>((a >> 16) & 0xffff),
      static_cast<unsigned>(a & 0xffff), static_cast<unsigned>(b >> 48),
      static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

/// Where a plugin is in its life.
enum class slot_state {
  /// Spawned, subscriptions not registered yet.
  starting,
  /// Subscriptions in place, waiting for the barrier.
  ready,
  /// Started, receives events.
  running,
  /// Asked to stop (shutdown), waiting for it to go down.
  stopping,
  /// Asked to stop because a sibling failed (one_for_all, rest_for_one).
  stopping_for_restart,
  /// Down, waiting for its back-off delay to pass.
  restarting,
  /// Finished normally; gone for good.
  finished,
  /// Failed and not restarted; gone for good.
  failed,
};

struct slot {
  slot_id id = 0;
  plugin_spec* spec = nullptr;
  std::string uuid;
  caf::actor host;
  slot_state state = slot_state::starting;
  std::uint32_t incarnation = 0;
  std::uint32_t restarts = 0;
  // Bumped whenever a scheduled restart must be ignored.
  std::uint64_t restart_generation = 0;
  std::vector<std::string> filters;
  bool filters_registered = false;
  // What the plugin publishes goes through here (see publish_queue).
  std::shared_ptr<publish_queue> outbox = std::make_shared<publish_queue>();
  // Events queued for the plugin, not delivered yet.
  std::deque<event> pending;
  // Events delivered but not acknowledged, in delivery order.
  std::deque<event> unacked;
  std::size_t capacity = 0;
  // Set by a failure message from the host, before its down message.
  bool failure_reported = false;
  std::string last_failure;
  // Back-off.
  std::chrono::milliseconds delay{0};
  clock_type::time_point started_at;
  bool dirty = false;
  subscriber_stats stats;

  bool external() const noexcept { return spec->kind == plugin_kind::external; }

  bool gone() const noexcept {
    return state == slot_state::finished || state == slot_state::failed;
  }

  bool alive() const noexcept {
    return !gone() && state != slot_state::restarting;
  }
};

/// Flow-control state of one publisher (a plugin slot, or the bridge).
struct publisher_state {
  // Events that could not be routed because a subscriber was full, in
  // publication order; routed first when room frees up.
  std::deque<event> parked;
  // Routed events not yet returned as credit.
  std::uint64_t owed = 0;
  bool blocked = false;
};

struct engine_state {
  static inline const char* name = "ee.engine";

  std::shared_ptr<engine_params> params;
  std::vector<slot> slots;
  std::unordered_map<caf::actor_addr, slot_id> by_addr;
  subscription_table table;
  // Filters of raw TCP subscribers (from the bridge's XPUB socket).
  subscription_table raw_table;
  event_batch raw_batch;
  std::vector<subscription_table::subscriber> matched;
  std::vector<slot_id> dirty;
  // Reused by flush() (no allocation per flush).
  std::vector<slot_id> flushing;
  bool flush_scheduled = false;
  bool barrier_passed = false;
  // Events published before the barrier passed, routed when it does.
  std::vector<std::pair<slot_id, event>> pre_barrier;
  // Indexed by slot id; the last entry is for anonymous publishers.
  std::vector<publisher_state> pubs;
  std::vector<slot_id> blocked_pubs;
  std::uint64_t credit_batch = 1;
  // Reused buffer for draining outboxes.
  std::vector<event> drained;
  // Shutdown.
  bool stopping = false;
  bool draining = false;
  std::vector<slot_id> stop_order;
  bool done = false;
  error result;
  std::vector<std::string> failures;
  // Restart intensity, app-wide (as an OTP supervisor's).
  std::deque<clock_type::time_point> restart_times;
  engine_stats stats;
};

using engine_actor = caf::stateful_actor<engine_state>;

class engine_impl {
public:
  explicit engine_impl(engine_actor* self) : self_(self), st_(self->state) {
    // nop
  }

  // -- start-up
  // ----------------------------------------------------------------

  void init() {
    auto& specs = st_.params->plugins;
    st_.slots.resize(specs.size());
    st_.pubs.resize(specs.size() + 1);
    st_.credit_batch =
        std::max<std::uint64_t>(1, st_.params->cfg.publish_window / 4);
    for (slot_id i = 0; i < specs.size(); ++i) {
      auto& s = st_.slots[i];
      s.id = i;
      s.spec = &specs[i];
      s.uuid = make_uuid();
      s.capacity = specs[i].options.queue_capacity != 0
                       ? specs[i].options.queue_capacity
                       : st_.params->cfg.queue_capacity;
      s.delay = specs[i].options.backoff.initial;
      st_.stats.plugins[specs[i].name];
    }
    for (auto& s : st_.slots) {
      if (s.external()) {
        s.host = st_.params->bridge;
        register_filters(s, s.spec->filters);
        s.state = s.spec->await_first_request ? slot_state::starting
                                              : slot_state::ready;
      } else {
        spawn_host(s, std::move(s.spec->first));
      }
    }
    for (auto& s : st_.slots)
      if (s.external() && s.spec->has_command)
        self_->send(st_.params->bridge, launch_atom::value, s.id);
    ee::log(log_level::debug, "engine: " + std::to_string(st_.slots.size()) +
                                  " plugins spawned, waiting for the barrier");
    check_barrier();
    check_done();
  }

  void spawn_host(slot& s, std::unique_ptr<plugin_base> instance) {
    if (!instance) {
      if (!s.spec->factory) {
        fail_for_good(s, "plugin '" + s.spec->name +
                             "' cannot be restarted: it was registered as an "
                             "instance; register a factory instead");
        return;
      }
      try {
        instance = s.spec->factory();
      } catch (...) {
        auto what = describe_current_exception();
        fail_for_good(s, "the factory of plugin '" + s.spec->name +
                             "' threw: " + what);
        return;
      }
      if (!instance) {
        fail_for_good(s, "the factory of plugin '" + s.spec->name +
                             "' returned no instance");
        return;
      }
    }
    auto hp = std::make_shared<host_params>();
    hp->slot = s.id;
    hp->incarnation = ++s.incarnation;
    hp->restarts = s.restarts;
    hp->name = s.spec->name;
    hp->uuid = s.uuid;
    hp->engine = caf::actor_cast<caf::actor>(self_);
    hp->instance = std::move(instance);
    hp->publish_window = st_.params->cfg.publish_window;
    hp->outbox = s.outbox;
    // A new incarnation starts with a full publish window: what the engine
    // owed the previous one is void.
    st_.pubs[s.id].owed = 0;
    s.host = spawn_plugin_host(self_->system(), std::move(hp));
    s.state = slot_state::starting;
    s.failure_reported = false;
    st_.by_addr[s.host.address()] = s.id;
    self_->monitor(s.host);
  }

  void register_filters(slot& s, const std::vector<std::string>& filters) {
    if (s.filters_registered) {
      if (filters == s.filters)
        return;
      st_.table.remove_all(s.id);
    }
    s.filters = filters;
    for (auto& f : s.filters)
      st_.table.add(f, s.id);
    s.filters_registered = true;
  }

  void unregister_filters(slot& s) {
    if (s.filters_registered) {
      st_.table.remove_all(s.id);
      s.filters_registered = false;
    }
  }

  // -- the start barrier
  // -------------------------------------------------------

  void on_ready(slot_id id, std::uint32_t incarnation,
                std::vector<std::string>& filters) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (s.incarnation != incarnation || s.state != slot_state::starting)
      return;
    register_filters(s, filters);
    s.state = slot_state::ready;
    if (st_.stopping)
      return; // stop_next() stops it
    if (st_.barrier_passed) {
      start(s);
      return;
    }
    check_barrier();
  }

  void on_external_ready(slot_id id) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (!s.external() || s.state != slot_state::starting)
      return;
    s.state = slot_state::ready;
    if (st_.barrier_passed) {
      start(s);
      return;
    }
    check_barrier();
  }

  void check_barrier() {
    if (st_.barrier_passed || st_.stopping)
      return;
    for (auto& s : st_.slots)
      if (!s.gone() && s.state != slot_state::ready)
        return;
    st_.barrier_passed = true;
    ee::log(log_level::debug, "engine: start barrier passed");
    auto early = std::move(st_.pre_barrier);
    st_.pre_barrier.clear();
    for (auto& [pub, ev] : early)
      publish(pub, ev);
    for (auto& s : st_.slots)
      if (s.state == slot_state::ready)
        start(s);
  }

  void start(slot& s) {
    s.state = slot_state::running;
    s.started_at = clock_type::now();
    if (!s.external())
      self_->send(s.host, ok_atom::value);
    mark_dirty(s);
    lifecycle(lifecycle::started, s, "");
  }

  // -- routing
  // -----------------------------------------------------------------

  // Publishes what the plugin in slot `id` put into its outbox.
  void drain(slot_id id) {
    if (id >= st_.slots.size())
      return;
    auto& buf = st_.drained;
    st_.slots[id].outbox->take(buf);
    for (auto& ev : buf)
      publish(id, ev);
    buf.clear();
  }

  slot_id anonymous() const { return static_cast<slot_id>(st_.slots.size()); }

  // Handles an event published by `pub` (a slot id, or `anonymous()`).
  void publish(slot_id pub, event& ev) {
    if (pub > anonymous())
      pub = anonymous();
    if (!st_.barrier_passed && !st_.done) {
      st_.pre_barrier.emplace_back(pub, std::move(ev));
      return;
    }
    auto& ps = st_.pubs[pub];
    if (!ps.parked.empty()) {
      ps.parked.push_back(std::move(ev));
      return;
    }
    if (!try_route(pub, ev)) {
      ps.parked.push_back(std::move(ev));
      if (!ps.blocked) {
        ps.blocked = true;
        st_.blocked_pubs.push_back(pub);
      }
      return;
    }
    owe_credit(pub, 1);
  }

  void owe_credit(slot_id pub, std::uint64_t n) {
    auto& ps = st_.pubs[pub];
    ps.owed += n;
    if (ps.owed >= st_.credit_batch && !ps.blocked)
      send_credit(pub);
  }

  void send_credit(slot_id pub) {
    auto& ps = st_.pubs[pub];
    if (ps.owed == 0)
      return;
    if (pub < st_.slots.size()) {
      auto& s = st_.slots[pub];
      if (!s.external() && s.host)
        self_->send(s.host, credit_atom::value, ps.owed);
    } else if (st_.params->bridge) {
      self_->send(st_.params->bridge, credit_atom::value, ps.owed);
    }
    ps.owed = 0;
  }

  // Routes `ev` if every subscriber with the `block` policy has room (a
  // publisher's own queue never blocks it). @returns false if not routed.
  bool try_route(slot_id pub, const event& ev) {
    st_.matched.clear();
    st_.table.match(ev.bytes(), st_.matched, false);
    for (auto id : st_.matched) {
      auto& s = st_.slots[id];
      if (id != pub && !s.gone() &&
          s.spec->options.overflow == overflow_policy::block &&
          s.pending.size() + s.unacked.size() >= s.capacity)
        return false;
    }
    ++st_.stats.published;
    for (auto id : st_.matched)
      enqueue(st_.slots[id], ev);
    route_raw(ev, false);
    return true;
  }

  // Routes parked events of blocked publishers while there is room.
  void retry_parked() {
    if (st_.blocked_pubs.empty())
      return;
    auto blocked = std::move(st_.blocked_pubs);
    st_.blocked_pubs.clear();
    for (auto pub : blocked) {
      auto& ps = st_.pubs[pub];
      std::uint64_t routed = 0;
      while (!ps.parked.empty() && try_route(pub, ps.parked.front())) {
        ps.parked.pop_front();
        ++routed;
      }
      ps.owed += routed;
      if (ps.parked.empty()) {
        ps.blocked = false;
        send_credit(pub);
        if (pub < st_.slots.size())
          mark_dirty(st_.slots[pub]); // deliveries resume
      } else {
        st_.blocked_pubs.push_back(pub);
      }
    }
  }

  // Routes `ev` to its subscribers unconditionally. The engine's own events
  // (`system`) go only to subscriptions that name them, not to the empty
  // filter.
  void route(const event& ev, bool system = false) {
    ++st_.stats.published;
    st_.matched.clear();
    st_.table.match(ev.bytes(), st_.matched, system);
    for (auto id : st_.matched)
      enqueue(st_.slots[id], ev);
    route_raw(ev, system);
  }

  void route_raw(const event& ev, bool system) {
    if (!st_.raw_table.empty() &&
        st_.raw_table.matches_any(ev.bytes(), system)) {
      st_.raw_batch.push_back(ev);
      schedule_flush();
    }
  }

  void enqueue(slot& s, const event& ev) {
    if (s.gone())
      return;
    ++s.stats.routed;
    auto queued = s.pending.size() + s.unacked.size();
    if (queued >= s.capacity) {
      switch (s.spec->options.overflow) {
      case overflow_policy::drop_newest:
        count_drop(s);
        return;
      case overflow_policy::drop_oldest:
        if (!s.pending.empty()) {
          s.pending.pop_front();
          count_drop(s);
        } else {
          count_drop(s);
          return;
        }
        break;
      case overflow_policy::block:
        break;
      }
    }
    s.pending.push_back(ev);
    s.stats.peak_queue = std::max<std::uint64_t>(
        s.stats.peak_queue, s.pending.size() + s.unacked.size());
    mark_dirty(s);
  }

  void count_drop(slot& s) {
    ++s.stats.dropped;
    ++st_.stats.dropped;
  }

  void mark_dirty(slot& s) {
    if (!s.dirty) {
      s.dirty = true;
      st_.dirty.push_back(s.id);
    }
    schedule_flush();
  }

  void schedule_flush() {
    if (!st_.flush_scheduled) {
      st_.flush_scheduled = true;
      self_->send(self_, flush_atom::value);
    }
  }

  void flush() {
    st_.flush_scheduled = false;
    st_.flushing.swap(st_.dirty);
    for (auto id : st_.flushing) {
      auto& s = st_.slots[id];
      s.dirty = false;
      deliver(s);
    }
    st_.flushing.clear();
    if (!st_.raw_batch.empty()) {
      if (st_.params->deliver_raw)
        st_.params->deliver_raw(std::move(st_.raw_batch));
      st_.raw_batch.clear();
    }
  }

  void deliver(slot& s) {
    if (s.state != slot_state::running || s.pending.empty())
      return;
    // A plugin whose own events wait for room gets nothing new meanwhile:
    // backpressure travels upstream.
    if (st_.pubs[s.id].blocked)
      return;
    // At least one queued event stays undelivered when the queue is full, so
    // drop_oldest always has an old event to drop for a new one.
    auto window = std::min(st_.params->cfg.delivery_window,
                           std::max<std::size_t>(1, s.capacity - 1));
    if (s.unacked.size() >= window)
      return;
    auto n = std::min(window - s.unacked.size(), s.pending.size());
    event_batch batch;
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(s.pending.front());
      s.unacked.push_back(std::move(s.pending.front()));
      s.pending.pop_front();
    }
    st_.stats.delivered += n;
    if (s.external())
      st_.params->deliver_external(s.id, std::move(batch));
    else
      self_->send(s.host, deliver_atom::value, s.id, std::move(batch));
  }

  void on_ack(slot_id id, std::uint64_t n) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    n = std::min<std::uint64_t>(n, s.unacked.size());
    s.unacked.erase(s.unacked.begin(), s.unacked.begin() + n);
    s.stats.handled += n;
    if (!s.pending.empty())
      mark_dirty(s);
    retry_parked();
    if (st_.draining)
      check_drained();
  }

  // -- failures and restarts
  // ---------------------------------------------------

  void on_failure(slot_id id, std::uint64_t handled, bool poisoned,
                  std::string& what) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    on_ack(id, handled);
    s.failure_reported = true;
    s.last_failure = std::move(what);
    if (poisoned && !s.unacked.empty()) {
      dead_letter(s, s.unacked.front());
      s.unacked.pop_front();
    }
  }

  void dead_letter(slot& s, const event& ev) {
    ++s.stats.dead_letters;
    ++st_.stats.dead_letters;
    ee::log(log_level::warning, "plugin '" + s.spec->name + "': dead letter (" +
                                    std::to_string(ev.size()) +
                                    " bytes), the event it failed on");
    system_event(dead_letter_prefix, s, ev.bytes(), true);
  }

  void lifecycle(const char* prefix, const slot& s, const std::string& text) {
    system_event(prefix, s, text, !text.empty());
  }

  // Publishes the engine's own event `prefix + name [+ "\n" + body]`.
  void system_event(const char* prefix, const slot& s, std::string_view body,
                    bool with_body) {
    if (!st_.barrier_passed)
      return;
    std::string buf = prefix;
    buf += s.spec->name;
    if (with_body) {
      buf += '\n';
      buf.append(body);
    }
    route(event{std::move(buf)}, true);
  }

  void on_down(caf::down_msg& msg) {
    auto i = st_.by_addr.find(msg.source);
    if (i == st_.by_addr.end())
      return;
    auto& s = st_.slots[i->second];
    st_.by_addr.erase(i);
    s.host = nullptr;
    drain(s.id); // what it published before it went down
    bool abnormal = s.failure_reported || msg.reason;
    if (abnormal && !s.failure_reported) {
      s.last_failure = "the plugin's actor terminated: " +
                       self_->system().render(msg.reason);
      if (!s.unacked.empty()) {
        dead_letter(s, s.unacked.front());
        s.unacked.pop_front();
      }
    }
    on_gone(s, abnormal);
  }

  // Handles a plugin (actor or external process) that went down.
  void on_gone(slot& s, bool abnormal) {
    // An external plugin's delivered events live in the bridge's queue, which
    // survives its process.
    if (!s.external())
      requeue_unacked(s);
    if (s.state == slot_state::stopping_for_restart && !st_.stopping) {
      schedule_restart(s, std::chrono::milliseconds{0});
      return;
    }
    if (abnormal) {
      ++s.stats.failures;
      ee::log(log_level::error,
              "plugin '" + s.spec->name + "' failed: " + s.last_failure);
      lifecycle(lifecycle::failed, s, s.last_failure);
    } else {
      ee::log(log_level::debug, "plugin '" + s.spec->name + "' finished");
      lifecycle(lifecycle::stopped, s, "");
    }
    auto policy = s.spec->options.restart;
    bool restart =
        !st_.stopping && (policy == restart_policy::permanent ||
                          (policy == restart_policy::transient && abnormal));
    if (!restart) {
      if (abnormal) {
        st_.failures.push_back("plugin '" + s.spec->name +
                               "' failed: " + s.last_failure);
        retire(s, slot_state::failed);
      } else {
        retire(s, slot_state::finished);
      }
      after_slot_gone();
      return;
    }
    handle_restart(s);
  }

  void requeue_unacked(slot& s) {
    while (!s.unacked.empty()) {
      s.pending.push_front(std::move(s.unacked.back()));
      s.unacked.pop_back();
    }
  }

  void retire(slot& s, slot_state final_state) {
    s.state = final_state;
    unregister_filters(s);
    s.pending.clear();
    s.unacked.clear();
    retry_parked();
    ++s.restart_generation;
    if (s.external() && st_.params->bridge)
      self_->send(st_.params->bridge, stop_atom::value, s.id);
  }

  void fail_for_good(slot& s, std::string what) {
    ++s.stats.failures;
    s.last_failure = what;
    ee::log(log_level::error, what);
    st_.failures.push_back(std::move(what));
    retire(s, slot_state::failed);
    after_slot_gone();
  }

  void after_slot_gone() {
    if (st_.draining)
      check_drained();
    if (st_.stopping)
      stop_next();
    check_barrier();
    check_done();
  }

  void handle_restart(slot& s) {
    auto now = clock_type::now();
    auto& cfg = st_.params->cfg;
    auto& times = st_.restart_times;
    times.push_back(now);
    while (!times.empty() && now - times.front() > cfg.restart_period)
      times.pop_front();
    if (times.size() > cfg.max_restarts) {
      escalate(s);
      return;
    }
    auto& bo = s.spec->options.backoff;
    bool reset = s.restarts == 0 || s.started_at == clock_type::time_point{} ||
                 now - s.started_at > bo.reset_after;
    s.delay = next_backoff(bo, s.delay, reset);
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_real_distribution<double> unit{0.0, 1.0};
    schedule_restart(s, with_jitter(s.delay, bo.jitter, unit(rng)));
    // Siblings that go down with it.
    auto strategy = cfg.strategy;
    if (strategy == restart_strategy::one_for_one)
      return;
    for (auto& o : st_.slots) {
      // Temporary plugins cannot be restarted: they keep running.
      if (o.id == s.id || !o.alive() || o.state == slot_state::stopping ||
          o.state == slot_state::stopping_for_restart ||
          o.spec->options.restart == restart_policy::temporary)
        continue;
      if (strategy == restart_strategy::rest_for_one && o.id < s.id)
        continue;
      stop_for_restart(o);
    }
  }

  void stop_for_restart(slot& o) {
    ee::log(log_level::info, "plugin '" + o.spec->name +
                                 "' stops to be restarted with a sibling");
    o.state = slot_state::stopping_for_restart;
    if (o.external()) {
      // Its process is relaunched; its queue stays with the bridge.
      schedule_restart(o, std::chrono::milliseconds{0});
    } else if (o.host) {
      self_->send(o.host, stop_atom::value);
    }
  }

  void schedule_restart(slot& s, std::chrono::milliseconds delay) {
    s.state = slot_state::restarting;
    auto gen = ++s.restart_generation;
    ee::log(log_level::info, "plugin '" + s.spec->name + "' restarts in " +
                                 std::to_string(delay.count()) + " ms");
    if (delay.count() == 0)
      self_->send(self_, restart_atom::value, s.id, gen);
    else
      self_->delayed_send(self_, delay, restart_atom::value, s.id, gen);
  }

  void on_restart(slot_id id, std::uint64_t gen) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (s.restart_generation != gen || s.state != slot_state::restarting ||
        st_.stopping)
      return;
    ++s.restarts;
    ++s.stats.restarts;
    lifecycle(lifecycle::restarted, s, std::to_string(s.restarts));
    if (s.external()) {
      if (s.spec->has_command)
        self_->send(st_.params->bridge, launch_atom::value, s.id);
      if (!st_.barrier_passed) {
        // Still at the barrier: the slot counts as (not yet) ready again.
        s.state = s.spec->await_first_request ? slot_state::starting
                                              : slot_state::ready;
        check_barrier();
        return;
      }
      s.state = slot_state::running;
      s.started_at = clock_type::now();
      mark_dirty(s);
      return;
    }
    spawn_host(s, nullptr);
  }

  void escalate(slot& s) {
    auto& cfg = st_.params->cfg;
    std::string text = "plugin '" + s.spec->name +
                       "' failed: restart limit "
                       "exceeded (" +
                       std::to_string(st_.restart_times.size()) +
                       " restarts within " +
                       std::to_string(cfg.restart_period.count()) +
                       " ms, limit: " + std::to_string(cfg.max_restarts) +
                       "); last failure: " + s.last_failure;
    ee::log(log_level::error, "escalating: " + text);
    lifecycle(lifecycle::escalated, s, s.last_failure);
    st_.result = error{ec::restart_limit, text};
    retire(s, slot_state::failed);
    begin_stop(false);
    check_done();
  }

  // -- shutdown
  // ----------------------------------------------------------------

  void begin_stop(bool drain) {
    if (st_.stopping || st_.draining) {
      if (!drain && st_.draining) {
        st_.draining = false;
      } else {
        return;
      }
    }
    if (drain && st_.barrier_passed) {
      st_.draining = true;
      self_->delayed_send(self_, st_.params->cfg.shutdown_grace,
                          timeout_atom::value, slot_id{0xffffffff});
      check_drained();
      return;
    }
    st_.stopping = true;
    st_.draining = false;
    st_.stop_order.clear();
    for (auto& s : st_.slots)
      st_.stop_order.push_back(s.id);
    for (auto& s : st_.slots)
      if (s.state == slot_state::restarting) {
        ++s.restart_generation;
        retire(s, slot_state::finished);
      }
    stop_next();
  }

  // Internal plugins drain their queues; an external plugin's last event
  // stays unacknowledged until its client asks again, so only its
  // undelivered events count.
  void check_drained() {
    for (auto& s : st_.slots)
      if (s.alive() &&
          (!s.pending.empty() || (!s.external() && !s.unacked.empty())))
        return;
    st_.draining = false;
    begin_stop(false);
  }

  // Stops the last alive plugin in registration order, one at a time.
  void stop_next() {
    while (!st_.stop_order.empty()) {
      auto& s = st_.slots[st_.stop_order.back()];
      if (s.gone()) {
        st_.stop_order.pop_back();
        continue;
      }
      if (s.state == slot_state::stopping)
        return; // waiting for it
      if (s.external()) {
        st_.stop_order.pop_back();
        retire(s, slot_state::finished);
        continue;
      }
      if (!s.host) {
        st_.stop_order.pop_back();
        retire(s, slot_state::finished);
        continue;
      }
      s.state = slot_state::stopping;
      self_->send(s.host, stop_atom::value);
      self_->delayed_send(self_, st_.params->cfg.shutdown_grace,
                          timeout_atom::value, s.id);
      return;
    }
    check_done();
  }

  void on_timeout(slot_id id) {
    if (id == slot_id{0xffffffff}) {
      if (st_.draining) {
        ee::log(log_level::warning,
                "shutdown: queues did not drain in time, stopping anyway");
        begin_stop(false);
      }
      return;
    }
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (s.state == slot_state::stopping && s.host) {
      ee::log(log_level::warning,
              "plugin '" + s.spec->name + "' did not stop in time, killing it");
      self_->send_exit(s.host, caf::exit_reason::kill);
    }
  }

  void check_done() {
    if (st_.done)
      return;
    for (auto& s : st_.slots)
      if (!s.gone())
        return;
    st_.done = true;
    if (!st_.result && !st_.failures.empty()) {
      std::string text;
      for (auto& f : st_.failures) {
        if (!text.empty())
          text += "; ";
        text += f;
      }
      st_.result = error{ec::plugin_failed, text};
    }
    snapshot_stats();
    if (st_.params->on_done)
      st_.params->on_done(st_.result, st_.stats);
    self_->quit();
  }

  engine_stats& snapshot_stats() {
    for (auto& s : st_.slots)
      st_.stats.plugins[s.spec->name] = s.stats;
    return st_.stats;
  }

  // -- external plugins
  // --------------------------------------------------------

  void on_quit(slot_id id) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (!s.external() || s.gone())
      return;
    ee::log(log_level::debug, "external plugin '" + s.spec->name + "' quit");
    lifecycle(lifecycle::stopped, s, "");
    if (st_.stopping)
      st_.stop_order.erase(
          std::remove(st_.stop_order.begin(), st_.stop_order.end(), s.id),
          st_.stop_order.end());
    retire(s, slot_state::finished);
    after_slot_gone();
  }

  void on_exited(slot_id id, bool normal, std::string& text) {
    if (id >= st_.slots.size())
      return;
    auto& s = st_.slots[id];
    if (!s.external() || s.gone() || s.state == slot_state::restarting)
      return;
    if (normal) {
      // A process that exits 0 without sending quit has finished too.
      on_quit(id);
      return;
    }
    s.last_failure = std::move(text);
    on_gone(s, true);
  }

private:
  engine_actor* self_;
  engine_state& st_;
};

caf::behavior engine_fun(engine_actor* self,
                         std::shared_ptr<engine_params> params) {
  self->state.params = std::move(params);
  auto impl = std::make_shared<engine_impl>(self);
  self->set_down_handler([impl](caf::down_msg& msg) { impl->on_down(msg); });
  self->set_exception_handler([self](std::exception_ptr& ptr) -> caf::error {
    std::string what = "unknown exception";
    try {
      std::rethrow_exception(ptr);
    } catch (...) {
      what = describe_current_exception();
    }
    ee::log(log_level::error, "engine: internal error: " + what);
    if (!self->state.done && self->state.params->on_done) {
      self->state.done = true;
      self->state.params->on_done(error{ec::internal, "engine failed: " + what},
                                  self->state.stats);
    }
    return caf::exit_reason::unhandled_exception;
  });
  // Nothing from outside may kill the engine: unknown messages and error
  // replies are logged and dropped.
  self->set_default_handler(
      [](caf::scheduled_actor* ptr,
         caf::message_view& x) -> caf::result<caf::message> {
        ee::log(log_level::warning, "engine: dropped an unexpected message: " +
                                        to_string(x.copy_content_to_message()));
        return caf::drop(ptr, x);
      });
  self->set_error_handler([](caf::error& err) {
    ee::log(log_level::warning,
            "engine: ignored an error message: " + caf::to_string(err));
  });
  // Spawn the plugins now: a message that arrives before them (a stats
  // request, a publish from the wire) then finds every slot in place.
  impl->init();
  return {
      [impl](ready_atom, slot_id id, std::uint32_t inc,
             std::vector<std::string>& filters) {
        impl->on_ready(id, inc, filters);
      },
      [impl](ready_atom, slot_id id) { impl->on_external_ready(id); },
      [impl](drain_atom, slot_id id) { impl->drain(id); },
      [impl](publish_atom, event& ev) { impl->publish(impl->anonymous(), ev); },
      [impl](flush_atom) { impl->flush(); },
      [impl](ack_atom, slot_id id, std::uint64_t n) { impl->on_ack(id, n); },
      [impl](failure_atom, slot_id id, std::uint64_t handled, bool poisoned,
             std::string& what) {
        impl->on_failure(id, handled, poisoned, what);
      },
      [impl](restart_atom, slot_id id, std::uint64_t gen) {
        impl->on_restart(id, gen);
      },
      [impl](timeout_atom, slot_id id) { impl->on_timeout(id); },
      [impl](stop_atom) { impl->begin_stop(true); },
      [impl](quit_atom, slot_id id) { impl->on_quit(id); },
      [impl](exited_atom, slot_id id, bool normal, std::string& text) {
        impl->on_exited(id, normal, text);
      },
      [self](raw_sub_atom, std::string& filter, bool subscribe) {
        if (subscribe)
          self->state.raw_table.add(filter, 0);
        else
          self->state.raw_table.remove(filter, 0);
      },
      [impl](stats_atom, stats_promise& p) {
        p->set_value(impl->snapshot_stats());
      },
  };
}

} // namespace

caf::actor spawn_engine(caf::actor_system& sys,
                        std::shared_ptr<engine_params> params) {
  return sys.spawn(engine_fun, std::move(params));
}

} // namespace ee
