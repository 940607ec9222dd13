// Section d: a raw TCP SUB client on the engine's subscribe port, events of
// fan_event_size bytes from a blocking producer, vs TCP PUB -> SUB in one
// process, default HWMs. Both drop at the high-water mark (ZeroMQ
// semantics): received/s and % dropped.

#include "tests/benchmark/sections.hpp"

#include <atomic>
#include <cstdint>
#include <future>
#include <iostream>
#include <limits>
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

constexpr std::string_view tcp_probe = "BenchProbe";
constexpr std::string_view tcp_data = "BenchData";

struct tcp_shared {
  std::uint64_t n = 0;
  std::atomic<bool> probe_seen{false};
  std::atomic<bool> producer_done{false};
  std::atomic<bool> client_done{false};
  std::atomic<bool> failed{false};
  clock_type::time_point start;
  clock_type::time_point sent;
  clock_type::time_point last;
  std::uint64_t received = 0;
};

/// The SUB client: counts BenchData events until all arrived or the stream
/// went quiet for 500 ms after the producer finished.
void tcp_client(zmq::context_t& ctx, const std::string& endpoint,
                tcp_shared& s) {
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  sub.connect(endpoint);
  sub.set(zmq::sockopt::subscribe, "Bench");
  zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
  zmq::message_t msg;
  auto give_up = clock_type::now() + 120s;
  auto quiet_since = clock_type::now();
  while (s.received < s.n && clock_type::now() < give_up) {
    zmq::poll(&item, 1, 50ms);
    bool got = false;
    while (sub.recv(msg, zmq::recv_flags::dontwait)) {
      got = true;
      if (msg.size() == tcp_probe.size()) {
        s.probe_seen = true;
        continue;
      }
      ++s.received;
      s.last = clock_type::now();
    }
    auto now = clock_type::now();
    if (got)
      quiet_since = now;
    else if (s.producer_done && now - quiet_since > 500ms &&
             now - s.sent > 500ms)
      break;
  }
  s.client_done = true;
}

/// Publishes probes until the client saw one, then `n` events.
template <class Publish>
void tcp_produce(tcp_shared& s, Publish&& publish) {
  auto give_up = clock_type::now() + 10s;
  while (!s.probe_seen && clock_type::now() < give_up) {
    publish(tcp_probe);
    std::this_thread::sleep_for(1ms);
  }
  if (!s.probe_seen) {
    s.failed = true;
    s.producer_done = true;
    return;
  }
  std::string buf{tcp_data};
  buf.resize(fan_event_size, 'd');
  s.start = clock_type::now();
  for (std::uint64_t i = 0; i < s.n; ++i)
    publish(buf);
  s.sent = clock_type::now();
  s.producer_done = true;
}

class tcp_producer : public ee::blocking_plugin {
public:
  explicit tcp_producer(tcp_shared* s) : s_(s) {
    // nop
  }
  std::string name() const override { return "tcp_producer"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    tcp_produce(*s_, [&](std::string_view bytes) { pub.publish(bytes); });
    auto give_up = clock_type::now() + 130s;
    while (!s_->client_done && clock_type::now() < give_up)
      std::this_thread::sleep_for(5ms);
  }

private:
  tcp_shared* s_;
};

struct tcp_figures {
  bool ok = false;
  double recv_per_s = 0;
  double sent_per_s = 0;
  double dropped_pct = 0;
};

tcp_figures figures_of(const tcp_shared& s) {
  tcp_figures f;
  f.ok = !s.failed && s.received > 0;
  if (!f.ok)
    return f;
  f.recv_per_s = s.received / seconds(s.start, s.last);
  f.sent_per_s = s.n / seconds(s.start, s.sent);
  f.dropped_pct = 100.0 * (s.n - s.received) / s.n;
  return f;
}

} // namespace

