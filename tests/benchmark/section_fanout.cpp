// Section b: one-hop fan-out from a blocking producer to K = 1, 10, 100, 1000
// actor subscribers (N = total / K events of fan_event_size bytes) vs inproc
// PUB -> K SUB sockets with one zmq_poll reader; checks that every subscriber
// got the same buffer.

#include "tests/benchmark/sections.hpp"

#include <atomic>
#include <cstdint>
#include <future>
#include <iostream>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <zmq.hpp>

#include <ee/app.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

constexpr std::string_view fan_type = "FanData";

// Issue 17: fan-out to 100 and 1,000 subscribers at least this many times
// raw libzmq's rate, in the worst round.
constexpr double fanout_target = 1.5;
constexpr const char* fanout_target_text = "1.5";

struct fan_shared {
  std::uint64_t n = 0;
  std::size_t k = 0;
  std::atomic<std::size_t> finished{0};
  clock_type::time_point start;
  clock_type::time_point end;
  std::vector<ee::event> first; // per subscriber: its first event
  std::vector<std::uint64_t> counts;
};

class fan_producer : public ee::blocking_plugin {
public:
  explicit fan_producer(fan_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "fan_producer"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    std::string buf{fan_type};
    buf.resize(fan_event_size, 'f');
    s_->start = clock_type::now();
    for (std::uint64_t i = 0; i < s_->n; ++i) {
      buf[fan_type.size()] = static_cast<char>('a' + i % 26);
      pub.publish(ee::event{std::string_view{buf}});
    }
  }

private:
  fan_shared* s_;
};

class fan_subscriber : public ee::plugin {
public:
  fan_subscriber(fan_shared* s, std::size_t idx) : s_(s), idx_(idx) {
    // nop
  }
  std::string name() const override {
    return "fan_sub_" + std::to_string(idx_);
  }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{std::string{fan_type}}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (seen_ == 0)
      s_->first[idx_] = ev;
    if (++seen_ == s_->n) {
      s_->counts[idx_] = seen_;
      if (s_->finished.fetch_add(1, std::memory_order_acq_rel) + 1 == s_->k)
        s_->end = clock_type::now();
      ctx.stop();
    }
  }

private:
  fan_shared* s_;
  std::size_t idx_;
  std::uint64_t seen_ = 0;
};

struct fan_figures {
  bool ok = false;
  double secs = 0;
  double deliveries_per_s = 0;
  bool shared = false;
};

fan_figures fan_engine(std::size_t k, std::uint64_t n) {
  fan_figures f;
  auto kv = run_child({"fanout", std::to_string(k), std::to_string(n)}, 180s);
  if (!kv)
    return f;
  f.ok = (*kv)["ok"] != 0;
  f.secs = (*kv)["secs"];
  f.deliveries_per_s = (*kv)["dps"];
  f.shared = (*kv)["shared"] != 0;
  return f;
}

fan_figures fan_raw(std::size_t k, std::uint64_t n) {
  fan_figures f;
  zmq::context_t ctx{1};
  std::atomic<bool> ready{false};
  std::atomic<bool> failed{false};
  std::promise<void> bound;
  auto bound_fut = bound.get_future();
  clock_type::time_point start, end;
  std::vector<std::uint64_t> counts(k, 0);
  std::thread pub_thread{[&] {
    zmq::socket_t pub{ctx, zmq::socket_type::pub};
    set_hwm(pub, 0);
    pub.bind("inproc://bench-fan");
    bound.set_value();
    auto give_up = clock_type::now() + 10s;
    while (!ready && !failed && clock_type::now() < give_up) {
      pub.send(zmq::buffer(std::string_view{"FanProbe"}));
      std::this_thread::sleep_for(1ms);
    }
    if (!ready) {
      failed = true;
      return;
    }
    std::string buf{fan_type};
    buf.resize(fan_event_size, 'f');
    start = clock_type::now();
    for (std::uint64_t i = 0; i < n; ++i) {
      buf[fan_type.size()] = static_cast<char>('a' + i % 26);
      pub.send(zmq::buffer(buf));
    }
  }};
  bound_fut.wait();
  std::thread reader{[&] {
    std::vector<zmq::socket_t> subs;
    std::vector<zmq::pollitem_t> items;
    for (std::size_t i = 0; i < k; ++i) {
      subs.emplace_back(ctx, zmq::socket_type::sub);
      set_hwm(subs.back(), 0);
      subs.back().connect("inproc://bench-fan");
      subs.back().set(zmq::sockopt::subscribe, "Fan");
    }
    for (auto& s : subs)
      items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
    std::vector<bool> probed(k, false);
    std::size_t num_probed = 0;
    std::uint64_t total = 0;
    const std::uint64_t want = n * k;
    zmq::message_t msg;
    auto give_up = clock_type::now() + 120s;
    while (total < want && !failed) {
      if (clock_type::now() > give_up) {
        failed = true;
        break;
      }
      zmq::poll(items.data(), items.size(), 100ms);
      for (std::size_t i = 0; i < k; ++i) {
        if (!(items[i].revents & ZMQ_POLLIN))
          continue;
        for (int j = 0; j < 256; ++j) {
          if (!subs[i].recv(msg, zmq::recv_flags::dontwait))
            break;
          if (msg.size() == 8) { // "FanProbe"
            if (!probed[i]) {
              probed[i] = true;
              if (++num_probed == k)
                ready = true;
            }
            continue;
          }
          ++counts[i];
          ++total;
        }
      }
    }
    end = clock_type::now();
  }};
  pub_thread.join();
  reader.join();
  f.ok = !failed;
  for (auto c : counts)
    f.ok = f.ok && c == n;
  f.secs = seconds(start, end);
  f.deliveries_per_s = static_cast<double>(n) * k / f.secs;
  return f;
}

} // namespace

