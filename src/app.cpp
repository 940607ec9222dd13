#include "ee/app.hpp"

#include <atomic>
#include <cctype>
#include <condition_variable>
#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>

#include "actors/engine.hpp"
#include "actors/messages.hpp"
#include "actors/plugin_host.hpp"
#include "bridge/bridge.hpp"
#include "bridge/process.hpp"
#include "ee/log.hpp"

namespace ee {

namespace {

// Signal handling: the handler only touches these atomics.
std::atomic<int> signal_count{0};

extern "C" void ee_on_signal(int) {
  if (signal_count.fetch_add(1) >= 1)
    _exit(130);
}

} // namespace

struct app::impl {
  app_config cfg;
  std::vector<plugin_spec> plugins;
  // Parallel to `plugins` for external ones (empty config for internal).
  std::vector<external_plugin_config> externals;
  std::set<std::string> names;
  error first_error;
  std::atomic<bool> ran{false};
  bool handle_signals = false;

  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  // -- guarded by mtx --
  bool started = false;
  bool finished = false;
  bool stop_requested = false;
  caf::actor engine;
  caf::actor_system* sys = nullptr;
  int pub_port = -1;
  int sub_port = -1;
  std::map<std::string, int> plugin_ports;
  engine_stats final_stats;

  void record(error err) {
    ee::log(log_level::error, err.message());
    if (!first_error)
      first_error = std::move(err);
  }

  bool check_name(const std::string& name) {
    for (char c : name) {
      if (std::iscntrl(static_cast<unsigned char>(c))) {
        record(error{ec::invalid_config,
                     "a plugin name contains a control character: use "
                     "printable names"});
        return false;
      }
    }
    if (name.empty()) {
      record(error{ec::invalid_config,
                   "a plugin has an empty name: give every plugin a unique, "
                   "non-empty name()"});
      return false;
    }
    if (!names.insert(name).second) {
      record(error{ec::duplicate_name,
                   "two plugins are named '" + name +
                       "': plugin names must be unique within an app"});
      return false;
    }
    return true;
  }

  error validate() const;