int child_tcp(std::uint64_t n) {
  tcp_shared s;
  s.n = n;
  auto acfg = child_app_config();
  acfg.enable_tcp = true;
  acfg.publish_port = 0;
  acfg.subscribe_port = 0;
  acfg.bind_address = "127.0.0.1";
  ee::app app{acfg};
  app.emplace_plugin<tcp_producer>(&s);
  app_runner runner{app};
  zmq::context_t ctx{1};
  if (app.wait_started(10s)) {
    auto ep = "tcp://127.0.0.1:" + std::to_string(app.subscribe_port());
    tcp_client(ctx, ep, s);
  } else {
    s.failed = true;
    s.client_done = true;
  }
  auto f = figures_of(s);
  print_child({{"ok", f.ok},
               {"recv_per_s", f.recv_per_s},
               {"sent_per_s", f.sent_per_s},
               {"dropped_pct", f.dropped_pct},
               {"received", static_cast<double>(s.received)}});
  auto [err, forced] = runner.finish(20s);
  if (err)
    std::cout << "# engine: " << err.to_string() << std::endl;
  return 0;
}

// The engine's figures: a child with a raw TCP SUB client.
static tcp_figures engine_tcp(const settings& cfg) {
  tcp_figures eng;
  if (auto kv = run_child({"tcp", std::to_string(cfg.tcp_events)}, 300s)) {
    eng.ok = (*kv)["ok"] != 0;
    eng.recv_per_s = (*kv)["recv_per_s"];
    eng.sent_per_s = (*kv)["sent_per_s"];
    eng.dropped_pct = (*kv)["dropped_pct"];
  }
  return eng;
}

// The baseline: TCP PUB -> SUB in this process.
static tcp_figures raw_tcp(const settings& cfg) {
  tcp_shared s;
  s.n = cfg.tcp_events;
  zmq::context_t ctx{1};
  std::promise<std::string> ep_p;
  auto ep_f = ep_p.get_future();
  std::thread producer{[&] {
    zmq::socket_t pub{ctx, zmq::socket_type::pub};
    pub.set(zmq::sockopt::linger, 0);
    pub.bind("tcp://127.0.0.1:*");
    ep_p.set_value(pub.get(zmq::sockopt::last_endpoint));
    tcp_produce(s,
                [&](std::string_view bytes) { pub.send(zmq::buffer(bytes)); });
    auto give_up = clock_type::now() + 130s;
    while (!s.client_done && clock_type::now() < give_up)
      std::this_thread::sleep_for(5ms);
  }};
  tcp_client(ctx, ep_f.get(), s);
  producer.join();
  return figures_of(s);
}

void section_d(const settings& cfg) {
  std::cout << "\n== d. raw TCP SUB client, " << cfg.tcp_events << " events of "
            << fan_event_size
            << " bytes (default HWMs: slow subscribers drop), " << cfg.repeat
            << " interleaved rounds ==\n";
  auto nan = std::numeric_limits<double>::quiet_NaN();
  // [0] received/s, [1] publisher rate, [2] dropped %
  std::vector<double> eng[3], raw[3];
  auto add = [&](std::vector<double>* to, const tcp_figures& f) {
    to[0].push_back(f.ok ? f.recv_per_s : nan);
    to[1].push_back(f.ok ? f.sent_per_s : nan);
    to[2].push_back(f.ok ? f.dropped_pct : nan);
  };
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    add(eng, engine_tcp(cfg));
    add(raw, raw_tcp(cfg));
    std::cout << "# round " << round << " of " << cfg.repeat
              << ": engine received " << fmt(eng[0].back()) << "/s, dropped "
              << fmt(eng[2].back()) << " %; raw received " << fmt(raw[0].back())
              << "/s, dropped " << fmt(raw[2].back()) << " %" << std::endl;
  }
  report_runs("d", "tcp_sub_received", "TCP SUB client: received", "events/s",
              eng[0], raw[0]);
  report_runs("d", "tcp_sub_sent", "TCP SUB client: publisher rate", "events/s",
              eng[1], raw[1]);
  report_runs("d", "tcp_sub_dropped", "TCP SUB client: dropped", "%", eng[2],
              raw[2], "ZeroMQ PUB/SUB semantics");
}

} // namespace ee::bench
