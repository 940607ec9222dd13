// Section e: start-up, memory and stop of K idle actor plugins (one child
// process per K): the time from run() to the last on_start, the RSS before
// registering, after registering and after the barrier (bytes per registered
// and per idle plugin), and the time from stop() to run() returning; then the
// restart latency of a crashing `permanent` plugin (back-off 0, median).
// The baseline (barrier_floor.cpp, a child of its own in the same round): a
// bare CAF system spawning K lazy_init actors and sending each one message.

#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <ee/app.hpp>
#include <ee/log.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

// -- idle plugins through the barrier -----------------------------------------

struct barrier_shared {
  std::size_t k = 0;
  std::atomic<std::size_t> started{0};
  std::mutex mtx;
  std::condition_variable cv;
  bool all_started = false;          // guarded by mtx
  clock_type::time_point last_start; // guarded by mtx
};

/// Counts its on_start and then idles (it does not stop by itself).
class idle_plugin : public ee::plugin {
public:
  idle_plugin(barrier_shared* s, std::size_t idx) : s_(s), idx_(idx) {
    // nop
  }
  std::string name() const override { return "idle_" + std::to_string(idx_); }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"BenchIdle"}};
  }
  void on_start(ee::context&) override {
    if (s_->started.fetch_add(1, std::memory_order_acq_rel) + 1 != s_->k)
      return;
    auto now = clock_type::now();
    std::lock_guard<std::mutex> guard{s_->mtx};
    s_->last_start = now;
    s_->all_started = true;
    s_->cv.notify_all();
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  barrier_shared* s_;
  std::size_t idx_;
};

/// The targets of the barrier: plugin count and limit in seconds.
constexpr std::pair<std::uint64_t, double> barrier_targets[] = {{1000, 0.5},
                                                                {100000, 1.0}};

/// Issue 17's targets at 100,000 plugins: the barrier at most this many
/// times the bare-CAF floor, and an idle plugin at most this many bytes
/// beyond CAF's own actor.
constexpr std::uint64_t floor_target_k = 100000;
constexpr double floor_target_ratio = 1.5;
constexpr double beyond_caf_target_bytes = 2048;

/// What a barrier child measured (nothing unless `ok`).
struct barrier_figures {
  bool ok = false;
  double barrier_s = -1;
  double stop_s = -1;
  double registered_bytes = -1; // per plugin: RSS growth by registering
  double idle_bytes = -1; // per plugin: RSS growth by registering and running
  double before_mb = 0;
  double registered_mb = 0;
  double running_mb = 0;
};

barrier_figures run_barrier_child(std::uint64_t k) {
  barrier_figures f;
  auto kv = run_child({"barrier", std::to_string(k)},
                      std::chrono::seconds{150 + k / 1000});
  if (!kv || (*kv)["ok"] == 0)
    return f;
  f.ok = true;
  f.barrier_s = (*kv)["barrier_s"];
  f.stop_s = (*kv)["stop_s"];
  auto before_kb = (*kv)["before_kb"];
  f.registered_bytes = ((*kv)["registered_kb"] - before_kb) * 1024 / k;
  f.idle_bytes = ((*kv)["running_kb"] - before_kb) * 1024 / k;
  f.before_mb = before_kb / 1024;
  f.registered_mb = (*kv)["registered_kb"] / 1024;
  f.running_mb = (*kv)["running_kb"] / 1024;
  return f;
}

/// What a floor child measured: seconds and bytes per actor (NaN: failed).
struct floor_figures {
  double floor_s = std::numeric_limits<double>::quiet_NaN();
  double bytes = std::numeric_limits<double>::quiet_NaN();
};

floor_figures run_floor_child(std::uint64_t k) {
  floor_figures f;
  auto kv = run_child({"caf-floor", std::to_string(k)},
                      std::chrono::seconds{150 + k / 1000});
  if (!kv || (*kv)["ok"] == 0)
    return f;
  f.floor_s = (*kv)["floor_s"];
  f.bytes = ((*kv)["running_kb"] - (*kv)["before_kb"]) * 1024 / k;
  std::cout << "# CAF floor " << k << " actors: " << fmt(f.floor_s)
            << " s to the last message, " << fmt(f.bytes) << " B per actor"
            << std::endl;
  return f;
}

