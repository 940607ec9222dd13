#include "bridge/bridge.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <unordered_set>
#include <variant>

#include <zmq.hpp>

#include "bridge/address.hpp"
#include "bridge/children.hpp"
#include "bridge/curve_keys.hpp"
#include "bridge/endpoint.hpp"
#include "bridge/raw_ports.hpp"
#include "bridge/refusal_log.hpp"
#include "bridge/zap_handler.hpp"
#include "ee/log.hpp"

namespace ee {

bridge_link::~bridge_link() = default;

engine_link::~engine_link() = default;

namespace {

using clock_type = std::chrono::steady_clock;

// -- commands from the engine to the bridge's thread
// ----------------------------

struct deliver_cmd {
  endpoint_id id;
  event_batch events;
};

struct raw_cmd {
  event_batch events;
};

struct grant_cmd {
  endpoint_id pub;
  credit c;
};

struct launch_cmd {
  endpoint_id id;
};

struct retire_cmd {
  endpoint_id id;
};

using command =
    std::variant<deliver_cmd, raw_cmd, grant_cmd, launch_cmd, retire_cmd>;

// How long the loop keeps polling without sleeping after activity: the
// engine's answer to a request usually follows within microseconds, and a
// sleeping thread would need a wake-up for it.
constexpr auto spin_period = std::chrono::microseconds{50};

// Longest sleep in poll while processes run (reaping) or not.
constexpr auto child_tick = std::chrono::milliseconds{50};
constexpr auto idle_tick = std::chrono::milliseconds{500};

// Grace from SIGTERM to SIGKILL when a process is stopped for a relaunch.
constexpr auto relaunch_grace = std::chrono::milliseconds{200};

// Fault injection for tests, compiled in and off unless set: the bridge's
// thread fails this many milliseconds after `start`.
constexpr const char* fault_variable = "EE_TEST_BRIDGE_FAULT_MS";

// -- CURVE keys
// ----------------------------------------------------------------

using key_set = std::unordered_set<std::string>;

// The keys of `app_config::security` and of each plugin, read and checked.
struct resolved_security {
  std::string secret; // 32 bytes
  std::string public_z85;
  key_set global;
  std::string global_source;
  struct plugin_keys {
    key_set keys;
    std::string source;
    std::string client_key_file; // absolute, or empty
  };
  std::vector<plugin_keys> plugins; // in the order of the plugins
};

error key_error(const std::string& setting, const error& err) {
  return error{ec::invalid_config, setting + ": " + err.message()};
}

// Adds Z85 keys and the public keys of certificate files to `out`.
error add_keys(const std::vector<std::string>& keys,
               const std::vector<std::string>& files, const std::string& who,
               key_set& out) {
  for (std::size_t i = 0; i < keys.size(); ++i) {
    auto what = who + "allowed_keys[" + std::to_string(i) + "]";
    auto bytes = curve::decode(keys[i], "the key");
    if (!bytes)
      return key_error(what, bytes.error());
    out.insert(std::move(*bytes));
  }
  for (std::size_t i = 0; i < files.size(); ++i) {
    auto what = who + "allowed_key_files[" + std::to_string(i) + "]";
    auto cert = curve::load(files[i], false);
    if (!cert)
      return key_error(what, cert.error());
    out.insert(*curve::decode(cert->public_key, "the key"));
  }
  return {};
}

expected<resolved_security>
resolve_security(const security_config& sec,
                 const std::vector<bridge_plugin>& plugins) {
  if (!curve::available())
    return error{ec::invalid_config,
                 "security.curve is on but this libzmq has no CURVE support "
                 "(it needs libsodium): install Debian's libzmq5"};
  resolved_security r;
  std::string secret_z85;
  if (!sec.secret_key.empty()) {
    secret_z85 = sec.secret_key;
  } else if (!sec.secret_key_file.empty()) {
    auto cert = curve::load(sec.secret_key_file, true);
    if (!cert)
      return key_error("security.secret_key_file", cert.error());
    secret_z85 = cert->secret_key;
  } else {
    return error{ec::invalid_config,
                 "security.curve is on but the engine has no key pair: set "
                 "secret_key_file (write one with `event-engine keygen "
                 "server`)"};
  }
  auto secret = curve::decode(secret_z85, "the key");
  if (!secret)
    return key_error("security.secret_key", secret.error());
  auto pub = curve::public_of(secret_z85);
  if (!pub)
    return key_error("security.secret_key", pub.error());
  r.secret = std::move(*secret);
  r.public_z85 = std::move(*pub);
  if (!sec.allowed_clients_dir.empty()) {
    auto certs = curve::load_dir(sec.allowed_clients_dir);
    if (!certs)
      return key_error("security.allowed_clients_dir", certs.error());
    for (auto& c : *certs)
      r.global.insert(*curve::decode(c.public_key, "the key"));
    r.global_source = "allowed_clients_dir '" + sec.allowed_clients_dir + "'";
  }
  if (auto err = add_keys(sec.allowed_keys, sec.allowed_key_files, "security.",
                          r.global))
    return err;
  if (!sec.allowed_keys.empty() || !sec.allowed_key_files.empty())
    r.global_source += std::string{r.global_source.empty() ? "" : " and "} +
                       "the engine's allowed keys";
  if (r.global_source.empty())
    r.global_source = "the engine's allow-list is empty";
  for (auto& p : plugins) {
    resolved_security::plugin_keys pk;
    auto who = "plugin '" + p.name + "' ";
    if (auto err = add_keys(p.allowed_keys, p.allowed_key_files, who, pk.keys))
      return err;
    // A plugin with keys of its own (a list, or its process's key) admits
    // only those: no other client can take its events.
    bool listed = !p.allowed_keys.empty() || !p.allowed_key_files.empty();
    bool own = listed || !p.client_key_file.empty();
    if (!own) {
      pk.keys = r.global;
      pk.source = r.global_source;
    } else if (listed) {
      pk.source = "the allowed keys of plugin '" + p.name + "'";
    }
    if (!p.client_key_file.empty()) {
      auto cert = curve::load(p.client_key_file, true);
      if (!cert)
        return key_error(who + "client_key_file", cert.error());
      pk.keys.insert(*curve::decode(cert->public_key, "the key"));
      pk.source += std::string{listed ? " and " : ""} +
                   "the client_key_file "
                   "of plugin '" +
                   p.name + "'";
      std::error_code code;
      auto abs = std::filesystem::absolute(p.client_key_file, code);
      pk.client_key_file = code ? p.client_key_file : abs.string();
    }
    r.plugins.push_back(std::move(pk));
  }
  return r;
}

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

} // namespace

// -- the bridge's state
// ----------------------------------------------------------

struct bridge::impl {
  // Declared before the context: libzmq releases raw events (and counts
  // their bytes here) until the context is destroyed.
  std::atomic<std::uint64_t> raw_released{0};
  app_config cfg;
  // One I/O thread: the connection tracker relies on a connection's
  // ACCEPTED event preceding its messages.
  zmq::context_t ctx{1};
  // Refused connections, rate-limited; used by the bridge's thread (its
  // counters by any thread). Declared before the sockets that report to it.
  refusal_log refusals;
  // With CURVE: the ZAP handler, bound before every TCP port and closed
  // after them (the destructor resets it last).
  std::unique_ptr<zap_handler> zap;
  std::unique_ptr<raw_ports> raw;
  std::vector<std::unique_ptr<endpoint>> endpoints;
  std::unordered_map<endpoint_id, endpoint*> by_id;
  std::unique_ptr<children> kids;
  int wake_fd = -1;
  // For tests: when the thread fails on purpose (fault_variable).
  clock_type::time_point fault_at = clock_type::time_point::max();

