#pragma once

// The engine actor's state (internal to actors/engine.cpp): it translates
// messages into calls of the router and the supervisor, and their decisions
// back into messages.

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/all.hpp>

#include "actors/blocking_host.hpp"
#include "actors/engine.hpp"
#include "actors/federation.hpp"
#include "actors/links.hpp"
#include "actors/messages.hpp"
#include "actors/plugin_host.hpp"
#include "ee/engine_events.hpp"
#include "ee/log.hpp"
#include "src/core/exception_text.hpp"
#include "src/core/publish_queue.hpp"
#include "src/core/router.hpp"
#include "src/core/stats_snapshot.hpp"
#include "src/core/supervisor.hpp"

namespace ee {

using clock_type = std::chrono::steady_clock;

inline const char* kind_name(plugin_kind k) {
  switch (k) {
  case plugin_kind::actor:
    return "actor";
  case plugin_kind::blocking:
    return "blocking";
  case plugin_kind::raw_caf:
    return "caf";
  case plugin_kind::external:
    return "external";
  }
  return "actor";
}

// -- the engine actor
// ---------------------------------------------------------------

class engine_state;

using engine_actor = caf::stateful_actor<engine_state, engine_handle::base>;

/// One plugin as the engine runs it.
struct slot {
  plugin_spec* spec = nullptr;
  plugin_kind kind = plugin_kind::actor;
  std::string uuid;
  // What the plugin publishes goes through here (see publish_queue); it
  // survives restarts. Its ring holds the publish window.
  std::shared_ptr<publish_queue> outbox;
  // The running incarnation's host: an actor, or a blocking thread's port.
  caf::actor host;
  std::shared_ptr<blocking_port> port;
  std::uint32_t incarnation = 0;
  // Its subscriber and publisher in the router, its child in the
  // supervisor and (external plugins) its port in the bridge.
  sub_id sub;
  pub_id pub;
  child_id child;
  endpoint_id endpoint;
  // Set by the host's failure report, before it ends.
  std::optional<std::string> failure;
};

/// The engine: translates messages into calls of the router (routing, flow
/// control) and the supervisor (life cycles), and their decisions back into
/// messages. It owns both; nothing here needs a lock.
class engine_state : public router_sink, public supervisor::effects {
public:
  static inline const char* name = "ee.engine";

  explicit engine_state(engine_actor* self) : self_(self) {
    // nop
  }

  engine_handle::behavior_type
  make_behavior(std::shared_ptr<engine_params> params);

private:
  // -- start-up (engine.cpp)
  // ---------------------------------------------------------

  /// Sets up the router: named types, a subscriber and a publisher per
  /// plugin, the raw publish port, the closed barrier.
  void configure_router();

  /// Sets up the supervisor with a child per plugin.
  void configure_supervisor();

  /// Installs the down, exception, default and error handlers.
  void install_handlers();

  /// @returns the message table.
  engine_handle::behavior_type message_table();

public:
  // -- router_sink
  // --------------------------------------------------------------

  void deliver(sub_id sub, event_batch&& events) override {
    if (sub == fed_sub_) {
      caf::anon_send(fed_, deliver_atom::value, std::move(events));
      return;
    }
    auto& s = slots_[slot_of(sub)];
    switch (s.kind) {
    case plugin_kind::external:
      params_->bridge->deliver(s.endpoint, std::move(events));
      break;
    case plugin_kind::blocking:
      if (s.port)
        s.port->deliver(std::move(events));
      break;
    default:
      if (s.host)
        caf::anon_send(s.host, deliver_atom::value, std::move(events));
    }
  }

  void grant(pub_id pub, credit c) override {
    if (pub == fed_pub_) {
      caf::anon_send(fed_, credit_atom::value, c.events, c.bytes);
      return;
    }
    if (pub == raw_pub_) {
      if (params_->bridge)
        params_->bridge->grant(raw_publish_port, c);
      return;
    }
    auto& s = slots_[slot_of(pub)];
    switch (s.kind) {
    case plugin_kind::external:
      params_->bridge->grant(s.endpoint, c);
      break;
    case plugin_kind::blocking:
      if (s.port)
        s.port->grant(c);
      break;
    default:
      if (s.host)
        caf::anon_send(s.host, credit_atom::value, c.events, c.bytes);
    }
  }