void print_barrier(std::uint64_t k, const barrier_figures& f) {
  std::cout << "# barrier " << k << " plugins: ";
  if (!f.ok) {
    std::cout << "FAILED" << std::endl;
    return;
  }
  std::cout << fmt(f.barrier_s) << " s to the last on_start, stop -> run() "
            << "returned " << fmt(f.stop_s) << " s; RSS " << fmt(f.before_mb)
            << " -> " << fmt(f.registered_mb) << " -> " << fmt(f.running_mb)
            << " MB (before registering, registered, running): "
            << fmt(f.registered_bytes) << " B per registered plugin, "
            << fmt(f.idle_bytes) << " B per idle plugin" << std::endl;
}

/// The rounds of one plugin count (NaN: a failed run).
struct barrier_runs {
  std::vector<double> barrier_s;
  std::vector<double> stop_s;
  std::vector<double> registered_bytes;
  std::vector<double> idle_bytes;
  std::vector<double> floor_s;
  std::vector<double> floor_bytes;
  std::vector<double> beyond_bytes; // idle plugin minus CAF actor, per round
  bool all_ok = true;

  void add(const barrier_figures& f, const floor_figures& fl) {
    auto v = [&f](double x) {
      return f.ok ? x : std::numeric_limits<double>::quiet_NaN();
    };
    barrier_s.push_back(v(f.barrier_s));
    stop_s.push_back(v(f.stop_s));
    registered_bytes.push_back(v(f.registered_bytes));
    idle_bytes.push_back(v(f.idle_bytes));
    floor_s.push_back(fl.floor_s);
    floor_bytes.push_back(fl.bytes);
    beyond_bytes.push_back(v(f.idle_bytes) - fl.bytes);
    all_ok = all_ok && f.ok && !std::isnan(fl.floor_s);
  }
};

void report_barrier(std::uint64_t k, const barrier_runs& r) {
  std::string note;
  for (auto [tk, limit] : barrier_targets)
    if (tk == k) {
      std::ostringstream out;
      out << "target < " << limit << " s";
      note = out.str();
    }
  auto ks = std::to_string(k);
  report_runs("e", "barrier_seconds_k" + ks,
              ks + " plugins: run() -> last on_start", "s", r.barrier_s,
              r.floor_s,
              note.empty() ? "baseline: bare CAF floor"
                           : note + "; baseline: bare CAF floor");
  report_runs("e", "barrier_stop_seconds_k" + ks,
              ks + " plugins: stop -> run() returned", "s", r.stop_s, {},
              "every plugin idle until stop()");
  report_runs("e", "barrier_bytes_per_registered_plugin_k" + ks,
              ks + " plugins: bytes per registered plugin", "B",
              r.registered_bytes, {}, "RSS growth by registering / K");
  report_runs("e", "barrier_bytes_per_idle_plugin_k" + ks,
              ks + " plugins: bytes per idle plugin", "B", r.idle_bytes,
              r.floor_bytes,
              "RSS growth by registering and running / K; baseline: bare "
              "CAF actor");
  report_runs("e", "barrier_bytes_beyond_caf_k" + ks,
              ks + " plugins: bytes beyond CAF's actor", "B", r.beyond_bytes,
              {}, "bytes per idle plugin minus per bare CAF actor");
}

/// Issue 17's targets against the floor (see floor_target_k).
void floor_targets(const barrier_runs& r, std::size_t repeat) {
  auto k = std::to_string(floor_target_k);
  auto worst = " (worst of " + std::to_string(repeat) + ")";
  std::vector<double> ratios;
  for (std::size_t i = 0; i < r.barrier_s.size(); ++i)
    ratios.push_back(r.barrier_s[i] / r.floor_s[i]);
  auto ratio = spread_of(ratios);
  std::ostringstream what;
  what << k << " plugins through the barrier <= " << floor_target_ratio
       << "x the CAF floor" << worst;
  add_target({what.str(),
              ratio ? spread_str(*ratio) + "x (min / median / max)" : "failed",
              r.all_ok && ratio && ratio->max <= floor_target_ratio});
  auto beyond = spread_of(r.beyond_bytes);
  std::ostringstream what_b;
  what_b << k << " idle plugins: <= " << beyond_caf_target_bytes
         << " B beyond CAF's actor" << worst;
  add_target(
      {what_b.str(),
       beyond ? spread_str(*beyond) + " B (min / median / max)" : "failed",
       r.all_ok && beyond && beyond->max <= beyond_caf_target_bytes});
}