  // Registers an internal plugin; `factory` is empty for an instance.
  void add(std::unique_ptr<plugin_base> first, plugin_factory factory,
           plugin_options opts) {
    plugin_spec spec;
    try {
      spec.name = first->name();
    } catch (...) {
      record(error{ec::invalid_config,
                   "a plugin's name() threw: " + describe_current_exception()});
      return;
    }
    if (!check_name(spec.name))
      return;
    if (!factory && opts.restart != restart_policy::temporary) {
      record(error{
          ec::invalid_config,
          "plugin '" + spec.name +
              "' has a restart policy that needs fresh instances, but was "
              "registered as one instance: register a factory "
              "(app::register_plugin(plugin_factory, ...) or "
              "app::emplace_plugin<T>(...)) or use restart_policy::temporary"});
      return;
    }
    spec.kind = kind_of(*first);
    spec.first = std::move(first);
    spec.factory = std::move(factory);
    spec.options = opts;
    plugins.push_back(std::move(spec));
    externals.emplace_back();
  }
};

app::app() : app(app_config{}) {
  // nop
}

app::app(int publish_port, int subscribe_port)
    : app([&] {
        app_config cfg;
        cfg.publish_port = publish_port;
        cfg.subscribe_port = subscribe_port;
        return cfg;
      }()) {
  // nop
}

app::app(app_config cfg) : impl_(std::make_unique<impl>()) {
  impl_->cfg = std::move(cfg);
}

app::~app() {
  stop();
}

app& app::register_plugin(std::unique_ptr<plugin_base> instance,
                          plugin_options opts) {
  if (!instance) {
    impl_->record(error{ec::invalid_config,
                        "register_plugin got a null plugin instance"});
    return *this;
  }
  impl_->add(std::move(instance), nullptr, opts);
  return *this;
}

app& app::register_plugin(plugin_factory factory, plugin_options opts) {
  if (!factory) {
    impl_->record(error{ec::invalid_config,
                        "register_plugin got an empty plugin factory"});
    return *this;
  }
  std::unique_ptr<plugin_base> first;
  try {
    first = factory();
  } catch (...) {
    impl_->record(error{ec::invalid_config, "a plugin factory threw: " +
                                                describe_current_exception()});
    return *this;
  }
  if (!first) {
    impl_->record(
        error{ec::invalid_config, "a plugin factory returned no instance"});
    return *this;
  }
  impl_->add(std::move(first), std::move(factory), opts);
  return *this;
}

app& app::register_external_plugin(external_plugin_config cfg) {
  if (!impl_->check_name(cfg.name))
    return *this;
  for (char c : cfg.name) {
    if (std::isspace(static_cast<unsigned char>(c)) || c == '=') {
      impl_->record(error{ec::invalid_config,
                          "external plugin '" + cfg.name +
                              "': the name may not contain white space or "
                              "'=' (it is printed in the ready line)"});
      return *this;
    }
  }
  for (auto& [key, value] : cfg.env) {
    if (key.empty() || key.find('=') != std::string::npos ||
        key.find('\0') != std::string::npos) {
      impl_->record(
          error{ec::invalid_config, "external plugin '" + cfg.name +
                                        "': environment variable name '" + key +
                                        "' is empty or contains '='"});
      return *this;
    }
  }
  if (!cfg.working_dir.empty()) {
    struct stat sb;
    if (::stat(cfg.working_dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)) {
      impl_->record(error{ec::launch_failed, "external plugin '" + cfg.name +
                                                 "': working directory '" +
                                                 cfg.working_dir +
                                                 "' does not exist"});
      return *this;
    }
  }
  if (cfg.port < 0 || cfg.port > 65535) {
    impl_->record(error{ec::invalid_config,
                        "external plugin '" + cfg.name + "': port " +
                            std::to_string(cfg.port) +
                            " is out of range (0..65535, 0 = any free port)"});
    return *this;
  }
  if (!cfg.command.empty() && find_executable(cfg.command.front()).empty()) {
    impl_->record(error{ec::launch_failed,
                        "external plugin '" + cfg.name + "': command '" +
                            cfg.command.front() +
                            "' not found (not an executable file, nor in "
                            "PATH)"});
    return *this;
  }
  plugin_spec spec;
  spec.kind = plugin_kind::external;
  spec.name = cfg.name;
  spec.options = cfg.options;
  for (auto& t : cfg.subscriptions)
    spec.filters.push_back(t.filter());
  spec.await_first_request = cfg.await_first_request;
  spec.has_command = !cfg.command.empty();
  impl_->plugins.push_back(std::move(spec));
  impl_->externals.push_back(std::move(cfg));
  return *this;
}

error app::impl::validate() const {
  auto port_ok = [](int p) { return p >= 0 && p <= 65535; };
  if (cfg.enable_tcp) {
    if (!port_ok(cfg.publish_port))
      return error{ec::invalid_config,
                   "publish port " + std::to_string(cfg.publish_port) +
                       " is out of range (0..65535, 0 = any free port)"};
    if (!port_ok(cfg.subscribe_port))
      return error{ec::invalid_config,
                   "subscribe port " + std::to_string(cfg.subscribe_port) +
                       " is out of range (0..65535, 0 = any free port)"};
  }
  std::map<int, std::string> used;
  auto claim = [&](int port, std::string who) -> error {
    if (port == 0)
      return {};
    auto [i, added] = used.emplace(port, who);
    if (!added)
      return error{ec::duplicate_port, "port " + std::to_string(port) +
                                           " is configured twice: for " +
                                           i->second + " and for " + who};
    return {};
  };
  if (cfg.enable_tcp) {
    if (auto err = claim(cfg.publish_port, "the publish port"))
      return err;
    if (auto err = claim(cfg.subscribe_port, "the subscribe port"))
      return err;
  }
  for (auto& ext : externals)
    if (!ext.name.empty())
      if (auto err = claim(ext.port, "external plugin '" + ext.name + "'"))
        return err;
  if (cfg.queue_capacity == 0)
    return error{ec::invalid_config, "queue_capacity must be at least 1"};
  if (cfg.delivery_window == 0)
    return error{ec::invalid_config, "delivery_window must be at least 1"};
  if (cfg.publish_window == 0)
    return error{ec::invalid_config, "publish_window must be at least 1"};
  if (cfg.bind_address.empty())
    return error{ec::invalid_config,
                 "bind_address is empty: use 127.0.0.1 (default), * or an "
                 "interface address"};
  if (plugins.empty())
    return error{ec::invalid_config,
                 "no plugins registered: register at least one plugin before "
                 "run()"};
  return {};
}

error app::run() {
  auto& d = *impl_;
  // Whatever path returns, waiters of `wait_started` learn that run() is
  // over.
  struct finish_guard {
    app::impl& d;
    ~finish_guard() {
      {
        std::lock_guard<std::mutex> guard{d.mtx};
        d.finished = true;
      }
      d.cv.notify_all();
    }
  };
  if (d.ran.exchange(true))
    return error{ec::already_running,
                 "app::run() was called a second time: an app runs once; "
                 "create a new app to run again"};
  finish_guard on_return{d};
  if (d.first_error)
    return d.first_error;
  if (auto err = d.validate()) {
    ee::log(log_level::error, err.message());
    return err;
  }
  // -- the bridge
  // --------------------------------------------------------------
  std::vector<bridge_plugin> bps;
  for (slot_id i = 0; i < d.plugins.size(); ++i) {
    if (d.plugins[i].kind != plugin_kind::external)
      continue;
    auto& ext = d.externals[i];
    bridge_plugin bp;
    bp.slot = i;
    bp.name = ext.name;
    bp.port = ext.port;
    bp.filters = d.plugins[i].filters;
    bp.await_first_request = ext.await_first_request;
    bp.command = ext.command;
    bp.env = ext.env;
    bp.working_dir = ext.working_dir;
    bps.push_back(std::move(bp));
  }
  std::unique_ptr<bridge> br;
  if (d.cfg.enable_tcp || !bps.empty()) {
    error err;
    br = bridge::open(d.cfg, std::move(bps), err);
    if (!br) {
      ee::log(log_level::error, err.message());
      return err;
    }
  }
  // -- the actor system
  // --------------------------------------------------------
  caf::actor_system_config sys_cfg;
  auto threads = d.cfg.scheduler_threads;
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  sys_cfg.set("scheduler.max-threads", threads);
  // Idle workers block on their queue instead of polling it: on few cores
  // the polling workers steal the CPU from the threads doing the work (ZeroMQ
  // I/O, blocking plugins), which halves request/reply throughput.
  sys_cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  std::promise<std::pair<error, engine_stats>> done;
  auto result = done.get_future();
  error final_result;
  {
    caf::actor_system sys{sys_cfg};
    auto params = std::make_shared<engine_params>();
    params->cfg = d.cfg;
    params->plugins = std::move(d.plugins);
    auto done_ptr = std::make_shared<decltype(done)>(std::move(done));
    auto done_set = std::make_shared<std::atomic<bool>>(false);
    params->on_done = [done_ptr, done_set](const error& err,
                                           const engine_stats& st) {
      if (!done_set->exchange(true))
        done_ptr->set_value({err, st});
    };
    caf::actor bridge_actor;
    if (br) {
      bridge_actor = br->spawn_actor(sys);
      params->bridge = bridge_actor;
      auto* b = br.get(); // outlives the engine: shut down after it
      params->deliver_external = [b](slot_id slot, event_batch&& batch) {
        b->deliver(slot, std::move(batch));
      };
      params->deliver_raw = [b](event_batch&& batch) {
        b->deliver_raw(std::move(batch));
      };
    }
    auto engine = spawn_engine(sys, params);
    // If the engine ever dies without reporting, run() must not hang.
    engine->attach_functor([done_ptr, done_set](const caf::error& reason) {
      if (!done_set->exchange(true))
        done_ptr->set_value(
            {error{ec::internal, "the engine terminated unexpectedly: " +
                                     caf::to_string(reason)},
             engine_stats{}});
    });
    if (br)
      br->start(engine);
    {
      std::lock_guard<std::mutex> guard{d.mtx};
      d.engine = engine;
      d.sys = &sys;
      d.started = true;
      if (br) {
        d.pub_port = br->publish_port();
        d.sub_port = br->subscribe_port();
        d.plugin_ports = br->plugin_ports();
      }
      if (d.stop_requested)
        caf::anon_send(engine, stop_atom::value);
    }
    d.cv.notify_all();
    // Wait for the engine; poll for signals meanwhile.
    bool signalled = false;
    while (result.wait_for(std::chrono::milliseconds{
               d.handle_signals ? 50 : 500}) != std::future_status::ready) {
      if (d.handle_signals && !signalled && signal_count.load() > 0) {
        signalled = true;
        ee::log(log_level::info,
                "signal received: stopping (a second signal forces exit)");
        caf::anon_send(engine, stop_atom::value);
      }
    }
    auto [err, st] = result.get();
    final_result = err;
    if (br) {
      br->shutdown();
      st.rejected = br->rejected();
      st.raw_dropped = br->raw_dropped();
      caf::anon_send_exit(bridge_actor, caf::exit_reason::user_shutdown);
    }
    {
      std::lock_guard<std::mutex> guard{d.mtx};
      d.final_stats = st;
      d.engine = nullptr;
      d.sys = nullptr;
    }
    engine = nullptr;
    bridge_actor = nullptr;
  } // the actor system waits for every actor here
  if (d.handle_signals) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  return final_result;
}

void app::stop() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->stop_requested = true;
  if (impl_->engine)
    caf::anon_send(impl_->engine, stop_atom::value);
}

