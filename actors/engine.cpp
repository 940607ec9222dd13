#include "actors/engine.hpp"
#include "actors/engine_state.hpp"

#include <chrono>
#include <map>
#include <random>
#include <unordered_map>

#include <caf/all.hpp>

#include "actors/links.hpp"
#include "actors/messages.hpp"
#include "actors/plugin_host.hpp"
#include "ee/caf.hpp"
#include "ee/log.hpp"
#include "src/core/publish_queue.hpp"
#include "src/core/router.hpp"
#include "src/core/stats_snapshot.hpp"
#include "src/core/supervisor.hpp"
#include "src/core/type_lists.hpp"

namespace ee {

plugin_kind kind_of(const plugin_base& instance) {
  if (dynamic_cast<const blocking_plugin*>(&instance) != nullptr)
    return plugin_kind::blocking;
  if (dynamic_cast<const caf_plugin*>(&instance) != nullptr)
    return plugin_kind::raw_caf;
  return plugin_kind::actor;
}

namespace {

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

} // namespace

spawn_result engine_state::spawn(child_id child, std::uint32_t inc) {
  auto id = slot_of(child);
  auto& s = slots_[id];
  auto& spec = *s.spec;
  std::unique_ptr<plugin_base> instance;
  if (inc == 1 && spec.first) {
    instance = std::move(spec.first);
  } else {
    if (!spec.factory)
      return {spawn_result::fatal,
              "plugin '" + spec.name +
                  "' cannot be restarted: it was registered as an instance; "
                  "register a factory instead"};
    try {
      instance = spec.factory();
    } catch (...) {
      return {spawn_result::fatal,
              "the factory of plugin '" + spec.name +
                  "' threw: " + describe_current_exception()};
    }
    if (!instance)
      return {spawn_result::fatal,
              "the factory of plugin '" + spec.name + "' returned no instance"};
  }
  s.kind = kind_of(*instance);
  s.incarnation = inc;
  s.failure.reset();
  // A new incarnation starts with a full window: what was owed is void.
  router_.reset_credit(s.pub);
  auto& cfg = params_->cfg;
  credit window{cfg.publish_window, cfg.publish_window_bytes};
  auto engine = caf::actor_cast<engine_handle>(self_);
  if (s.kind == plugin_kind::blocking) {
    // Its thread announces the subscriptions (ready_atom).
    auto port =
        std::make_shared<blocking_port>(spec.name, s.uuid, s.outbox, window,
                                        make_blocking_link(engine, id, inc));
    s.port = port;
    params_->threads->start(std::move(port), std::move(instance));
    return {spawn_result::pending, ""};
  }
  // An event-based plugin's subscriptions go in place right here, and its
  // host is spawned lazily: it first runs when the barrier's ok (or a stop)
  // arrives. One message per plugin to start, none to get ready.
  type_lists subs;
  try {
    subs = split_types(instance->subscriptions());
  } catch (...) {
    return {spawn_result::failed,
            "subscriptions: " + describe_current_exception()};
  }
  add_types(subs.names, subs.filters);
  subscribe(id, subs.filters);
  auto hp = std::make_shared<host_params>();
  hp->slot = id;
  hp->incarnation = inc;
  hp->restarts = sup_ ? sup_->restarts(child) : 0;
  hp->name = spec.name;
  hp->uuid = s.uuid;
  hp->engine = engine;
  hp->instance = std::move(instance);
  hp->outbox = s.outbox;
  hp->window = window;
  s.host = spawn_plugin_host(self_->system(), std::move(hp));
  if (auto live = params_->live_hosts) {
    ++*live;
    s.host->attach_functor([live](const caf::error&) { --*live; });
  }
  by_addr_[s.host.address()] = {id, inc};
  self_->monitor(s.host);
  return {spawn_result::ready, ""};
}

engine_handle::behavior_type
engine_state::make_behavior(std::shared_ptr<engine_params> p) {
  params_ = std::move(p);
  configure_router();
  configure_federation();
  configure_supervisor();
  install_handlers();
  // Spawn the plugins now: a message that arrives before them (a stats
  // request, a publish from the wire) then finds every slot in place.
  sup_->start(clock_type::now());
  flush();
  schedule_report();
  return message_table();
}

void engine_state::configure_router() {
  auto& cfg = params_->cfg;
  auto& specs = params_->plugins;
  router_.raw_budget(cfg.raw_subscriber_bytes);
  auto named = split_types(cfg.event_types);
  add_types(named.names, named.filters);
  for (auto& spec : specs)
    if (spec.kind == plugin_kind::external)
      add_types(spec.type_names, spec.filters);
  auto own = split_types(engine_event_types());
  add_types(own.names, own.filters); // after the app's: its names win
  credit window{cfg.publish_window, cfg.publish_window_bytes};
  for (auto& spec : specs) {
    auto id = slots_.push_back(slot{});
    auto& s = slots_[id];
    s.spec = &spec;
    s.kind = spec.kind;
    s.uuid = make_uuid();
    s.outbox = std::make_shared<publish_queue>(cfg.publish_window);
    subscriber_limits lim;
    lim.capacity = spec.options.queue_capacity != 0
                       ? spec.options.queue_capacity
                       : cfg.queue_capacity;
    lim.bytes = spec.options.queue_bytes != 0 ? spec.options.queue_bytes
                                              : cfg.queue_bytes;
    lim.window = cfg.delivery_window;
    lim.overflow = spec.options.overflow;
    s.sub = router_.add_subscriber(
        spec.name, lim,
        spec.kind == plugin_kind::external ? custody::owner : custody::router);
    s.pub = router_.add_publisher(spec.name, window, s.sub);
    remember(slot_of_sub_, s.sub, id);
    remember(slot_of_pub_, s.pub, id);
    if (spec.kind == plugin_kind::external) {
      s.endpoint = spec.endpoint;
      remember(slot_of_endpoint_, s.endpoint, id);
    }
  }
  raw_pub_ = router_.add_publisher(raw_name_, window);
  // Events published before the barrier wait for it; external plugins'
  // subscriptions are in place from the start (their queues fill at once).
  router_.set_open(false);
  for (slot_id id{0}; slots_.contains(id); id = slot_id{id.value + 1})
    if (slots_[id].kind == plugin_kind::external)
      subscribe(id, slots_[id].spec->filters);
}

void engine_state::configure_supervisor() {
  auto& cfg = params_->cfg;
  std::vector<child_spec> children;
  children.reserve(slots_.size());
  for (auto id : slots_.ids()) {
    auto& spec = *slots_[id].spec;
    // The supervisor's child `i` is the `i`th of `children`.
    slots_[id].child = child_id{children.size()};
    remember(slot_of_child_, slots_[id].child, id);
    child_spec c;
    c.name = spec.name;
    c.policy = spec.options.restart;
    c.backoff = spec.options.backoff;
    c.external = spec.kind == plugin_kind::external;
    c.await_first_request = spec.await_first_request;
    c.has_process = spec.has_command;
    children.push_back(std::move(c));
  }
  supervisor_config sc;
  sc.strategy = cfg.strategy;
  sc.max_restarts = cfg.max_restarts;
  sc.restart_period = cfg.restart_period;
  sc.shutdown_grace = cfg.shutdown_grace;
  sc.idle_until_stopped = cfg.federation.enabled();
  auto rng = std::make_shared<std::mt19937>(std::random_device{}());
  sup_ = std::make_unique<supervisor>(sc, std::move(children), *this, [rng] {
    return std::uniform_real_distribution<double>{0.0, 1.0}(*rng);
  });
}

void engine_state::install_handlers() {
  auto self = self_;
  self_->set_down_handler([self](caf::down_msg& msg) {
    self->state.on_down(msg);
    self->state.flush();
  });
  self_->set_exception_handler([self](std::exception_ptr& ptr) -> caf::error {
    auto what = describe_exception(ptr);
    ee::log(log_level::error, "engine: internal error: " + what);
    auto& st = self->state;
    if (!st.done_ && st.params_->on_done) {
      st.done_ = true;
      st.params_->on_done(error{ec::internal, "engine failed: " + what},
                          engine_stats{});
    }
    return caf::exit_reason::unhandled_exception;
  });
  // Nothing from outside may kill the engine: unknown messages and error
  // replies are logged and dropped.
  self_->set_default_handler(
      [](caf::scheduled_actor* ptr,
         caf::message_view& x) -> caf::result<caf::message> {
        ee::log(log_level::warning, "engine: dropped an unexpected message: " +
                                        to_string(x.copy_content_to_message()));
        return caf::drop(ptr, x);
      });
  self_->set_error_handler([](caf::error& err) {
    ee::log(log_level::warning,
            "engine: ignored an error message: " + caf::to_string(err));
  });
}

engine_handle::behavior_type engine_state::message_table() {
  // Every handler translates, then flushes what routing decided.
  auto st = [self = self_]() -> engine_state& { return self->state; };
  return {
      [st](ready_atom, slot_id id, std::uint32_t inc,
           std::vector<std::string>& filters,
           std::vector<std::string>& type_names) {
        st().on_ready(id, inc, filters, type_names);
        st().flush();
      },
      [st](report_atom) {
        st().publish_report();
        st().flush();
      },
      [st](drain_atom, slot_id id) {
        st().on_drain(id);
        st().flush();
      },
      [st](ack_atom, slot_id id, std::uint64_t n) {
        st().on_ack(id, n);
        st().flush();
      },
      [st](failure_atom, slot_id id, std::uint32_t inc, std::uint64_t handled,
           bool poisoned, std::string& what) {
        st().on_failure(id, inc, handled, poisoned, what);
        st().flush();
      },
      [st](ended_atom, slot_id id, std::uint32_t inc, bool abnormal,
           std::string& reason) {
        st().on_ended(id, inc, abnormal, reason);
        st().flush();
      },
      [st](publish_atom, endpoint_id from, event_batch& events) {
        st().on_publish(from, events);
        st().flush();
      },
      [st](settle_atom, endpoint_id id, settlement& s) {
        st().on_settle(id, s);
        st().flush();
      },
      [st](first_atom, endpoint_id id) {
        if (auto c = st().child_of(id); c.valid())
          st().sup_->first_request(c, clock_type::now());
        st().flush();
      },
      [st](quit_atom, endpoint_id id) {
        if (auto c = st().child_of(id); c.valid())
          st().sup_->quit(c, clock_type::now());
        st().flush();
      },
      [st](exited_atom, endpoint_id id, bool normal, std::string& text) {
        if (auto c = st().child_of(id); c.valid())
          st().sup_->process_exited(c, normal, std::move(text),
                                    clock_type::now());
        st().flush();
      },
      [st](raw_sub_atom, std::string& filter, bool subscribed) {
        st().router_.raw_subscribe(filter, subscribed);
        auto& n = st().raw_filters_[filter];
        n = subscribed ? n + 1 : (n > 0 ? n - 1 : 0);
        if (n == 0)
          st().raw_filters_.erase(filter);
        st().local_dirty_ = true;
        st().send_local_filters();
      },
      [st](fed_publish_atom, event_batch& events) {
        st().on_fed_publish(events);
        st().flush();
      },
      [st](fed_taken_atom, std::uint64_t n) {
        st().router_.ack(st().fed_sub_, n);
        st().flush();
      },
      [st](fed_filters_atom, std::vector<std::string>& filters) {
        st().router_.subscribe(st().fed_sub_, filters);
        st().flush();
      },
      [st](fed_peer_atom, std::string& name, bool up) {
        st().on_fed_peer(name, up);
        st().flush();
      },
      [st](bridge_failed_atom, std::string& what) {
        st().on_bridge_failed(what);
        st().flush();
      },
      [st](sup_timer_atom, int kind, child_id id, std::uint64_t gen) {
        st().sup_->timer(static_cast<supervisor_timer>(kind), id, gen,
                         clock_type::now());
        st().flush();
      },
      [st](tick_atom) {
        st().tick_scheduled_ = false;
        st().router_.break_cycles();
        st().flush();
      },
      [st](stop_atom) {
        st().sup_->request_stop(clock_type::now());
        st().flush();
      },
      [st](stats_atom, stats_request_ptr& req) { st().on_stats(req); },
  };
}

namespace {

engine_handle::behavior_type engine_fun(engine_actor* self,
                                        std::shared_ptr<engine_params> params) {
  return self->state.make_behavior(std::move(params));
}

} // namespace

engine_handle spawn_engine(caf::actor_system& sys,
                           std::shared_ptr<engine_params> params) {
  return sys.spawn(engine_fun, std::move(params));
}

} // namespace ee
