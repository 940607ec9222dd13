#include "ee/app.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <csignal>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unistd.h>

#include <caf/all.hpp>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "actors/engine.hpp"
#include "actors/federation.hpp"
#include "actors/links.hpp"
#include "actors/messages.hpp"
#include "app_validation.hpp"
#include "bridge/bridge.hpp"
#include "bridge/keeper.hpp"
#include "bridge/process.hpp"
#include "ee/log.hpp"
#include "src/core/exception_text.hpp"
#include "src/core/stats_snapshot.hpp"
#include "src/core/type_lists.hpp"
#include "src/scheduler_config.hpp"

namespace ee {

namespace {

// Signal handling: the handler only touches these atomics.
std::atomic<int> signal_count{0};

// Leaves `*p` behind on purpose (see run_engine): not a leak to report.
template <class T>
void leak(std::unique_ptr<T> p) {
#if defined(__SANITIZE_ADDRESS__)
  __lsan_ignore_object(p.get());
#endif
  (void)p.release();
}

// @returns `result`, failed if processes had to be killed: an app whose
// plugins did not stop within the grace did not end well.
error with_killed(error result, const std::vector<std::string>& killed) {
  if (killed.empty())
    return result;
  std::string names;
  for (auto& name : killed)
    names += (names.empty() ? "'" : ", '") + name + "'";
  auto text = "killed (SIGKILL) the process of " + names +
              ": it did not stop within the shutdown grace";
  if (!result)
    return error{ec::shutdown_timeout, text};
  return error{result.code(), result.message() + "; " + text};
}

extern "C" void ee_on_signal(int) {
  if (signal_count.fetch_add(1) >= 1) {
    keeper::kill_all_now(); // "now": every plugin's tree gets SIGKILL
    _exit(interrupted_exit_code);
  }
}

} // namespace

/// Where `run()` is in its life (guarded by `app::impl::mtx`).
enum class run_phase {
  /// `run()` was not called.
  idle,
  /// `run()` validates, binds, spawns.
  starting,
  /// The engine runs; `stop()` and `stats()` talk to it.
  running,
  /// `run()` tears the runtime down (no more messages to the engine).
  ending,
  /// `run()` returned (or is returning: it touches nothing of the app).
  finished,
};

struct app::impl {
  app_config cfg;
  std::vector<plugin_spec> plugins;
  // The configs of the external plugins, by index in `plugins` (none for
  // internal ones: 100,000 idle plugins would hold 34 MB of empty configs).
  std::map<std::size_t, external_plugin_config> externals;
  std::set<std::string> names;
  error first_error;
  bool handle_signals = false;

  mutable std::mutex mtx;
  mutable std::condition_variable cv;
  // -- guarded by mtx --
  run_phase phase = run_phase::idle;
  // True once the engine ran (ports bound, plugins spawned).
  bool started = false;
  bool stop_requested = false;
  std::optional<std::chrono::steady_clock::time_point> stop_time;
  // Valid while `phase == running`; sends to it happen under mtx.
  engine_handle engine;
  bridge* br = nullptr;
  int pub_port = -1;
  int sub_port = -1;
  std::map<std::string, int> plugin_ports;
  // The engine's result, once it is done.
  std::optional<std::pair<error, engine_stats>> outcome;
  // The last snapshot (final after run()).
  engine_stats last_stats;
  // Stats requests in flight: answered with the final counters if the
  // engine ends before it answers them.
  std::vector<std::weak_ptr<stats_request>> stats_waiting;

  void record(error err) {
    ee::log(log_level::error, err.message());
    if (!first_error)
      first_error = std::move(err);
  }