  engine_link* engine = nullptr;
  std::thread thread;

  // -- the command queue (any thread -> the bridge's thread) --
  std::mutex mtx;
  std::vector<command> commands; // guarded by mtx
  bool stop_requested = false;   // guarded by mtx
  clock_type::time_point stop_deadline = clock_type::time_point::max();
  // guarded by mtx
  bool shut_down = false; // guarded by mtx

  ~impl() {
    endpoints.clear();
    raw.reset();
    zap.reset();
    if (wake_fd >= 0)
      ::close(wake_fd);
  }

  void push(command cmd) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> guard{mtx};
      was_empty = commands.empty();
      commands.push_back(std::move(cmd));
    }
    if (was_empty)
      wake();
  }

  void wake() {
    std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof(one));
  }

  // -- the bridge's thread
  // ------------------------------------------------------

  void run();
  void handle_commands(clock_type::time_point now);
  void handle(deliver_cmd& cmd, clock_type::time_point now);
  void handle(raw_cmd& cmd, clock_type::time_point now);
  void handle(grant_cmd& cmd, clock_type::time_point now);
  void handle(launch_cmd& cmd, clock_type::time_point now);
  void handle(retire_cmd& cmd, clock_type::time_point now);
  void flush();
};

void bridge::impl::handle_commands(clock_type::time_point now) {
  std::vector<command> cmds;
  {
    std::lock_guard<std::mutex> guard{mtx};
    cmds.swap(commands);
  }
  for (auto& cmd : cmds)
    std::visit([this, now](auto& x) { handle(x, now); }, cmd);
}

