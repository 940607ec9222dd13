// Section f: federation (docs/federation.md). Engines peered over TCP on
// loopback, in one child process: one link (A -> B) and two hops (A -> B ->
// C, B relaying). A blocking producer on A publishes N events of
// fan_event_size bytes as fast as the credit across the links allows; a
// consumer on the last engine counts them (every one must arrive): events/s
// from the first publish to the last receipt. Then round trips: A publishes
// `BenchPing<i>`, the last engine answers `BenchPong<i>`: the median and 99th
// percentile round-trip time.
//
// The baseline, in the same run: raw ZeroMQ TCP PUB -> SUB with lossless
// settings (SNDHWM = RCVHWM = 0: nothing is dropped, queues grow without
// bound), one hop direct and two hops through a forwarding thread (SUB ->
// PUB), the same events and round trips.

#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.hpp>

#include <ee/app.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

constexpr std::string_view fed_probe = "BenchProbe";
constexpr std::string_view fed_data = "BenchData";
constexpr std::string_view fed_ping = "BenchPing";
constexpr std::string_view fed_pong = "BenchPong";

/// What the producer and the consumer share (engine and raw alike).
struct fed_shared {
  std::uint64_t n = 0;
  std::uint64_t pings = 0;
  std::atomic<bool> probe_seen{false};
  std::atomic<bool> done{false}; // measured (or failed): everyone ends
  std::atomic<bool> failed{false};
  std::atomic<std::uint64_t> received{0};
  clock_type::time_point start;
  std::atomic<clock_type::time_point::rep> last{0};
  std::vector<double> rtt_us;
};

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

/// `recv(timeout)` until `BenchPong<id>` arrives. @returns whether it did.
template <class Recv>
bool await_pong(Recv& recv, const std::string& pong,
                std::chrono::milliseconds timeout) {
  auto until = clock_type::now() + timeout;
  while (clock_type::now() < until)
    if (auto ev = recv(10ms); ev && *ev == pong)
      return true;
  return false;
}

/// A round trip answered (ping 0, repeated): both directions carry
/// events. @returns whether one came back within 20 s.
template <class Publish, class Recv>
bool warm_up(Publish& publish, Recv& recv) {
  auto ping = std::string{fed_ping} + "0";
  auto pong = std::string{fed_pong} + "0";
  auto give_up = clock_type::now() + 20s;
  while (clock_type::now() < give_up) {
    publish(ping);
    if (await_pong(recv, pong, 100ms))
      return true;
  }
  return false;
}

/// The producer (on A): probes until the consumer saw one, a warm-up round
/// trip, N events, then the measured round trips.
template <class Publish, class Recv>
void fed_produce(fed_shared& s, Publish&& publish, Recv&& recv) {
  auto give_up = clock_type::now() + 20s;
  while (!s.probe_seen && clock_type::now() < give_up) {
    publish(fed_probe);
    std::this_thread::sleep_for(1ms);
  }
  if (!s.probe_seen || !warm_up(publish, recv)) {
    s.failed = true;
    s.done = true;
    return;
  }
  std::string buf{fed_data};
  buf.resize(fan_event_size, 'd');
  s.start = clock_type::now();
  for (std::uint64_t i = 0; i < s.n; ++i)
    publish(buf);
  give_up = clock_type::now() + 120s;
  while (s.received < s.n && clock_type::now() < give_up)
    std::this_thread::sleep_for(1ms);
  for (std::uint64_t i = 1; i <= s.pings && s.received == s.n; ++i) {
    auto t0 = clock_type::now();
    publish(std::string{fed_ping} + std::to_string(i));
    if (!await_pong(recv, std::string{fed_pong} + std::to_string(i), 5s))
      break;
    s.rtt_us.push_back(seconds(t0, clock_type::now()) * 1e6);
  }
  s.failed = s.received != s.n || s.rtt_us.size() != s.pings;
  s.done = true;
}