void barrier_part(const settings& cfg) {
  std::map<std::uint64_t, barrier_runs> measured;
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    std::cout << "# round " << round << " of " << cfg.repeat << std::endl;
    for (auto k : cfg.plugins) {
      auto f = run_barrier_child(k);
      print_barrier(k, f);
      measured[k].add(f, run_floor_child(k));
    }
  }
  for (auto k : cfg.plugins)
    report_barrier(k, measured[k]);
  for (auto [k, limit] : barrier_targets) {
    std::ostringstream what;
    what << k << " plugins through the barrier < " << limit << " s";
    auto i = measured.find(k);
    if (i == measured.end()) {
      add_target({what.str(), "not run (see --plugins)", std::nullopt});
      continue;
    }
    auto sp = spread_of(i->second.barrier_s);
    add_target({what.str() + " (worst)",
                sp ? spread_str(*sp) + " s (min / median / max)" : "failed",
                i->second.all_ok && sp && sp->max < limit});
  }
  if (auto i = measured.find(floor_target_k); i != measured.end())
    floor_targets(i->second, cfg.repeat);
}

// -- restarts -----------------------------------------------------------------

struct restart_shared {
  std::mutex mtx;
  std::condition_variable cv;
  bool first_started = false;
  std::size_t restarts_seen = 0;
  clock_type::time_point thrown;
  std::vector<double> latencies_ms;
  bool driver_done = false;
};

class crasher : public ee::plugin {
public:
  explicit crasher(restart_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "crasher"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"crash"}};
  }
  void on_start(ee::context& ctx) override {
    auto now = clock_type::now();
    std::lock_guard<std::mutex> guard{s_->mtx};
    if (ctx.restarts() > 0) {
      s_->latencies_ms.push_back(
          std::chrono::duration<double, std::milli>(now - s_->thrown).count());
      ++s_->restarts_seen;
    } else {
      s_->first_started = true;
    }
    s_->cv.notify_all();
  }
  void on_event(ee::context&, const ee::event& ev) override {
    if (ev.starts_with("crash")) {
      {
        std::lock_guard<std::mutex> guard{s_->mtx};
        s_->thrown = clock_type::now();
      }
      throw std::runtime_error("benchmark crash");
    }
  }

private:
  restart_shared* s_;
};

class crash_driver : public ee::blocking_plugin {
public:
  crash_driver(restart_shared* s, std::size_t rounds) : s_(s), rounds_(rounds) {
    // nop
  }
  std::string name() const override { return "crash_driver"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    std::unique_lock<std::mutex> lock{s_->mtx};
    s_->cv.wait_for(lock, 10s, [&] { return s_->first_started; });
    for (std::size_t i = 0; i < rounds_ && s_->first_started; ++i) {
      auto before = s_->restarts_seen;
      lock.unlock();
      pub.publish(std::string_view{"crash"});
      lock.lock();
      if (!s_->cv.wait_for(lock, 10s,
                           [&] { return s_->restarts_seen > before; }))
        break;
    }
    s_->driver_done = true;
    s_->cv.notify_all();
  }

private:
  restart_shared* s_;
  std::size_t rounds_;
};

