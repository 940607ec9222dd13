// Section a: the load-test pipeline (producer -> operator -> accumulator) on
// the engine vs the original topology on libzmq (PUB -> XSUB/XPUB proxy ->
// SUB): events/s, peak RSS, totals; the engine also at several counts. Each
// run, the raw one too, is a child process of its own (VmHWM is
// process-wide).

#include "tests/benchmark/pipeline_events.hpp"
#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <iomanip>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include <ee/app.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

// -- engine -------------------------------------------------------------------

class pl_producer : public ee::blocking_plugin {
public:
  explicit pl_producer(pipeline_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "MsgProducer"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    std::string buf{initial_type};
    std::size_t size = min_size;
    s_->started();
    for (std::uint64_t i = 0; i < s_->n; ++i) {
      buf.resize(initial_type.size());
      buf.append(size, 'X');
      pub.publish(ee::event{std::string_view{buf}});
      size = next_size(size);
    }
  }

private:
  pipeline_shared* s_;
};

class pl_operator : public ee::plugin {
public:
  explicit pl_operator(pipeline_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "MsgOperator"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{std::string{initial_type}}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto len = ev.size() - initial_type.size();
    ctx.publish(ee::event::concat(operator_type, std::to_string(len)));
    if (++seen_ == s_->n)
      ctx.stop();
  }

private:
  pipeline_shared* s_;
  std::uint64_t seen_ = 0;
};

class pl_accumulator : public ee::plugin {
public:
  explicit pl_accumulator(pipeline_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "Accumulator"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{std::string{operator_type}}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    std::uint64_t n = 0;
    for (char c : ev.after(operator_type.size()))
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    total_ += n;
    if (++seen_ == s_->n) {
      s_->ended();
      s_->seen = seen_;
      s_->total = total_;
      ctx.stop();
    }
  }

private:
  pipeline_shared* s_;
  std::uint64_t seen_ = 0;
  std::uint64_t total_ = 0;
};

// -- raw libzmq, the original topology ----------------------------------------
//
// PUB -> XSUB [proxy thread] XPUB -> SUB, one thread per plugin with its own
// PUB and SUB socket. Lossless only because every socket has SNDHWM = RCVHWM
// = 0 (unlimited queues): memory then grows with the backlog. XPUB_NODROP
// (block instead of drop at the high-water mark) is no option here: the
// proxy is one thread serving a cycle producer -> proxy -> operator -> proxy
// -> accumulator; once the proxy blocks sending to the operator (operator's
// queue full) while the operator blocks sending to the proxy (proxy's XSUB
// queue full, since the proxy no longer reads), neither moves again: a
// deadlock. The original crate used default HWMs and silently dropped ~19 %.

constexpr const char* proxy_in = "inproc://bench-proxy-in";
constexpr const char* proxy_out = "inproc://bench-proxy-out";