/// The consumer (on the last engine): counts the data, answers the pings.
template <class Publish, class Recv>
void fed_consume(fed_shared& s, Publish&& publish, Recv&& recv) {
  while (!s.done) {
    auto ev = recv(20ms);
    if (!ev)
      continue;
    if (starts_with(*ev, fed_data)) {
      s.last = clock_type::now().time_since_epoch().count();
      ++s.received;
    } else if (starts_with(*ev, fed_probe)) {
      s.probe_seen = true;
    } else if (starts_with(*ev, fed_ping)) {
      publish(std::string{fed_pong} + ev->substr(fed_ping.size()));
    }
  }
}

// -- on the engines -----------------------------------------------------------

/// A blocking plugin that runs `Role` with the plugin's publisher and
/// subscriber (subscribed to `filters`).
template <class Role>
class fed_plugin : public ee::blocking_plugin {
public:
  fed_plugin(std::string name, std::vector<std::string_view> filters,
             fed_shared* s, Role role)
      : name_(std::move(name)), s_(s), role_(role) {
    for (auto f : filters)
      filters_.emplace_back(std::string{f});
  }
  std::string name() const override { return name_; }
  std::vector<ee::event_type> subscriptions() const override {
    return filters_;
  }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    auto publish = [&](std::string_view bytes) { pub.publish(bytes); };
    auto recv = [&](std::chrono::milliseconds t) -> std::optional<std::string> {
      if (auto ev = sub.recv(t))
        return std::string{ev->bytes()};
      return std::nullopt;
    };
    role_(*s_, publish, recv);
  }

private:
  std::string name_;
  std::vector<ee::event_type> filters_;
  fed_shared* s_;
  Role role_;
};

template <class Role>
std::unique_ptr<ee::plugin_base>
make_fed_plugin(std::string name, std::vector<std::string_view> filters,
                fed_shared* s, Role role) {
  return std::make_unique<fed_plugin<Role>>(std::move(name), std::move(filters),
                                            s, role);
}

/// A TCP port of 127.0.0.1 that was free a moment ago (a small race).
int free_tcp_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  if (fd >= 0)
    ::close(fd);
  return port;
}

/// Engines 0..hops in a line, engine i dialling engine i+1.
std::vector<std::unique_ptr<ee::app>> fed_line(std::size_t hops) {
  std::vector<int> ports;
  for (std::size_t i = 0; i <= hops; ++i)
    ports.push_back(free_tcp_port());
  std::vector<std::unique_ptr<ee::app>> apps;
  for (std::size_t i = 0; i <= hops; ++i) {
    auto acfg = child_app_config();
    acfg.federation.name = "bench" + std::to_string(i);
    acfg.federation.listen = "127.0.0.1:" + std::to_string(ports[i]);
    if (i < hops)
      acfg.federation.peers = {"127.0.0.1:" + std::to_string(ports[i + 1])};
    apps.push_back(std::make_unique<ee::app>(acfg));
  }
  return apps;
}

struct fed_figures {
  bool ok = false;
  double per_s = 0;
  double rtt_median_us = 0;
  double rtt_p99_us = 0;
};

fed_figures figures_of(fed_shared& s) {
  fed_figures f;
  f.ok = !s.failed && s.received == s.n && !s.rtt_us.empty();
  if (!f.ok)
    return f;
  auto last = clock_type::time_point{clock_type::duration{s.last.load()}};
  f.per_s = s.n / seconds(s.start, last);
  std::sort(s.rtt_us.begin(), s.rtt_us.end());
  f.rtt_median_us = s.rtt_us[s.rtt_us.size() / 2];
  f.rtt_p99_us =
      s.rtt_us[std::min(s.rtt_us.size() - 1, s.rtt_us.size() * 99 / 100)];
  return f;
}

} // namespace