  void deliver_raw(event_batch&& events) override {
    if (params_->bridge)
      params_->bridge->deliver_raw(std::move(events));
  }

  void cycle(pub_id pub, sub_id sub) override {
    auto& pub_name = pub == raw_pub_   ? raw_name_
                     : pub == fed_pub_ ? fed_name_
                                       : slots_[slot_of(pub)].spec->name;
    bool fed = sub == fed_sub_;
    auto& sub_name = fed ? fed_name_ : slots_[slot_of(sub)].spec->name;
    // Counted always (dropped_cycle); logged and published when it starts
    // and then at most every 10 s per pair, not for every event.
    auto now = clock_type::now();
    auto& last = cycle_reported_[{pub, sub}];
    if (last != clock_type::time_point{} &&
        now - last < std::chrono::seconds{10})
      return;
    last = now;
    ee::log(log_level::warning,
            "plugin '" + pub_name + "' and plugin '" + sub_name +
                "' wait on each other's full queues (a cycle): events for '" +
                sub_name +
                "' are dropped while it lasts (counted as dropped_cycle); give "
                "one of them a drop policy or a larger queue");
    if (!fed) // the federation is no plugin: its drops are in its counters
      lifecycle(lifecycle::cycle, slots_[slot_of(sub)].child, pub_name);
  }

  // -- supervisor::effects
  // -----------------------------------------------------------

  spawn_result spawn(child_id id, std::uint32_t inc) override;

  void launch(child_id id) override {
    if (params_->bridge)
      params_->bridge->launch(slots_[slot_of(id)].endpoint);
  }

  void run(child_id id) override {
    auto& s = slots_[slot_of(id)];
    router_.set_active(s.sub, true);
    if (s.port)
      s.port->ok();
    else if (s.host)
      caf::anon_send(s.host, ok_atom::value);
  }

  void stop(child_id id) override {
    auto& s = slots_[slot_of(id)];
    if (s.port)
      s.port->stop();
    else if (s.host)
      caf::anon_send(s.host, stop_atom::value);
  }

  void abandon(child_id id) override {
    auto& s = slots_[slot_of(id)];
    if (s.port) {
      s.port->abandon();
      s.port.reset();
    } else if (s.host) {
      // Ends it at once unless it is stuck inside a callback; then the app
      // leaves the actor system behind rather than wait for it.
      self_->send_exit(s.host, caf::exit_reason::kill);
    }
  }

  void retire(child_id id) override {
    auto sid = slot_of(id);
    auto& s = slots_[sid];
    router_.retire(s.sub);
    if (slot_filters_.erase(sid) > 0)
      local_dirty_ = true;
    if (s.kind == plugin_kind::external && params_->bridge)
      params_->bridge->retire(s.endpoint);
  }

  void set_timer(supervisor_timer kind, child_id id,
                 std::chrono::milliseconds delay, std::uint64_t gen) override {
    auto k = static_cast<int>(kind);
    if (delay.count() <= 0)
      self_->send(self_, sup_timer_atom::value, k, id, gen);
    else
      self_->delayed_send(self_, delay, sup_timer_atom::value, k, id, gen);
  }

  void lifecycle(const char* prefix, child_id id,
                 const std::string& text) override {
    system_event(prefix, slots_[slot_of(id)].spec->name, text, !text.empty());
  }

  void open() override {
    // Count by the types known now: configured ones and every plugin's
    // subscriptions (nothing has been routed yet: the router was closed).
    router_.set_types(types_);
    router_.set_open(true);
    for (auto& ev : early_peer_events_)
      router_.publish_system(std::move(ev));
    early_peer_events_.clear();
  }