  bool check_name(const std::string& name) {
    if (auto problem = plugin_name_problem(name, false); !problem.empty()) {
      record(error{ec::invalid_config, problem});
      return false;
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
  }

  // Sets the phase and wakes every waiter. @pre mtx is held.
  void set_phase(run_phase p) {
    phase = p;
    cv.notify_all();
  }

  // The runtime of one run, torn down in order by `run()`.
  error run_engine();

  // The steps of run_engine, in order.
  expected<std::unique_ptr<bridge>> open_bridge();
  std::shared_ptr<engine_params> make_params(bridge* br);
  void report(const error& err, const engine_stats& st);
  void publish_started(const engine_handle& eng, bridge* br);
  void wait_for_outcome(const engine_handle& eng);
  static void close_system(std::unique_ptr<caf::actor_system> sys,
                           std::unique_ptr<caf::actor_system_config> sys_cfg,
                           const std::atomic<int>& live_hosts);
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
  // Wait for a run() on another thread: it uses everything in impl_.
  std::unique_lock<std::mutex> guard{impl_->mtx};
  impl_->cv.wait(guard, [&] {
    return impl_->phase == run_phase::idle ||
           impl_->phase == run_phase::finished;
  });
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
  plugin_spec spec;
  spec.kind = plugin_kind::external;
  spec.name = cfg.name;
  spec.options = cfg.options;
  auto subs = split_types(cfg.subscriptions);
  spec.filters = std::move(subs.filters);
  spec.type_names = std::move(subs.names);
  spec.await_first_request = cfg.await_first_request;
  spec.has_command = !cfg.command.empty();
  impl_->externals.emplace(impl_->plugins.size(), std::move(cfg));
  impl_->plugins.push_back(std::move(spec));
  return *this;
}

error app::impl::validate() const {
  std::vector<const external_plugin_config*> ps;
  for (auto& [index, ext] : externals)
    ps.push_back(&ext);
  for (auto& x : validate_app(cfg, ps))
    if (!x.warning)
      return error{x.code, x.message};
  // An engine that only relays between peers needs no plugin.
  if (plugins.empty() && !cfg.federation.enabled())
    return error{ec::invalid_config,
                 "no plugins registered: register at least one plugin before "
                 "run()"};
  return {};
}

error app::run() {
  auto& d = *impl_;
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    if (d.phase != run_phase::idle)
      return error{ec::already_running,
                   "app::run() was called a second time: an app runs once; "
                   "create a new app to run again"};
    d.set_phase(run_phase::starting);
  }
  error result;
  try {
    result = d.run_engine();
  } catch (...) {
    // Nothing may escape run() (and ~app must not wait forever for it).
    result = error{ec::internal,
                   "app::run() failed: " + describe_current_exception()};
    ee::log(log_level::error, result.message());
  }
  {
    std::lock_guard<std::mutex> guard{d.mtx};
    d.set_phase(run_phase::finished); // the last touch of *impl_
  }
  return result;
}

// Opens the bridge for the external plugins (numbering their endpoints) and
// the raw ports, or returns null when there is nothing to serve.
expected<std::unique_ptr<bridge>> app::impl::open_bridge() {
  std::vector<bridge_plugin> bps;
  for (std::size_t i = 0; i < plugins.size(); ++i) {
    if (plugins[i].kind != plugin_kind::external)
      continue;
    bridge_plugin bp;
    static_cast<external_plugin_config&>(bp) = externals.at(i);
    bp.id = endpoint_id{bps.size()};
    plugins[i].endpoint = bp.id;
    bps.push_back(std::move(bp));
  }
  if (!cfg.enable_tcp && bps.empty())
    return std::unique_ptr<bridge>{};
  return bridge::open(cfg, std::move(bps));
}

namespace {

std::unique_ptr<caf::actor_system_config>
make_system_config(const app_config& cfg) {
  auto ptr = std::make_unique<caf::actor_system_config>();
  auto& sys_cfg = *ptr;
  configure_scheduler(sys_cfg, cfg.scheduler_threads);
  configure_federation(sys_cfg, cfg.federation);
  return ptr;
}

// The bridge's counters join every snapshot (bridge::stats is thread-safe;
// the bridge outlives the engine).
std::function<void(engine_stats&)> bridge_decorator(bridge* b) {
  return [b](engine_stats& st) {
    auto bs = b->stats();
    st.rejected = bs.rejected;
    for (auto& e : bs.endpoints) {
      auto i = st.plugins.find(e.name);
      if (i == st.plugins.end())
        continue;
      copy_wire_counters(i->second, e);
      // External plugins' events are redelivered by their endpoint.
      i->second.redelivered = e.redeliveries;
    }
    st.raw_dropped += bs.raw_dropped; // plus ZeroMQ's own drops
    st.refused_connections = bs.refused_connections;
    st.refused_subscribers = bs.refused_subscribers;
  };
}

} // namespace

std::shared_ptr<engine_params> app::impl::make_params(bridge* br) {
  auto params = std::make_shared<engine_params>();
  params->cfg = cfg;
  params->plugins = std::move(plugins);
  params->bridge = br;
  params->threads = std::make_shared<blocking_threads>();
  params->live_hosts = std::make_shared<std::atomic<int>>(0);
  params->on_done = [this](const error& err, const engine_stats& st) {
    report(err, st);
  };
  if (br)
    params->decorate = bridge_decorator(br);
  return params;
}

void app::impl::report(const error& err, const engine_stats& st) {
  std::lock_guard<std::mutex> guard{mtx};
  if (!outcome) {
    outcome.emplace(err, st);
    cv.notify_all();
  }
}

void app::impl::publish_started(const engine_handle& eng, bridge* br) {
  std::lock_guard<std::mutex> guard{mtx};
  engine = eng;
  this->br = br;
  if (br) {
    pub_port = br->publish_port();
    sub_port = br->subscribe_port();
    plugin_ports = br->plugin_ports();
  }
  if (stop_requested) {
    stop_time = std::chrono::steady_clock::now();
    caf::anon_send(eng, stop_atom::value);
  }
  started = true;
  set_phase(run_phase::running);
}

void app::impl::wait_for_outcome(const engine_handle& eng) {
  bool signalled = false;
  std::unique_lock<std::mutex> guard{mtx};
  auto tick = std::chrono::milliseconds{handle_signals ? 50 : 500};
  while (!outcome) {
    cv.wait_for(guard, tick);
    if (handle_signals && !signalled && signal_count.load() > 0) {
      signalled = true;
      ee::log(log_level::info,
              "signal received: stopping (a second signal forces exit)");
      if (!stop_time)
        stop_time = std::chrono::steady_clock::now();
      caf::anon_send(eng, stop_atom::value);
    }
  }
  // No more messages to the engine from stop() or stats(); requests it
  // will never answer get the final counters.
  engine = nullptr;
  this->br = nullptr;
  last_stats = outcome->second;
  for (auto& w : stats_waiting)
    if (auto req = w.lock())
      req->fulfil(last_stats);
  stats_waiting.clear();
  set_phase(run_phase::ending);
}

void app::impl::close_system(std::unique_ptr<caf::actor_system> sys,
                             std::unique_ptr<caf::actor_system_config> sys_cfg,
                             const std::atomic<int>& live_hosts) {
  // A plugin host stuck in a callback keeps the actor system from ever
  // finishing: leave the system behind (its threads are not ours to kill)
  // rather than hang here.
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds{200};
  while (live_hosts.load() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds{1});
  if (live_hosts.load() > 0) {
    ee::log(log_level::error,
            "leaving the actor system behind: " +
                std::to_string(live_hosts.load()) +
                " plugin(s) still inside a callback after the shutdown grace");
    leak(std::move(sys));
    leak(std::move(sys_cfg)); // the system refers to it
  } else {
    sys.reset(); // waits for every actor
  }
}

error app::impl::run_engine() {
  if (first_error)
    return first_error;
  // Errors before the start are returned, not logged: the caller reports
  // them once (`event-engine run` prints them).
  if (auto err = validate())
    return err;
  auto opened = open_bridge();
  if (!opened)
    return opened.error();
  auto br = std::move(*opened);
  auto sys_cfg = make_system_config(cfg);
  auto sys = std::make_unique<caf::actor_system>(*sys_cfg);
  auto params = make_params(br.get());
  auto eng = spawn_engine(*sys, params);
  // If the engine ever dies without reporting, run() must not hang.
  eng->attach_functor([this](const caf::error& reason) {
    report(error{ec::internal, "the engine terminated unexpectedly: " +
                                   caf::to_string(reason)},
           engine_stats{});
  });
  auto link = make_engine_link(eng);
  if (br)
    br->start(*link, credit{cfg.publish_window, cfg.publish_window_bytes});
  publish_started(eng, br.get());
  wait_for_outcome(eng);
  auto [result, st] = *outcome;
  // Tear down, bounded: processes get the rest of the grace that began with
  // the stop request (or a full grace when the app ended by itself).
  auto now = std::chrono::steady_clock::now();
  auto deadline = now + cfg.shutdown_grace;
  if (stop_time)
    deadline = std::max(now, *stop_time + cfg.shutdown_grace);
  if (br) {
    br->shutdown(deadline);
    result = with_killed(std::move(result), br->killed());
  }
  params->threads->join_all();
  link.reset();
  eng = nullptr;
  close_system(std::move(sys), std::move(sys_cfg), *params->live_hosts);
  params.reset();
  br.reset();
  if (handle_signals) {
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
  }
  std::lock_guard<std::mutex> guard{mtx};
  last_stats = st;
  return result;
}

void app::stop() {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (impl_->phase == run_phase::ending || impl_->phase == run_phase::finished)
    return;
  impl_->stop_requested = true;
  if (!impl_->stop_time && impl_->phase == run_phase::running)
    impl_->stop_time = std::chrono::steady_clock::now();
  if (impl_->engine)
    caf::anon_send(impl_->engine, stop_atom::value);
}

const app_config& app::config() const noexcept {
  return impl_->cfg;
}

int app::publish_port() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->phase >= run_phase::running ? impl_->pub_port
                                            : impl_->cfg.publish_port;
}

int app::subscribe_port() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->phase >= run_phase::running ? impl_->sub_port
                                            : impl_->cfg.subscribe_port;
}

int app::plugin_port(const std::string& name) const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  auto i = impl_->plugin_ports.find(name);
  return i == impl_->plugin_ports.end() ? -1 : i->second;
}

bool app::wait_started(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{impl_->mtx};
  impl_->cv.wait_for(guard, timeout,
                     [&] { return impl_->phase >= run_phase::running; });
  return impl_->started;
}

engine_stats app::stats() const {
  auto req = std::make_shared<stats_request>();
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    if (impl_->phase != run_phase::running || !impl_->engine)
      return impl_->last_stats;
    // Sent under the lock: the runtime cannot go away meanwhile.
    caf::anon_send(impl_->engine, stats_atom::value, req);
    auto& waiting = impl_->stats_waiting;
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                                 [](auto& w) { return w.expired(); }),
                  waiting.end());
    waiting.push_back(req);
  }
  auto st = req->wait(std::chrono::seconds{2});
  std::lock_guard<std::mutex> guard{impl_->mtx};
  if (!st)
    return impl_->last_stats; // the engine is swamped
  impl_->last_stats = *st;
  return *st;
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