int child_fed(std::size_t hops, std::uint64_t n, std::uint64_t pings) {
  fed_shared s;
  s.n = n;
  s.pings = pings;
  auto apps = fed_line(hops);
  auto produce = [](fed_shared& x, auto& publish, auto& recv) {
    fed_produce(x, publish, recv);
  };
  auto consume = [](fed_shared& x, auto& publish, auto& recv) {
    fed_consume(x, publish, recv);
  };
  auto idle = [](fed_shared& x, auto&, auto&) {
    while (!x.done)
      std::this_thread::sleep_for(10ms);
  };
  apps.front()->register_plugin(
      make_fed_plugin("producer", {fed_pong}, &s, produce));
  apps.back()->register_plugin(make_fed_plugin(
      "consumer", {fed_probe, fed_data, fed_ping}, &s, consume));
  for (std::size_t i = 1; i < hops; ++i)
    apps[i]->register_plugin(make_fed_plugin("relay", {}, &s, idle));
  std::vector<std::unique_ptr<app_runner>> runners;
  for (auto& a : apps)
    runners.push_back(std::make_unique<app_runner>(*a));
  auto give_up = clock_type::now() + 280s;
  while (!s.done && clock_type::now() < give_up)
    std::this_thread::sleep_for(10ms);
  s.done = true;
  auto f = figures_of(s);
  print_child({{"ok", f.ok},
               {"per_s", f.per_s},
               {"rtt_median_us", f.rtt_median_us},
               {"rtt_p99_us", f.rtt_p99_us},
               {"received", static_cast<double>(s.received)}});
  for (auto& r : runners)
    if (auto [err, forced] = r->finish(20s); err)
      std::cout << "# engine: " << err.to_string() << std::endl;
  return 0;
}

// -- the baseline: raw ZeroMQ TCP PUB -> SUB, HWM 0
// -----------------------------

namespace {

/// A PUB bound to a free loopback port, lossless. @returns its endpoint.
std::string bind_pub(zmq::socket_t& pub) {
  set_hwm(pub, 0);
  pub.bind("tcp://127.0.0.1:*");
  return pub.get(zmq::sockopt::last_endpoint);
}

void connect_sub(zmq::socket_t& sub, const std::string& endpoint) {
  set_hwm(sub, 0);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect(endpoint);
}

std::optional<std::string> recv_for(zmq::socket_t& sub,
                                    std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{sub.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, timeout);
  zmq::message_t msg;
  if (!sub.recv(msg, zmq::recv_flags::dontwait))
    return std::nullopt;
  return msg.to_string();
}

/// One direction of the chain: PUB at its start, `hops - 1` forwarders,
/// SUB at its end. The forwarders' sockets are `relay`'s (one thread).
struct raw_path {
  zmq::socket_t pub;
  zmq::socket_t sub;
  std::vector<std::pair<zmq::socket_t, zmq::socket_t>> relay; // (sub, pub)

