// Section e: actor plugins through the start barrier (each stops in its
// on_start); the restart latency of a crashing `permanent` plugin (back-off
// 0, median). No baseline.

#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <ee/app.hpp>
#include <ee/log.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

// -- barrier ------------------------------------------------------------------

struct barrier_shared {
  std::size_t k = 0;
  std::atomic<std::size_t> started{0};
  clock_type::time_point last_start;
};

class idle_plugin : public ee::plugin {
public:
  idle_plugin(barrier_shared* s, std::size_t idx) : s_(s), idx_(idx) {
    // nop
  }
  std::string name() const override { return "idle_" + std::to_string(idx_); }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"BenchIdle"}};
  }
  void on_start(ee::context& ctx) override {
    if (s_->started.fetch_add(1, std::memory_order_acq_rel) + 1 == s_->k)
      s_->last_start = clock_type::now();
    ctx.stop();
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  barrier_shared* s_;
  std::size_t idx_;
};

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

} // namespace

int child_barrier(std::size_t k) {
  barrier_shared s;
  s.k = k;
  ee::app app{child_app_config()};
  for (std::size_t i = 0; i < k; ++i)
    app.emplace_plugin<idle_plugin>(&s, i);
  auto t0 = clock_type::now();
  auto [err, forced] = run_bounded(app, 60s);
  auto t1 = clock_type::now();
  if (err)
    std::cout << "# barrier app: " << err.to_string() << std::endl;
  bool ok = s.started.load() == k && !forced;
  return print_child({{"ok", ok},
                      {"barrier_s", ok ? seconds(t0, s.last_start) : -1.0},
                      {"run_s", seconds(t0, t1)}});
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
  std::cout << "\n== e. start barrier (" << cfg.plugins
            << " actor plugins) and restart latency ==\n";
  double barrier_s = -1;
  double run_s = -1;
  if (auto kv = run_child({"barrier", std::to_string(cfg.plugins)}, 120s)) {
    if ((*kv)["ok"] != 0) {
      barrier_s = (*kv)["barrier_s"];
      run_s = (*kv)["run_s"];
    }
  }
  std::cout << "# barrier: " << (barrier_s >= 0 ? fmt(barrier_s) : "FAILED")
            << " s to the last on_start; run() returned after " << fmt(run_s)
            << " s" << std::endl;
  auto opt = [](double v) {
    return v >= 0 ? std::optional<double>{v} : std::nullopt;
  };
  report("e", "barrier_seconds",
         std::to_string(cfg.plugins) + " plugins: run() -> last on_start", "s",
         opt(barrier_s), std::nullopt, "target < 0.5 s");
  report("e", "barrier_run_seconds",
         std::to_string(cfg.plugins) + " plugins: whole run()", "s", opt(run_s),
         std::nullopt, "start + stop of every plugin");
  add_target(
      {std::to_string(cfg.plugins) + " plugins through the barrier < 0.5 s",
       barrier_s >= 0 ? fmt(barrier_s) + " s" : "failed",
       barrier_s >= 0 && barrier_s < 0.5});
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

} // namespace ee::bench
