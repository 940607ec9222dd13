// Section a: the load-test pipeline (producer -> operator -> accumulator) on
// the engine vs the original topology on libzmq (PUB -> XSUB/XPUB proxy ->
// SUB): events/s, peak RSS, totals; the engine also at several counts. Each
// run, the raw one too, is a child process of its own (VmHWM is
// process-wide).

#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <iomanip>
#include <iostream>
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

std::size_t next_size(std::size_t size) {
  return size >= max_size ? min_size : size + 1;
}

std::uint64_t expected_total(std::uint64_t n) {
  std::uint64_t total = 0;
  std::size_t size = min_size;
  for (std::uint64_t i = 0; i < n; ++i) {
    total += size;
    size = next_size(size);
  }
  return total;
}

// -- engine -------------------------------------------------------------------

constexpr std::string_view initial_type = "InitialMsgString";
constexpr std::string_view operator_type = "OperatorMsg";

struct pipeline_shared {
  std::uint64_t n = 0;
  clock_type::time_point start;
  clock_type::time_point end;
  std::uint64_t seen = 0;
  std::uint64_t total = 0;
};

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
    s_->start = clock_type::now();
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
      s_->end = clock_type::now();
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
  f.peak_mb = kv["peak_kb"] / 1024.0;
  f.growth_mb = (kv["peak_kb"] - kv["start_kb"]) / 1024.0;
  auto seen = static_cast<std::uint64_t>(kv["seen"]);
  f.lost = n - std::min(n, seen);
  f.totals_ok = seen == n && kv["total"] == kv["expected"];
  std::cout << "# " << kind << " " << n << " events: " << fmt(f.eps)
            << " events/s (" << fmt(f.secs) << " s), peak RSS "
            << fmt(f.peak_mb) << " MB (growth " << fmt(f.growth_mb)
            << " MB), lost " << f.lost << ", totals "
            << (f.totals_ok ? "exact" : "WRONG") << std::endl;
  return f;
}

std::string count_name(std::uint64_t n) {
  return std::to_string(n);
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
    s.end = clock_type::now();
  auto st = app.stats();
  double secs = seconds(s.start, s.end);
  std::cout << std::setprecision(10) << "CHILD eps=" << (s.seen / secs)
            << " secs=" << secs << " start_kb=" << start_kb
            << " peak_kb=" << status_kb("VmHWM") << " seen=" << s.seen
            << " total=" << s.total << " expected=" << expected_total(n)
            << " dropped=" << st.dropped << " forced=" << forced << std::endl;
  return 0;
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
    s.end = clock_type::now();
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
    s.start = clock_type::now();
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
  double secs = seconds(s.start, s.end);
  std::cout << std::setprecision(10) << "CHILD eps=" << (s.seen / secs)
            << " secs=" << secs << " start_kb=" << start_kb
            << " peak_kb=" << status_kb("VmHWM") << " seen=" << s.seen
            << " total=" << s.total << " expected=" << expected_total(n)
            << " dropped=0 forced=" << failed.load() << std::endl;
  return 0;
}

void section_a(const settings& cfg) {
  std::cout << "\n== a. load-test pipeline: engine vs raw libzmq (PUB -> proxy "
               "-> SUB, HWM 0) ==\n";
  std::vector<std::uint64_t> counts = cfg.counts;
  if (std::find(counts.begin(), counts.end(), cfg.events) == counts.end())
    counts.push_back(cfg.events);
  std::sort(counts.begin(), counts.end());
  std::map<std::uint64_t, pipeline_figures> eng, raw;
  // The engine first: its figures do not depend on the baseline's.
  for (auto n : counts)
    eng[n] = run_pipeline_child("engine-pipeline", n);
  for (auto n : counts)
    if (n == cfg.events ||
        std::find(cfg.raw_counts.begin(), cfg.raw_counts.end(), n) !=
            cfg.raw_counts.end())
      raw[n] = run_pipeline_child("raw-pipeline", n);
  for (auto n : counts) {
    auto& e = eng[n];
    auto r = raw.find(n);
    std::optional<double> rb_eps, rb_peak, rb_growth, rb_lost;
    if (r != raw.end() && r->second.ok) {
      rb_eps = r->second.eps;
      rb_peak = r->second.peak_mb;
      rb_growth = r->second.growth_mb;
      rb_lost = static_cast<double>(r->second.lost);
    }
    auto cn = count_name(n);
    std::optional<double> e_eps, e_peak, e_growth, e_lost;
    if (e.ok) {
      e_eps = e.eps;
      e_peak = e.peak_mb;
      e_growth = e.growth_mb;
      e_lost = static_cast<double>(e.lost);
    }
    report("a", "pipeline_throughput_n" + cn,
           "pipeline " + cn + " ev: throughput", "events/s", e_eps, rb_eps);
    report("a", "pipeline_peak_rss_n" + cn, "pipeline " + cn + " ev: peak RSS",
           "MB", e_peak, rb_peak);
    report("a", "pipeline_rss_growth_n" + cn,
           "pipeline " + cn + " ev: peak RSS growth", "MB", e_growth,
           rb_growth);
    report("a", "pipeline_lost_n" + cn, "pipeline " + cn + " ev: lost",
           "events", e_lost, rb_lost,
           e.ok ? (e.totals_ok ? "engine totals exact" : "engine totals WRONG")
                : "engine run failed");
  }
  auto& e = eng[cfg.events];
  auto r = raw.find(cfg.events);
  if (e.ok && r != raw.end() && r->second.ok) {
    double ratio = e.eps / r->second.eps;
    std::ostringstream m;
    m << std::fixed << std::setprecision(2) << ratio << "x (" << fmt(e.eps)
      << " vs " << fmt(r->second.eps) << " events/s)";
    add_target(
        {"pipeline >= 1.5x raw libzmq (" + count_name(cfg.events) + " events)",
         m.str(), ratio >= 1.5});
  } else {
    add_target({"pipeline >= 1.5x raw libzmq", "run failed", false});
  }
  for (std::uint64_t n : {std::uint64_t{1000000}, std::uint64_t{10000000}}) {
    auto i = eng.find(n);
    std::string what = count_name(n) + " events: 0 lost, peak RSS <= 64 MB";
    if (i == eng.end()) {
      add_target({what, "not run (see --counts)", std::nullopt});
      continue;
    }
    auto& f = i->second;
    std::ostringstream m;
    m << f.lost << " lost, totals " << (f.totals_ok ? "exact" : "WRONG")
      << ", peak " << fmt(f.peak_mb) << " MB";
    add_target(
        {what, m.str(), f.ok && f.lost == 0 && f.totals_ok && f.peak_mb <= 64});
  }
}

} // namespace ee::bench