  bool drained(child_id id) const override {
    // Without the bridge nothing drains an external plugin's queue.
    auto& s = slots_[slot_of(id)];
    if (bridge_failure_ && s.kind == plugin_kind::external)
      return true;
    return router_.drained(s.sub);
  }

  void done(const error& result) override {
    // External plugins' events still with the bridge are lost with it.
    for (auto& s : slots_)
      if (s.kind == plugin_kind::external)
        router_.abandon_in_flight(s.sub);
    done_ = true;
    if (fed_)
      self_->send_exit(fed_, caf::exit_reason::user_shutdown);
    if (params_->on_done)
      params_->on_done(bridge_failure_ ? *bridge_failure_ : result, snapshot());
    self_->quit();
  }

private:
  // -- message handlers
  // ------------------------------------------------------------

  void on_ready(slot_id id, std::uint32_t inc,
                std::vector<std::string>& filters,
                std::vector<std::string>& type_names) {
    if (!slots_.contains(id) || inc != slots_[id].incarnation)
      return;
    add_types(type_names, filters);
    subscribe(id, filters);
    sup_->ready(slots_[id].child, inc, clock_type::now());
  }

  // Publishes what plugin `id` put into its outbox.
  void on_drain(slot_id id) {
    if (!slots_.contains(id))
      return;
    take_raw_released();
    slots_[id].outbox->take(drained_);
    for (auto& ev : drained_)
      router_.publish(slots_[id].pub, std::move(ev));
    drained_.clear();
  }

  void on_ack(slot_id id, std::uint64_t n) {
    if (slots_.contains(id))
      router_.ack(slots_[id].sub, n);
  }

  void on_failure(slot_id id, std::uint32_t inc, std::uint64_t handled,
                  bool poisoned, std::string& what) {
    if (!slots_.contains(id) || inc != slots_[id].incarnation)
      return;
    auto& s = slots_[id];
    router_.ack(s.sub, handled);
    s.failure = std::move(what);
    if (poisoned)
      dead_letter_front(id);
  }

  void on_down(caf::down_msg& msg) {
    auto i = by_addr_.find(msg.source);
    if (i == by_addr_.end())
      return;
    auto [id, inc] = i->second;
    by_addr_.erase(i);
    auto& s = slots_[id];
    if (inc != s.incarnation)
      return;
    s.host = nullptr;
    std::string reason;
    if (msg.reason && !s.failure)
      reason = "the plugin's actor terminated: " +
               self_->system().render(msg.reason);
    bool abnormal = s.failure.has_value() || static_cast<bool>(msg.reason);
    host_ended(id, inc, abnormal, std::move(reason));
  }

  void on_ended(slot_id id, std::uint32_t inc, bool abnormal,
                std::string& reason) {
    if (!slots_.contains(id) || inc != slots_[id].incarnation)
      return;
    slots_[id].port.reset();
    host_ended(id, inc, abnormal, std::move(reason));
  }

  // The host of incarnation `inc` of plugin `id` is gone.
  void host_ended(slot_id id, std::uint32_t inc, bool abnormal,
                  std::string reason) {
    auto& s = slots_[id];
    on_drain(id); // what it published before it went down
    if (abnormal && !s.failure) {
      // Killed without a report: the event it was handling is poison.
      dead_letter_front(id);
    }
    if (s.failure)
      reason = std::move(*s.failure);
    s.failure.reset();
    router_.set_active(s.sub, false);
    router_.requeue(s.sub); // the next incarnation gets them again, in order
    sup_->exited(s.child, inc, abnormal, std::move(reason), clock_type::now());
  }

  void dead_letter_front(slot_id id) {
    if (auto ev = router_.take_dead_letter(slots_[id].sub))
      publish_dead_letter(id, *ev);
  }

  void publish_dead_letter(slot_id id, const event& ev) {
    ee::log(log_level::warning, slots_[id].spec->name,
            "dead letter (" + std::to_string(ev.size()) + " bytes)");
    system_event(dead_letter_prefix, slots_[id].spec->name, ev.bytes(), true);
  }