void proxy_loop(zmq::context_t& ctx, std::promise<void>& bound,
                std::atomic<bool>& stop) {
  zmq::socket_t xsub{ctx, zmq::socket_type::xsub};
  zmq::socket_t xpub{ctx, zmq::socket_type::xpub};
  set_hwm(xsub, 0);
  set_hwm(xpub, 0);
  xsub.bind(proxy_in);
  xpub.bind(proxy_out);
  bound.set_value();
  zmq::pollitem_t items[] = {{xsub.handle(), 0, ZMQ_POLLIN, 0},
                             {xpub.handle(), 0, ZMQ_POLLIN, 0}};
  zmq::message_t msg;
  auto forward = [&](zmq::socket_t& from, zmq::socket_t& to) {
    // Drain a batch (each message may be multipart).
    for (int i = 0; i < 1024; ++i) {
      if (!from.recv(msg, zmq::recv_flags::dontwait))
        return;
      bool more = msg.more();
      to.send(msg, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
      while (more) {
        (void)from.recv(msg);
        more = msg.more();
        to.send(msg, more ? zmq::send_flags::sndmore : zmq::send_flags::none);
      }
    }
  };
  while (!stop.load(std::memory_order_relaxed)) {
    zmq::poll(items, 2, 100ms);
    if (items[0].revents & ZMQ_POLLIN)
      forward(xsub, xpub);
    if (items[1].revents & ZMQ_POLLIN)
      forward(xpub, xsub);
  }
}

// -- driver -------------------------------------------------------------------

struct pipeline_figures {
  bool ok = false;
  double eps = 0;
  double secs = 0;
  double cpu_us = 0;
  double peak_mb = 0;
  double growth_mb = 0;
  std::uint64_t lost = 0;
  bool totals_ok = false;
};

pipeline_figures run_pipeline_child(const std::string& kind, std::uint64_t n) {
  pipeline_figures f;
  auto child = run_child({kind, std::to_string(n)},
                         std::chrono::seconds{120 + n / 20000});
  if (!child)
    return f;
  auto& kv = *child;
  f.ok = kv["forced"] == 0;
  f.eps = kv["eps"];
  f.secs = kv["secs"];
  f.cpu_us = kv["cpu_us"];
  f.peak_mb = kv["peak_kb"] / 1024.0;
  f.growth_mb = (kv["peak_kb"] - kv["start_kb"]) / 1024.0;
  auto seen = static_cast<std::uint64_t>(kv["seen"]);
  f.lost = n - std::min(n, seen);
  f.totals_ok = seen == n && kv["total"] == kv["expected"];
  std::cout << "# " << kind << " " << n << " events: " << fmt(f.eps)
            << " events/s (" << fmt(f.secs) << " s), CPU " << fmt(f.cpu_us)
            << " us/event, peak RSS " << fmt(f.peak_mb) << " MB (growth "
            << fmt(f.growth_mb) << " MB), lost " << f.lost << ", totals "
            << (f.totals_ok ? "exact" : "WRONG") << std::endl;
  return f;
}

/// The runs of one kind at one count, round by round (NaN: a failed run).
struct pipeline_runs {
  std::vector<double> eps;
  std::vector<double> cpu_us;
  std::vector<double> peak_mb;
  std::vector<double> growth_mb;
  std::uint64_t worst_lost = 0;
  bool all_ok = true; // every run finished with exact totals

  void add(const pipeline_figures& f) {
    auto nan = std::numeric_limits<double>::quiet_NaN();
    eps.push_back(f.ok ? f.eps : nan);
    cpu_us.push_back(f.ok ? f.cpu_us : nan);
    peak_mb.push_back(f.ok ? f.peak_mb : nan);
    growth_mb.push_back(f.ok ? f.growth_mb : nan);
    worst_lost = std::max(worst_lost, f.lost);
    all_ok = all_ok && f.ok && f.totals_ok;
  }
};

std::string count_name(std::uint64_t n) {
  return std::to_string(n);
}

/// Reports the figures at `n` events; `raw` and `floor` may have no runs.
/// @returns the spreads of the throughput ratios to raw and to the floor.
std::pair<std::optional<spread>, std::optional<spread>>
report_count(std::uint64_t n, const pipeline_runs& e, const pipeline_runs& raw,
             const pipeline_runs& floor) {
  auto cn = count_name(n);
  auto label = "pipeline " + cn + " ev: ";
  auto to_raw =
      report_runs("a", "pipeline_throughput_n" + cn, label + "throughput",
                  "events/s", e.eps, raw.eps, "baseline raw libzmq");
  auto to_floor = report_runs("a", "pipeline_vs_floor_n" + cn,
                              label + "throughput vs floor", "events/s", e.eps,
                              floor.eps, "baseline: threads + SPSC rings");
  report_runs("a", "pipeline_cpu_per_event_n" + cn, label + "CPU per event",
              "us/event", e.cpu_us, raw.cpu_us, "whole process, raw libzmq");
  report_runs("a", "pipeline_peak_rss_n" + cn, label + "peak RSS", "MB",
              e.peak_mb, raw.peak_mb);
  report_runs("a", "pipeline_rss_growth_n" + cn, label + "peak RSS growth",
              "MB", e.growth_mb, raw.growth_mb);
  report("a", "pipeline_lost_n" + cn, label + "lost (worst run)", "events",
         static_cast<double>(e.worst_lost),
         raw.eps.empty() ? std::nullopt : std::optional<double>{raw.worst_lost},
         e.all_ok ? "engine totals exact" : "engine run failed or WRONG");
  return {to_raw, to_floor};
}

void ratio_target(const std::string& what, const std::optional<spread>& r,
                  double at_least) {
  if (!r) {
    add_target({what, "run failed", false});
    return;
  }
  add_target(
      {what, spread_str(*r) + "x (min / median / max)", r->min >= at_least});
}

} // namespace

int child_engine_pipeline(std::uint64_t n) {
  long start_kb = status_kb("VmRSS");
  pipeline_shared s;
  s.n = n;
  ee::app app{child_app_config()};
  app.emplace_plugin<pl_producer>(&s)
      .emplace_plugin<pl_operator>(&s)
      .emplace_plugin<pl_accumulator>(&s);
  auto [err, forced] = run_bounded(
      app, std::chrono::milliseconds{60000 + n / 50}); // >= 50k ev/s
  if (err)
    std::cerr << "engine pipeline: " << err.to_string() << '\n';
  if (s.seen != n)
    s.ended();
  return print_pipeline_child(s, start_kb, app.stats().dropped, forced);
}