  raw_path(zmq::context_t& ctx, std::size_t hops)
      : pub(ctx, zmq::socket_type::pub), sub(ctx, zmq::socket_type::sub) {
    auto endpoint = bind_pub(pub);
    for (std::size_t i = 1; i < hops; ++i) {
      relay.emplace_back(zmq::socket_t{ctx, zmq::socket_type::sub},
                         zmq::socket_t{ctx, zmq::socket_type::pub});
      connect_sub(relay.back().first, endpoint);
      endpoint = bind_pub(relay.back().second);
    }
    connect_sub(sub, endpoint);
  }
};

/// Forwards every message of both paths' relays until `s.done`.
void forward(fed_shared& s, raw_path& there, raw_path& back) {
  std::vector<std::pair<zmq::socket_t*, zmq::socket_t*>> hops;
  for (auto* p : {&there, &back})
    for (auto& r : p->relay)
      hops.emplace_back(&r.first, &r.second);
  std::vector<zmq::pollitem_t> items;
  for (auto& h : hops)
    items.push_back({h.first->handle(), 0, ZMQ_POLLIN, 0});
  zmq::message_t msg;
  while (!s.done) {
    zmq::poll(items.data(), items.size(), 20ms);
    for (auto& h : hops)
      while (h.first->recv(msg, zmq::recv_flags::dontwait))
        h.second->send(msg, zmq::send_flags::none);
  }
}

fed_figures raw_fed(const settings& cfg, std::size_t hops) {
  fed_shared s;
  s.n = cfg.fed_events;
  s.pings = cfg.fed_pings;
  zmq::context_t ctx{2};
  raw_path there{ctx, hops};
  raw_path back{ctx, hops};
  std::thread relay;
  if (hops > 1)
    relay = std::thread{[&] { forward(s, there, back); }};
  std::thread consumer{[&] {
    auto publish = [&](std::string_view b) { back.pub.send(zmq::buffer(b)); };
    auto recv = [&](std::chrono::milliseconds t) {
      return recv_for(there.sub, t);
    };
    fed_consume(s, publish, recv);
  }};
  auto publish = [&](std::string_view b) { there.pub.send(zmq::buffer(b)); };
  auto recv = [&](std::chrono::milliseconds t) {
    return recv_for(back.sub, t);
  };
  fed_produce(s, publish, recv);
  consumer.join();
  if (relay.joinable())
    relay.join();
  return figures_of(s);
}

fed_figures engine_fed(const settings& cfg, std::size_t hops) {
  fed_figures eng;
  if (auto kv = run_child({"fed", std::to_string(hops),
                           std::to_string(cfg.fed_events),
                           std::to_string(cfg.fed_pings)},
                          300s)) {
    eng.ok = (*kv)["ok"] != 0;
    eng.per_s = (*kv)["per_s"];
    eng.rtt_median_us = (*kv)["rtt_median_us"];
    eng.rtt_p99_us = (*kv)["rtt_p99_us"];
  }
  return eng;
}

void report_hops(const settings& cfg, std::size_t hops) {
  auto nan = std::numeric_limits<double>::quiet_NaN();
  // [0] events/s, [1] median round trip, [2] p99 round trip
  std::vector<double> eng[3], raw[3];
  auto add = [&](std::vector<double>* to, const fed_figures& f) {
    to[0].push_back(f.ok ? f.per_s : nan);
    to[1].push_back(f.ok ? f.rtt_median_us : nan);
    to[2].push_back(f.ok ? f.rtt_p99_us : nan);
  };
  std::string what = hops == 1 ? "one link" : "two hops";
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    add(eng, engine_fed(cfg, hops));
    add(raw, raw_fed(cfg, hops));
    std::cout << "# " << what << ", round " << round << " of " << cfg.repeat
              << ": engines " << fmt(eng[0].back()) << " events/s, rtt "
              << fmt(eng[1].back()) << " us; raw " << fmt(raw[0].back())
              << " events/s, rtt " << fmt(raw[1].back()) << " us" << std::endl;
  }
  auto name = "fed_" + std::to_string(hops) + "hop";
  auto note = std::string{"vs TCP PUB -> SUB, HWM 0"};
  report_runs("f", name + "_rate", "federation, " + what + ": throughput",
              "events/s", eng[0], raw[0], note);
  report_runs("f", name + "_rtt", "federation, " + what + ": round trip", "us",
              eng[1], raw[1], "median; " + note);
  report_runs("f", name + "_rtt_p99", "federation, " + what + ": round trip",
              "us", eng[2], raw[2], "99th percentile; " + note);
}

} // namespace

void section_f(const settings& cfg) {
  std::cout << "\n== f. federation over TCP loopback, " << cfg.fed_events
            << " events of " << fan_event_size << " bytes and " << cfg.fed_pings
            << " round trips, one link and two hops, vs "
            << "raw ZeroMQ TCP PUB -> SUB (lossless: HWM 0), " << cfg.repeat
            << " interleaved rounds ==\n";
  report_hops(cfg, 1);
  report_hops(cfg, 2);
}

} // namespace ee::bench