const app_config& app::config() const noexcept {
  return impl_->cfg;
}

int app::publish_port() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->started ? impl_->pub_port : impl_->cfg.publish_port;
}

int app::subscribe_port() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->started ? impl_->sub_port : impl_->cfg.subscribe_port;
}

int app::plugin_port(const std::string& name) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->plugin_ports.find(name);
  return i == impl_->plugin_ports.end() ? -1 : i->second;
}

bool app::wait_started(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{impl_->mtx};
  impl_->cv.wait_for(guard, timeout,
                     [&] { return impl_->started || impl_->finished; });
  return impl_->started;
}

engine_stats app::stats() const {
  caf::actor engine;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (!impl_->engine)
      return impl_->final_stats;
    engine = impl_->engine;
  }
  auto promise = std::make_shared<std::promise<engine_stats>>();
  auto result = promise->get_future();
  caf::anon_send(engine, stats_atom::value, std::move(promise));
  // A dead engine drops the message: fall back to the final snapshot.
  if (result.wait_for(std::chrono::seconds{2}) == std::future_status::ready)
    return result.get();
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->final_stats;
}

void app::stop_on_signals() {
  impl_->handle_signals = true;
  signal_count = 0;
  struct sigaction sa {};
  sa.sa_handler = ee_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

} // namespace ee
