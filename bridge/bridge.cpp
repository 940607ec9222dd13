#include "bridge/bridge.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <variant>

#include <zmq.hpp>

#include "bridge/address.hpp"
#include "bridge/bridge_impl.hpp"
#include "bridge/children.hpp"
#include "bridge/endpoint.hpp"
#include "bridge/raw_ports.hpp"
#include "bridge/refusal_log.hpp"
#include "bridge/security_keys.hpp"
#include "bridge/zap_handler.hpp"
#include "ee/log.hpp"

namespace ee {

bridge_link::~bridge_link() = default;

engine_link::~engine_link() = default;

namespace {

using clock_type = std::chrono::steady_clock;

// Grace from SIGTERM to SIGKILL when a process is stopped for a relaunch.
constexpr auto relaunch_grace = std::chrono::milliseconds{200};

// What anyone who reaches a non-loopback address can do without CURVE.
std::string
exposure_warning(const app_config& cfg, int publish_port, int subscribe_port,
                 const std::vector<std::pair<std::string, int>>& plugin_ports) {
  std::string text = "security: bind_address '" + cfg.bind_address +
                     "' is not a loopback address and CURVE is off, so "
                     "anyone who can reach this host can";
  std::vector<std::string> parts;
  if (publish_port >= 0)
    parts.push_back(" publish events to every plugin on port " +
                    std::to_string(publish_port) + " (publish port)");
  if (subscribe_port >= 0)
    parts.push_back(" read every event on port " +
                    std::to_string(subscribe_port) + " (subscribe port)");
  constexpr std::size_t shown = 5;
  for (std::size_t i = 0; i < plugin_ports.size() && i < shown; ++i)
    parts.push_back(" take the events of plugin '" + plugin_ports[i].first +
                    "' and publish as it on port " +
                    std::to_string(plugin_ports[i].second));
  if (plugin_ports.size() > shown)
    parts.push_back(" do the same on the ports of " +
                    std::to_string(plugin_ports.size() - shown) +
                    " more plugins");
  for (std::size_t i = 0; i < parts.size(); ++i)
    text += (i == 0 ? "" : i + 1 == parts.size() ? ", and" : ",") + parts[i];
  return text + ". Enable CURVE ([engine.security] curve = true, or "
                "app_config::security; see docs/security.md) or bind "
                "127.0.0.1";
}

// Opens the raw ports; with CURVE also their allow-lists.
error open_raw(bridge::impl& d, const resolved_security* sec) {
  auto rp = raw_ports::open(d.ctx, d.cfg, d.raw_released,
                            sec ? sec->secret : std::string{}, &d.refusals,
                            d.handshakes.get());
  if (!rp)
    return rp.error();
  d.raw = std::move(*rp);
  if (sec == nullptr)
    return {};
  auto& pol = d.zap->policy();
  pol.set(zap_domain_publish(),
          zap_policy::rule{"the publish port " +
                               std::to_string(d.raw->publish_port()),
                           sec->global_source, sec->global});
  pol.set(zap_domain_subscribe(),
          zap_policy::rule{"the subscribe port " +
                               std::to_string(d.raw->subscribe_port()),
                           sec->global_source, sec->global});
  return {};
}

// Opens the endpoint of plugin `bp`, the `pi`th; with CURVE also its
// allow-list. @returns the configuration of its process.
expected<children::child_config> open_endpoint(bridge::impl& d,
                                               bridge_plugin& bp,
                                               const resolved_security* sec,
                                               std::size_t pi) {
  auto& cfg = d.cfg;
  endpoint::config ec;
  ec.id = bp.id;
  ec.name = bp.name;
  ec.port = bp.port;
  ec.bind_address = cfg.bind_address;
  ec.delivery = bp.delivery;
  ec.max_delivery_attempts = bp.max_delivery_attempts;
  ec.max_message_size = cfg.max_message_size;
  ec.held_max = std::max<std::size_t>(cfg.publish_window, 1);
  ec.held_max_bytes = cfg.publish_window_bytes;
  ec.curve_secret = sec ? sec->secret : std::string{};
  ec.refusals = &d.refusals;
  ec.handshakes = d.handshakes.get();
  ec.max_connections = cfg.max_connections;
  auto ep = endpoint::open(d.ctx, std::move(ec));
  if (!ep)
    return ep.error();
  auto port = (*ep)->port();
  children::child_config cc;
  cc.id = bp.id;
  cc.name = bp.name;
  cc.command = std::move(bp.command);
  cc.env = std::move(bp.env);
  cc.env["EE_PLUGIN_NAME"] = bp.name;
  cc.env["EE_PLUGIN_PORT"] = std::to_string(port);
  cc.env["EE_PLUGIN_HOST"] = address::connect_host(cfg.bind_address);
  if (d.raw) {
    cc.env["EE_PUBLISH_PORT"] = std::to_string(d.raw->publish_port());
    cc.env["EE_SUBSCRIBE_PORT"] = std::to_string(d.raw->subscribe_port());
  }
  if (sec) {
    auto& pk = sec->plugins[pi];
    d.zap->policy().set(zap_domain_plugin(bp.id),
                        zap_policy::rule{"the port " + std::to_string(port) +
                                             " of plugin '" + bp.name + "'",
                                         pk.source, pk.keys});
    cc.env["EE_CURVE_SERVER_KEY"] = sec->public_z85;
    if (!pk.client_key_file.empty())
      cc.env["EE_CURVE_CLIENT_KEY_FILE"] = pk.client_key_file;
  }
  cc.working_dir = std::move(bp.working_dir);
  cc.stderr_level = bp.stderr_level;
  d.by_id[bp.id] = ep->get();
  d.endpoints.push_back(std::move(*ep));
  return cc;
}

// With CURVE: its summary and the ports nobody can use. Without, on an
// address that is not a loopback one: what anyone can do on the ports.
void log_exposure(const bridge::impl& d, const resolved_security* sec,
                  const std::vector<bridge_plugin>& plugins) {
  int pub_port = d.raw ? d.raw->publish_port() : -1;
  int sub_port = d.raw ? d.raw->subscribe_port() : -1;
  std::vector<std::pair<std::string, int>> bound;
  for (auto& ep : d.endpoints)
    bound.emplace_back(ep->name(), ep->port());
  if (sec == nullptr) {
    if ((d.raw || !bound.empty()) && !address::is_loopback(d.cfg.bind_address))
      ee::log(log_level::warning,
              exposure_warning(d.cfg, pub_port, sub_port, bound));
    return;
  }
  std::string ports;
  if (d.raw)
    ports = "the publish port " + std::to_string(pub_port) +
            ", the subscribe port " + std::to_string(sub_port);
  if (!bound.empty())
    ports += (ports.empty() ? "" : ", ") + std::to_string(bound.size()) +
             " plugin port" + (bound.size() == 1 ? "" : "s");
  ee::log(log_level::info, "security: CURVE on " + ports + "; " +
                               std::to_string(sec->global.size()) +
                               " allowed client keys; the engine's public "
                               "key is " +
                               sec->public_z85);
  if (d.raw && sec->global.empty())
    ee::log(log_level::warning,
            "security: no client key is allowed on the publish and "
            "subscribe ports: nobody can connect to them (set "
            "allowed_clients_dir or allowed_keys)");
  for (std::size_t pi = 0; pi < plugins.size(); ++pi)
    if (sec->plugins[pi].keys.empty())
      ee::log(log_level::warning,
              "security: no client key is allowed on the port of plugin '" +
                  plugins[pi].name +
                  "': nobody can connect to it (set its allowed_keys or "
                  "client_key_file, or the engine's allow-list)");
}

} // namespace

// -- bridge
// ------------------------------------------------------------------------

bridge::bridge(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

bridge::~bridge() {
  shutdown(clock_type::now() + impl_->cfg.shutdown_grace);
}

expected<std::unique_ptr<bridge>>
bridge::open(const app_config& cfg, std::vector<bridge_plugin> plugins) {
  auto d = std::make_unique<impl>();
  d->cfg = cfg;
  d->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->wake_fd < 0)
    return error{ec::internal, "eventfd failed"};
  std::optional<resolved_security> sec;
  if (cfg.security.curve && (cfg.enable_tcp || !plugins.empty())) {
    std::vector<const external_plugin_config*> ps;
    for (auto& p : plugins)
      ps.push_back(&p);
    std::vector<setting_problem> problems;
    sec = resolve_security(cfg.security, ps, problems);
    for (auto& x : problems)
      if (!x.warning)
        return error{x.code, x.message};
    // Before any TCP port: no handshake may find the handler missing.
    auto zap = zap_handler::open(d->ctx);
    if (!zap)
      return zap.error();
    d->zap = std::move(*zap);
    d->handshakes = std::make_unique<handshake_book>(handshake_book::limits{});
  }
  const resolved_security* keys = sec ? &*sec : nullptr;
  if (cfg.enable_tcp)
    if (auto err = open_raw(*d, keys))
      return err;
  std::vector<children::child_config> child_cfgs;
  for (std::size_t pi = 0; pi < plugins.size(); ++pi) {
    auto cc = open_endpoint(*d, plugins[pi], keys, pi);
    if (!cc)
      return cc.error();
    child_cfgs.push_back(std::move(*cc));
  }
  log_exposure(*d, keys, plugins);
  d->kids = std::make_unique<children>(
      std::move(child_cfgs), cfg.shutdown_grace,
      std::min(cfg.shutdown_grace, std::chrono::milliseconds{relaunch_grace}),
      cfg.inherit_env);
  // Before the actor system's threads exist (see start_keeper_early).
  d->kids->start_keeper_early();
  return std::unique_ptr<bridge>{new bridge(std::move(d))};
}

void bridge::start(engine_link& engine, credit initial_per_publisher) {
  if (impl_->thread.joinable() || impl_->engine != nullptr)
    return;
  impl_->engine = &engine;
  if (const char* ms = std::getenv(fault_variable); ms != nullptr)
    impl_->fault_at = clock_type::now() +
                      std::chrono::milliseconds{std::strtoll(ms, nullptr, 10)};
  if (impl_->raw)
    impl_->raw->grant(initial_per_publisher);
  for (auto& ep : impl_->endpoints)
    ep->grant(initial_per_publisher);
  impl_->thread = std::thread{[d = impl_.get()] {
    std::string what;
    try {
      d->run();
      return;
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      what = "unknown exception";
    }
    // Nothing serves the ports any more: no process may wait for them.
    d->kids->kill_all();
    what = "the bridge (ZeroMQ I/O thread) failed: " + what;
    ee::log(log_level::error, what);
    d->engine->failed(std::move(what));
  }};
}

void bridge::shutdown(clock_type::time_point deadline) {
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->shut_down)
      return;
    impl_->stop_requested = true;
    impl_->stop_deadline = std::min(impl_->stop_deadline, deadline);
  }
  impl_->wake();
  if (impl_->thread.joinable() &&
      impl_->thread.get_id() != std::this_thread::get_id())
    impl_->thread.join();
  else
    impl_->kids->kill_all();
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->shut_down = true;
  }
  if (impl_->raw && impl_->raw->dropped() > 0)
    ee::log(log_level::info,
            "bridge: " + std::to_string(impl_->raw->dropped()) +
                " events dropped for slow raw subscribers");
}