int child_fanout(std::size_t k, std::uint64_t n) {
  fan_shared s;
  s.n = n;
  s.k = k;
  s.first.resize(k);
  s.counts.resize(k);
  ee::app app{child_app_config()};
  app.emplace_plugin<fan_producer>(&s);
  for (std::size_t i = 0; i < k; ++i)
    app.emplace_plugin<fan_subscriber>(&s, i);
  auto [err, forced] = run_bounded(app, 120s);
  if (err)
    std::cerr << "fan-out engine: " << err.to_string() << '\n';
  bool ok = !forced && s.finished.load() == k;
  for (auto c : s.counts)
    ok = ok && c == n;
  bool shared = !s.first.empty() && !s.first[0].empty();
  for (auto& ev : s.first)
    shared = shared && ev.data() == s.first[0].data() &&
             ev.shares_buffer_with(s.first[0]);
  double secs = seconds(s.start, s.end);
  return print_child({{"ok", ok},
                      {"secs", secs},
                      {"dps", static_cast<double>(n) * k / secs},
                      {"shared", shared}});
}

int child_fanout_raw(std::size_t k, std::uint64_t n) {
  auto f = fan_raw(k, n);
  return print_child({{"ok", f.ok},
                      {"secs", f.secs},
                      {"dps", f.deliveries_per_s},
                      {"shared", false}});
}

void section_b(const settings& cfg) {
  std::cout << "\n== b. one-hop fan-out (events of " << fan_event_size
            << " bytes, ~" << cfg.fanout_total << " deliveries per case), "
            << cfg.repeat << " interleaved rounds ==\n";
  bool all_shared = true;
  bool all_ok = true;
  constexpr std::size_t widths[] = {1, 10, 100, 1000};
  std::map<std::size_t, std::pair<std::vector<double>, std::vector<double>>>
      runs; // width -> (engine, raw) deliveries/s per round
  auto nan = std::numeric_limits<double>::quiet_NaN();
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    std::cout << "# round " << round << " of " << cfg.repeat << std::endl;
    for (std::size_t k : widths) {
      std::uint64_t n = cfg.fanout_total / k;
      auto e = fan_engine(k, n);
      auto r = fan_raw(k, n);
      std::cout << "# fan-out " << k << " x " << n << ": engine "
                << fmt(e.deliveries_per_s) << " deliveries/s ("
                << (e.ok ? "all delivered" : "INCOMPLETE") << "), raw "
                << fmt(r.deliveries_per_s) << " deliveries/s ("
                << (r.ok ? "all delivered" : "INCOMPLETE")
                << "), shared buffer: " << (e.shared ? "yes" : "no")
                << std::endl;
      all_shared = all_shared && e.shared;
      all_ok = all_ok && e.ok;
      runs[k].first.push_back(e.ok ? e.deliveries_per_s : nan);
      runs[k].second.push_back(r.ok ? r.deliveries_per_s : nan);
    }
  }
  for (std::size_t k : widths) {
    auto ks = std::to_string(k);
    auto r = report_runs("b", "fanout_deliveries_k" + ks,
                         "fan-out to " + ks + " subs (" +
                             std::to_string(cfg.fanout_total / k) + " ev)",
                         "deliveries/s", runs[k].first, runs[k].second);
    if (k < 100)
      continue;
    auto what = "fan-out to " + ks + " >= " + fanout_target_text +
                "x raw (worst of " + std::to_string(cfg.repeat) + ")";
    if (r)
      add_target({what, spread_str(*r) + "x (min / median / max)",
                  r->min >= fanout_target});
    else
      add_target({what, "run failed", false});
  }
  std::cout << "shared buffer: " << (all_shared ? "yes" : "no") << std::endl;
  add_target({"fan-out shares one buffer",
              std::string{"shared buffer: "} + (all_shared ? "yes" : "no") +
                  (all_ok ? "" : " (some run incomplete)"),
              all_shared && all_ok});
}

} // namespace ee::bench