void bridge::impl::handle(deliver_cmd& cmd, clock_type::time_point) {
  if (auto i = by_id.find(cmd.id); i != by_id.end())
    i->second->deliver(std::move(cmd.events));
}

void bridge::impl::handle(raw_cmd& cmd, clock_type::time_point) {
  if (raw) {
    raw->send(std::move(cmd.events));
    return;
  }
  std::uint64_t bytes = 0;
  for (auto& ev : cmd.events)
    bytes += ev.size();
  raw_released += bytes;
}

void bridge::impl::handle(grant_cmd& cmd, clock_type::time_point) {
  if (cmd.pub == raw_publish_port) {
    if (raw)
      raw->grant(cmd.c);
  } else if (auto i = by_id.find(cmd.pub); i != by_id.end()) {
    i->second->grant(cmd.c);
  }
}

void bridge::impl::handle(launch_cmd& cmd, clock_type::time_point now) {
  auto i = by_id.find(cmd.id);
  if (i == by_id.end())
    return;
  i->second->relaunched();
  kids->launch(cmd.id, now);
}

void bridge::impl::handle(retire_cmd& cmd, clock_type::time_point now) {
  auto i = by_id.find(cmd.id);
  if (i == by_id.end())
    return;
  i->second->retire();
  kids->retire(cmd.id, i->second->quit(), now);
}

void bridge::impl::flush() {
  if (raw)
    raw->flush(*engine);
  for (auto& ep : endpoints)
    ep->flush(*engine);
}