int child_raw_pipeline(std::uint64_t n) {
  long start_kb = status_kb("VmRSS");
  zmq::context_t ctx{1};
  std::atomic<bool> stop_proxy{false};
  std::atomic<bool> ready{false};
  std::atomic<bool> failed{false};
  std::promise<void> bound;
  auto bound_fut = bound.get_future();
  std::thread proxy{[&] { proxy_loop(ctx, bound, stop_proxy); }};
  bound_fut.wait();
  pipeline_shared s;
  s.n = n;
  auto plugin_sockets = [&](const char* filter) {
    std::pair<zmq::socket_t, zmq::socket_t> ps{
        zmq::socket_t{ctx, zmq::socket_type::pub},
        zmq::socket_t{ctx, zmq::socket_type::sub}};
    set_hwm(ps.first, 0);
    set_hwm(ps.second, 0);
    ps.second.set(zmq::sockopt::rcvtimeo, 10000);
    ps.first.connect(proxy_in);
    ps.second.connect(proxy_out);
    if (filter)
      ps.second.set(zmq::sockopt::subscribe, filter);
    return ps;
  };
  // The operator answers a probe (an InitialMsgString without payload) with
  // "OperatorMsgP"; the accumulator flags `ready` when one arrives, so every
  // subscription is known along the whole path before the producer starts.
  std::thread op{[&] {
    auto [pub, sub] = plugin_sockets(initial_type.data());
    zmq::message_t msg;
    std::uint64_t seen = 0;
    std::string out;
    while (seen < n) {
      if (!sub.recv(msg)) {
        failed = true;
        return;
      }
      auto len = msg.size() - initial_type.size();
      out.assign(operator_type);
      if (len == 0)
        out += 'P';
      else {
        out += std::to_string(len);
        ++seen;
      }
      pub.send(zmq::buffer(out));
    }
  }};
  std::thread acc{[&] {
    auto [pub, sub] = plugin_sockets(operator_type.data());
    zmq::message_t msg;
    std::uint64_t seen = 0;
    std::uint64_t total = 0;
    while (seen < n) {
      if (!sub.recv(msg)) {
        failed = true;
        break;
      }
      auto p = static_cast<const char*>(msg.data()) + operator_type.size();
      auto e = static_cast<const char*>(msg.data()) + msg.size();
      if (p < e && *p == 'P') {
        ready = true;
        continue;
      }
      std::uint64_t v = 0;
      for (; p < e; ++p)
        v = v * 10 + static_cast<std::uint64_t>(*p - '0');
      total += v;
      ++seen;
    }
    s.ended();
    s.seen = seen;
    s.total = total;
  }};
  std::thread prod{[&] {
    auto [pub, sub] = plugin_sockets(nullptr);
    auto give_up = clock_type::now() + 10s;
    while (!ready && clock_type::now() < give_up && !failed) {
      pub.send(zmq::buffer(initial_type));
      std::this_thread::sleep_for(1ms);
    }
    if (!ready) {
      failed = true;
      return;
    }
    std::string buf{initial_type};
    std::size_t size = min_size;
    s.started();
    for (std::uint64_t i = 0; i < n; ++i) {
      buf.resize(initial_type.size());
      buf.append(size, 'X');
      pub.send(zmq::buffer(buf));
      size = next_size(size);
    }
  }};
  prod.join();
  op.join();
  acc.join();
  stop_proxy = true;
  proxy.join();
  return print_pipeline_child(s, start_kb, 0, failed.load());
}

void section_a(const settings& cfg) {
  std::cout << "\n== a. load-test pipeline: engine vs raw libzmq (PUB -> proxy "
               "-> SUB, HWM 0) and the floor (threads + SPSC rings), "
            << cfg.repeat << " interleaved rounds ==\n";
  std::vector<std::uint64_t> counts = cfg.counts;
  if (std::find(counts.begin(), counts.end(), cfg.events) == counts.end())
    counts.push_back(cfg.events);
  std::sort(counts.begin(), counts.end());
  auto with_baselines = [&](std::uint64_t n) {
    return n == cfg.events ||
           std::find(cfg.raw_counts.begin(), cfg.raw_counts.end(), n) !=
               cfg.raw_counts.end();
  };
  std::map<std::uint64_t, pipeline_runs> eng, raw, floor;
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    std::cout << "# round " << round << " of " << cfg.repeat << std::endl;
    for (auto n : counts) {
      eng[n].add(run_pipeline_child("engine-pipeline", n));
      if (!with_baselines(n))
        continue;
      raw[n].add(run_pipeline_child("raw-pipeline", n));
      floor[n].add(run_pipeline_child("floor-pipeline", n));
    }
  }
  for (auto n : counts) {
    auto [to_raw, to_floor] = report_count(n, eng[n], raw[n], floor[n]);
    if (!with_baselines(n))
      continue;
    auto of = " (" + count_name(n) + " ev, worst of " +
              std::to_string(cfg.repeat) + ")";
    ratio_target("pipeline >= 3x raw" + of, to_raw, 3.0);
    ratio_target("pipeline >= 0.5x floor" + of, to_floor, 0.5);
  }
  for (std::uint64_t n : {std::uint64_t{1000000}, std::uint64_t{10000000}}) {
    auto i = eng.find(n);
    std::string what = count_name(n) + " events: 0 lost, peak RSS <= 32 MB";
    if (i == eng.end()) {
      add_target({what, "not run (see --counts)", std::nullopt});
      continue;
    }
    auto& f = i->second;
    auto peak = spread_of(f.peak_mb);
    std::ostringstream m;
    m << f.worst_lost << " lost, totals " << (f.all_ok ? "exact" : "WRONG")
      << ", peak " << (peak ? fmt(peak->max) : "n/a") << " MB (worst run)";
    add_target({what, m.str(),
                f.all_ok && f.worst_lost == 0 && peak && peak->max <= 32});
  }
}

} // namespace ee::bench