int bridge::publish_port() const noexcept {
  return impl_->raw ? impl_->raw->publish_port() : -1;
}

int bridge::subscribe_port() const noexcept {
  return impl_->raw ? impl_->raw->subscribe_port() : -1;
}

std::map<std::string, int> bridge::plugin_ports() const {
  std::map<std::string, int> result;
  for (auto& ep : impl_->endpoints)
    result[ep->name()] = ep->port();
  return result;
}

std::vector<std::string> bridge::killed() const {
  return impl_->kids->killed();
}

bridge_stats bridge::stats() const {
  bridge_stats result;
  if (impl_->raw) {
    result.rejected = impl_->raw->rejected();
    result.raw_published = impl_->raw->published();
    result.raw_dropped = impl_->raw->dropped();
  }
  if (impl_->zap) {
    result.auth_allowed = impl_->zap->allowed();
    result.auth_refused = impl_->zap->refused();
  }
  result.refused_connections = impl_->refusals.total();
  if (impl_->raw)
    result.refused_subscribers = impl_->raw->refused_subscribers();
  for (auto& ep : impl_->endpoints) {
    auto& c = ep->counters();
    endpoint_stats s;
    s.id = ep->id();
    s.name = ep->name();
#define EE_LOAD(field, ...) s.field = c.field.load();
    EE_ENDPOINT_COUNTERS(EE_LOAD)
#undef EE_LOAD
    result.rejected += s.bad_requests;
    result.endpoints.push_back(std::move(s));
  }
  return result;
}

void bridge::deliver(endpoint_id id, event_batch&& events) {
  impl_->push(deliver_cmd{id, std::move(events)});
}

void bridge::deliver_raw(event_batch&& events) {
  impl_->push(raw_cmd{std::move(events)});
}

void bridge::grant(endpoint_id pub, credit c) {
  impl_->push(grant_cmd{pub, c});
}

void bridge::launch(endpoint_id id) {
  impl_->push(launch_cmd{id});
}

void bridge::retire(endpoint_id id) {
  impl_->push(retire_cmd{id});
}

std::uint64_t bridge::take_raw_released() {
  return impl_->raw_released.exchange(0);
}

} // namespace ee