  void on_publish(endpoint_id from, event_batch& events) {
    take_raw_released();
    pub_id pub = raw_pub_;
    if (from == raw_publish_port)
      raw_published_ += events.size();
    else if (auto id = slot_of(from); id.valid())
      pub = slots_[id].pub;
    else
      return;
    for (auto& ev : events)
      router_.publish(pub, std::move(ev));
  }

  // The bridge cannot be restarted without losing every connection's state
  // (in-flight events, held publishes, subscriptions): the app stops, with
  // this error as its result (docs/design.md, "When the bridge fails").
  void on_bridge_failed(std::string& what) {
    if (bridge_failure_ || done_)
      return;
    bridge_failure_ =
        error{ec::internal, what + "; the app stopped: no external "
                                   "plugin or raw client is served"};
    ee::log(log_level::error, "engine: " + bridge_failure_->message());
    sup_->request_stop(clock_type::now());
  }

  void on_settle(endpoint_id ep, settlement& s) {
    auto id = slot_of(ep);
    if (!id.valid())
      return;
    router_.settle(slots_[id].sub, s);
    for (auto& ev : s.dead_letters)
      publish_dead_letter(id, ev);
  }

  void on_stats(stats_request_ptr& req) { req->fulfil(snapshot()); }

  // -- helpers
  // --------------------------------------------------------------------------

  // Records that `id` (a router, supervisor or bridge id) is plugin `sid`'s.
  template <class Id>
  static void remember(id_vector<Id, slot_id>& map, Id id, slot_id sid) {
    if (map.size() <= id.value)
      map.resize(id.value + 1);
    map[id] = sid;
  }

  // @returns the plugin `id` belongs to, or none.
  template <class Id>
  static slot_id lookup(const id_vector<Id, slot_id>& map, Id id) {
    return map.contains(id) ? map[id] : slot_id::none();
  }

  slot_id slot_of(sub_id id) const { return lookup(slot_of_sub_, id); }
  slot_id slot_of(pub_id id) const { return lookup(slot_of_pub_, id); }
  slot_id slot_of(child_id id) const { return lookup(slot_of_child_, id); }
  slot_id slot_of(endpoint_id id) const {
    return lookup(slot_of_endpoint_, id);
  }

  // @returns the supervisor's child of the plugin at endpoint `id`, or none.
  child_id child_of(endpoint_id id) const {
    auto sid = slot_of(id);
    return sid.valid() ? slots_[sid].child : child_id::none();
  }

  // Publishes the engine's own event `prefix + name [+ "\n" + body]` (only
  // after the barrier: before it, nobody could miss it).
  void system_event(const char* prefix, const std::string& name,
                    std::string_view body, bool with_body) {
    if (!sup_ || !sup_->barrier_passed())
      return;
    std::string buf = prefix;
    buf += name;
    if (with_body) {
      buf += '\n';
      buf.append(body);
    }
    router_.publish_system(event{std::move(buf)});
  }

  // Remembers named event types to count by (before the barrier only; the
  // first name of a prefix wins, and the first prefix of a name).
  void add_types(const std::vector<std::string>& names,
                 const std::vector<std::string>& filters) {
    if (sup_ && sup_->barrier_passed())
      return;
    for (std::size_t i = 0; i < names.size() && i < filters.size(); ++i) {
      auto& name = names[i];
      auto& filter = filters[i];
      if (name.empty() || filter.empty())
        continue;
      bool known = false;
      for (auto& [n, f] : types_)
        known = known || n == name || f == filter;
      if (!known)
        types_.emplace_back(name, filter);
    }
  }

  void publish_report() {
    report_scheduled_ = false;
    if (done_)
      return;
    if (sup_->barrier_passed())
      router_.publish_system(
          event{stats_prefix + ("\n" + to_json(snapshot()))});
    schedule_report();
  }