void bridge::impl::run() {
  auto last_activity = clock_type::time_point{};
  auto next_timer = clock_type::time_point::max();
  bool serving = true;
  std::vector<zmq::pollitem_t> items;
  std::vector<std::pair<int, endpoint_id>> child_fds;
  for (;;) {
    // Layout: [wake, zap?, sub?, xpub?, raw monitors?, (router, monitor)
    // per endpoint, pipes...]
    items.clear();
    child_fds.clear();
    items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
    std::size_t zap_idx = 0, sub_idx = 0, xpub_idx = 0, mon_idx = 0,
                mon_count = 0;
    // Handshakes are answered while the bridge stops, too: none waits.
    if (zap) {
      zap_idx = items.size();
      items.push_back({zap->socket().handle(), 0, ZMQ_POLLIN, 0});
    }
    auto ep_base = items.size();
    if (serving) {
      if (raw) {
        if (auto* sub = raw->sub_to_poll()) {
          sub_idx = items.size();
          items.push_back({sub->handle(), 0, ZMQ_POLLIN, 0});
        }
        xpub_idx = items.size();
        items.push_back({raw->xpub().handle(), 0, ZMQ_POLLIN, 0});
        mon_idx = items.size();
        for (auto* mon : {raw->sub_monitor(), raw->xpub_monitor()}) {
          if (mon != nullptr) {
            items.push_back({mon->handle(), 0, ZMQ_POLLIN, 0});
            ++mon_count;
          }
        }
      }
      ep_base = items.size();
      for (auto& ep : endpoints) {
        items.push_back({ep->router().handle(), 0, ZMQ_POLLIN, 0});
        items.push_back({ep->monitor().handle(), 0, ZMQ_POLLIN, 0});
      }
    }
    auto fd_base = items.size();
    kids->watch(child_fds);
    for (auto& [fd, id] : child_fds)
      items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
    auto now = clock_type::now();
    next_timer = std::min(next_timer, fault_at);
    bool hot = now - last_activity < spin_period;
    auto timeout = std::chrono::milliseconds{0};
    if (!hot) {
      timeout = kids->any_running() ? child_tick : idle_tick;
      if (next_timer != clock_type::time_point::max()) {
        auto until =
            std::chrono::ceil<std::chrono::milliseconds>(next_timer - now);
        timeout = std::clamp(until, std::chrono::milliseconds{0}, timeout);
      }
    }
    int ready = 0;
    try {
      ready = zmq::poll(items.data(), items.size(), timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR)
        throw std::runtime_error{std::string{"poll failed: "} + e.what()};
    }
    now = clock_type::now();
    if (now >= fault_at)
      throw std::runtime_error{"a fault injected by " +
                               std::string{fault_variable}};
    if (ready > 0)
      last_activity = now;
    else if (hot)
      std::this_thread::yield();
    if (items[0].revents & ZMQ_POLLIN) {
      std::uint64_t n;
      (void)!::read(wake_fd, &n, sizeof(n));
    }
    if (zap_idx != 0 && (items[zap_idx].revents & ZMQ_POLLIN))
      zap->read(refusals, now);
    handle_commands(now);
    bool stop = false;
    auto deadline = clock_type::time_point::max();
    {
      std::lock_guard<std::mutex> guard{mtx};
      stop = stop_requested;
      deadline = stop_deadline;
    }
    if (stop && serving) {
      // Stop serving; a process whose plugin quit may exit by itself.
      serving = false;
      std::vector<endpoint_id> quitted;
      for (auto& ep : endpoints)
        if (ep->quit())
          quitted.push_back(ep->id());
      kids->shutdown(quitted, now, deadline);
    }
    if (serving) {
      if (sub_idx != 0 && (items[sub_idx].revents & ZMQ_POLLIN))
        raw->read_sub();
      if (xpub_idx != 0 && (items[xpub_idx].revents & ZMQ_POLLIN))
        raw->read_xpub(*engine);
      bool monitors = false;
      for (std::size_t i = 0; i < mon_count; ++i)
        monitors |= (items[mon_idx + i].revents & ZMQ_POLLIN) != 0;
      if (monitors)
        raw->read_monitors();
      for (std::size_t i = 0; i < endpoints.size(); ++i) {
        auto& r = items[ep_base + 2 * i];
        auto& m = items[ep_base + 2 * i + 1];
        if ((r.revents | m.revents) & ZMQ_POLLIN)
          endpoints[i]->read(now);
      }
    }
    for (std::size_t i = 0; i < child_fds.size(); ++i)
      if (items[fd_base + i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
        kids->forward(child_fds[i].second, child_fds[i].first);
    refusals.tick(now);
    next_timer = kids->tick(now, engine);
    if (serving)
      for (auto& ep : endpoints)
        next_timer = std::min(next_timer, ep->on_timer(now));
    flush();
    if (!serving) {
      if (!kids->any_running())
        break;
      next_timer = std::min(next_timer, deadline);
      if (now >= deadline) {
        kids->kill_all();
        break;
      }
    }
  }
  kids->kill_all();
}

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
    auto resolved = resolve_security(cfg.security, plugins);
    if (!resolved)
      return resolved.error();
    sec = std::move(*resolved);
    // Before any TCP port: no handshake may find the handler missing.
    auto zap = zap_handler::open(d->ctx);
    if (!zap)
      return zap.error();
    d->zap = std::move(*zap);
  }
  auto secret = sec ? sec->secret : std::string{};
  if (cfg.enable_tcp) {
    auto rp =
        raw_ports::open(d->ctx, cfg, d->raw_released, secret, &d->refusals);
    if (!rp)
      return rp.error();
    d->raw = std::move(*rp);
    if (sec) {
      auto& pol = d->zap->policy();
      pol.set(zap_domain_publish(),
              zap_policy::rule{"the publish port " +
                                   std::to_string(d->raw->publish_port()),
                               sec->global_source, sec->global});
      pol.set(zap_domain_subscribe(),
              zap_policy::rule{"the subscribe port " +
                                   std::to_string(d->raw->subscribe_port()),
                               sec->global_source, sec->global});
    }
  }
  std::vector<children::child_config> child_cfgs;
  std::vector<std::pair<std::string, int>> bound_plugins;
  for (std::size_t pi = 0; pi < plugins.size(); ++pi) {
    auto& bp = plugins[pi];
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
    ec.curve_secret = secret;
    ec.refusals = &d->refusals;
    auto ep = endpoint::open(d->ctx, std::move(ec));
    if (!ep)
      return ep.error();
    bound_plugins.emplace_back(bp.name, (*ep)->port());
    children::child_config cc;
    cc.id = bp.id;
    cc.name = bp.name;
    cc.command = std::move(bp.command);
    cc.env = std::move(bp.env);
    cc.env["EE_PLUGIN_NAME"] = bp.name;
    cc.env["EE_PLUGIN_PORT"] = std::to_string((*ep)->port());
    cc.env["EE_PLUGIN_HOST"] = address::connect_host(cfg.bind_address);
    if (d->raw) {
      cc.env["EE_PUBLISH_PORT"] = std::to_string(d->raw->publish_port());
      cc.env["EE_SUBSCRIBE_PORT"] = std::to_string(d->raw->subscribe_port());
    }
    if (sec) {
      auto& pk = sec->plugins[pi];
      d->zap->policy().set(zap_domain_plugin(bp.id),
                           zap_policy::rule{"the port " +
                                                std::to_string((*ep)->port()) +
                                                " of plugin '" + bp.name + "'",
                                            pk.source, pk.keys});
      cc.env["EE_CURVE_SERVER_KEY"] = sec->public_z85;
      if (!pk.client_key_file.empty())
        cc.env["EE_CURVE_CLIENT_KEY_FILE"] = pk.client_key_file;
    }
    cc.working_dir = std::move(bp.working_dir);
    cc.stderr_level = bp.stderr_level;
    child_cfgs.push_back(std::move(cc));
    d->by_id[bp.id] = ep->get();
    d->endpoints.push_back(std::move(*ep));
  }
  int pub_port = d->raw ? d->raw->publish_port() : -1;
  int sub_port = d->raw ? d->raw->subscribe_port() : -1;
  bool any_port = d->raw || !bound_plugins.empty();
  if (sec) {
    std::string ports;
    if (d->raw)
      ports = "the publish port " + std::to_string(pub_port) +
              ", the subscribe port " + std::to_string(sub_port);
    if (!bound_plugins.empty())
      ports += (ports.empty() ? "" : ", ") +
               std::to_string(bound_plugins.size()) + " plugin port" +
               (bound_plugins.size() == 1 ? "" : "s");
    ee::log(log_level::info, "security: CURVE on " + ports + "; " +
                                 std::to_string(sec->global.size()) +
                                 " allowed client keys; the engine's public "
                                 "key is " +
                                 sec->public_z85);
    if (d->raw && sec->global.empty())
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
  } else if (any_port && !address::is_loopback(cfg.bind_address)) {
    ee::log(log_level::warning,
            exposure_warning(cfg, pub_port, sub_port, bound_plugins));
  }
  d->kids = std::make_unique<children>(
      std::move(child_cfgs), cfg.shutdown_grace,
      std::min(cfg.shutdown_grace, std::chrono::milliseconds{relaunch_grace}),
      cfg.inherit_env);
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
  for (auto& ep : impl_->endpoints) {
    auto& c = ep->counters();
    endpoint_stats s;
    s.id = ep->id();
    s.name = ep->name();
    s.requests = c.requests.load();
    s.next_msg_served = c.next_msg_served.load();
    s.published = c.published.load();
    s.bad_requests = c.bad_requests.load();
    s.disconnects = c.disconnects.load();
    s.redeliveries = c.redeliveries.load();
    s.dead_letters = c.dead_letters.load();
    s.discarded = c.discarded.load();
    s.round_trips = c.round_trips.load();
    s.probes = c.probes.load();
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