void restart_part(const settings& cfg) {
  std::optional<double> median, fastest, worst;
  double count = 0;
  std::vector<std::string> args{"restart", std::to_string(cfg.restarts)};
  if (cfg.verbose)
    args.push_back("verbose");
  if (auto kv = run_child(args, 180s)) {
    count = (*kv)["count"];
    if (count > 0) {
      median = (*kv)["median_ms"];
      fastest = (*kv)["min_ms"];
      worst = (*kv)["max_ms"];
    }
  }
  std::cout << "# restarts: " << count << " of " << cfg.restarts << ", median "
            << (median ? fmt(*median) : "-") << " ms, max "
            << (worst ? fmt(*worst) : "-") << " ms" << std::endl;
  report("e", "restart_latency_median",
         "restart latency, median of " + std::to_string(int(count)), "ms",
         median, std::nullopt, "throw -> next on_start, back-off 0");
  report("e", "restart_latency_min", "restart latency, min", "ms", fastest,
         std::nullopt);
  report("e", "restart_latency_max", "restart latency, max", "ms", worst,
         std::nullopt);
}

} // namespace

int child_barrier(std::size_t k) {
  barrier_shared s;
  s.k = k;
  ee::app app{child_app_config()};
  long before_kb = status_kb("VmRSS");
  for (std::size_t i = 0; i < k; ++i)
    app.emplace_plugin<idle_plugin>(&s, i);
  long registered_kb = status_kb("VmRSS");
  const std::chrono::milliseconds bound{60000 + k / 2};
  auto t0 = clock_type::now();
  app_runner runner{app};
  bool all_started = false;
  {
    std::unique_lock<std::mutex> lock{s.mtx};
    auto give_up = t0 + bound;
    while (!s.all_started && !runner.returned() && clock_type::now() < give_up)
      s.cv.wait_for(lock, 100ms);
    all_started = s.all_started;
  }
  long running_kb = status_kb("VmRSS");
  auto t_stop = clock_type::now();
  app.stop();
  auto [err, forced] = runner.finish(bound);
  auto t_end = clock_type::now();
  if (err)
    std::cout << "# barrier app: " << err.to_string() << std::endl;
  bool ok = all_started && !forced;
  return print_child({{"ok", ok},
                      {"barrier_s", ok ? seconds(t0, s.last_start) : -1.0},
                      {"stop_s", seconds(t_stop, t_end)},
                      {"before_kb", static_cast<double>(before_kb)},
                      {"registered_kb", static_cast<double>(registered_kb)},
                      {"running_kb", static_cast<double>(running_kb)}});
}

int child_restart(std::size_t rounds, bool verbose) {
  restart_shared s;
  auto acfg = child_app_config();
  acfg.max_restarts = rounds * 2 + 10;
  acfg.restart_period = std::chrono::milliseconds{600000};
  ee::app app{acfg};
  ee::plugin_options opts;
  opts.restart = ee::restart_policy::permanent;
  opts.backoff.initial = 0ms;
  opts.backoff.jitter = 0;
  app.register_plugin(
      ee::plugin_factory{[&s]() -> std::unique_ptr<ee::plugin_base> {
        return std::make_unique<crasher>(&s);
      }},
      opts);
  app.emplace_plugin<crash_driver>(&s, rounds);
  if (!verbose)
    ee::set_log_level(ee::log_level::off); // one error line per crash
  app_runner runner{app};
  {
    std::unique_lock<std::mutex> lock{s.mtx};
    s.cv.wait_for(lock, 60s, [&] { return s.driver_done; });
  }
  std::vector<double> v;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    v = s.latencies_ms;
  }
  std::sort(v.begin(), v.end());
  print_child({{"count", static_cast<double>(v.size())},
               {"median_ms", v.empty() ? -1.0 : v[v.size() / 2]},
               {"min_ms", v.empty() ? -1.0 : v.front()},
               {"max_ms", v.empty() ? -1.0 : v.back()}});
  (void)runner.finish(0ms); // run() reports the crashes: expected here
  return 0;
}

void section_e(const settings& cfg) {
  std::cout << "\n== e. start barrier (";
  for (std::size_t i = 0; i < cfg.plugins.size(); ++i)
    std::cout << (i > 0 ? ", " : "") << cfg.plugins[i];
  std::cout << " idle actor plugins) and restart latency ==\n";
  barrier_part(cfg);
  restart_part(cfg);
}

} // namespace ee::bench