  void schedule_report() {
    auto interval = params_->cfg.stats_interval;
    if (interval.count() <= 0 || report_scheduled_ || done_)
      return;
    report_scheduled_ = true;
    self_->delayed_send(self_, interval, report_atom::value);
  }

  void take_raw_released() {
    if (params_->bridge)
      router_.raw_released(params_->bridge->take_raw_released());
  }

  engine_stats snapshot() const {
    std::vector<plugin_ids> plugins;
    plugins.reserve(slots_.size());
    for (auto& x : slots_)
      plugins.push_back({x.sub, x.pub, x.child, kind_name(x.kind)});
    if (fed_)
      plugins.push_back({fed_sub_, fed_pub_, child_id::none(), "federation"});
    auto st = make_stats(router_, sup_.get(), plugins, raw_published_);
    if (fed_stats_)
      st.federation = fed_stats_->get();
    if (params_->decorate)
      params_->decorate(st);
    return st;
  }

  // -- federation (engine_federation.cpp)
  // -----------------------------------------------------------------

  /// Adds the federation's subscriber and publisher to the router and spawns
  /// its actor (if `[federation]` is configured).
  void configure_federation();

  /// Replaces the filters of plugin `id` (and tells the federation).
  void subscribe(slot_id id, const std::vector<std::string>& filters);

  /// Tells the federation what the local subscribers need, if it changed.
  void send_local_filters();

  void on_fed_publish(event_batch& events);

  void on_fed_peer(const std::string& name, bool up);

  // Emits what routing decided, lets a waiting shutdown move on, and keeps
  // a tick going while publishers wait (to break cycles that closed without
  // anyone starting to wait).
  void flush() {
    if (done_)
      return;
    send_local_filters();
    router_.flush(*this);
    if (sup_->stopping() && !sup_->done()) {
      sup_->poll(clock_type::now());
      if (done_)
        return;
      router_.flush(*this);
    }
    if (!tick_scheduled_ && router_.waiting_publishers() > 0) {
      tick_scheduled_ = true;
      self_->delayed_send(self_, std::chrono::milliseconds{100},
                          tick_atom::value);
    }
  }

  engine_actor* self_;
  std::shared_ptr<engine_params> params_;
  router router_;
  std::unique_ptr<supervisor> sup_;
  id_vector<slot_id, slot> slots_;
  // Event-based hosts by address, with their incarnation.
  std::unordered_map<caf::actor_addr, std::pair<slot_id, std::uint32_t>>
      by_addr_;
  pub_id raw_pub_;
  // The plugin of each subscriber, publisher (not the raw publish port),
  // supervisor child and bridge endpoint.
  id_vector<sub_id, slot_id> slot_of_sub_;
  id_vector<pub_id, slot_id> slot_of_pub_;
  id_vector<child_id, slot_id> slot_of_child_;
  id_vector<endpoint_id, slot_id> slot_of_endpoint_;
  const std::string raw_name_ = "the raw publish port";
  std::uint64_t raw_published_ = 0;
  std::vector<event> drained_;
  std::map<std::pair<pub_id, sub_id>, clock_type::time_point> cycle_reported_;
  bool tick_scheduled_ = false;
  bool report_scheduled_ = false;
  bool done_ = false;
  // Set when the bridge's thread failed: the app's result.
  std::optional<error> bridge_failure_;
  std::vector<std::pair<std::string, std::string>> types_;
  // -- federation (unset unless configured) --
  caf::actor fed_;
  sub_id fed_sub_;
  pub_id fed_pub_;
  const std::string fed_name_ = "(federation)";
  std::shared_ptr<federation_stats_box> fed_stats_;
  // Every plugin's filters and the raw subscribers' (counted), and what the
  // federation was told last.
  std::map<slot_id, std::vector<std::string>> slot_filters_;
  std::map<std::string, std::size_t> raw_filters_;
  bool local_dirty_ = false;
  std::vector<std::string> local_sent_;
  // Peer up/down events from before the barrier, published when it passes.
  std::vector<event> early_peer_events_;
};

} // namespace ee
