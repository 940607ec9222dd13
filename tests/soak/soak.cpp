// The soak test: an app of actor, blocking and Python plugins that crash at
// random and are restarted, Python processes killed from outside and
// reconnecting, raw PUB and SUB clients coming and going — for a while. At
// the end every book must balance exactly, per plugin and per event type
// (routed = handled + dead letters + dropped, nothing left queued), no
// thread or process may be left, and memory after the run must be within a
// small margin of memory after the warm-up.
//
//   ee_soak [--seconds N] [--seed S] [--no-curve] [--quiet]
//
// CurveZMQ is on (every client has the allowed key) unless --no-curve;
// then an intruder without a key keeps knocking, and must be refused.
//
// Exit code 0 if everything holds, 1 otherwise (each failed check printed).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fstream>
#include <future>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#include <zmq.hpp>

#include "bridge/curve_keys.hpp"
#include "ee/app.hpp"
#include "ee/log.hpp"

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

// -- the process
// ------------------------------------------------------------------

long status_kb(const char* key) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  auto n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0)
      return std::atol(line.c_str() + n);
  return -1;
}

long threads_now() {
  return status_kb("Threads:");
}

double rss_mib() {
  return static_cast<double>(status_kb("VmRSS:")) / 1024.0;
}

/// The pids of our children and grandchildren (launched plugins are the
/// process keeper's children) whose command line contains `needle`.
std::vector<pid_t> children(const std::string& needle) {
  std::vector<std::pair<pid_t, pid_t>> procs; // (pid, ppid), not zombies
  auto* dir = opendir("/proc");
  if (!dir)
    return {};
  while (auto* e = readdir(dir)) {
    auto pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (pid <= 0)
      continue;
    std::ifstream stat{"/proc/" + std::string{e->d_name} + "/stat"};
    std::string text;
    std::getline(stat, text);
    auto close = text.rfind(')');
    if (close == std::string::npos)
      continue;
    std::istringstream rest{text.substr(close + 2)};
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    if (state != "Z")
      procs.emplace_back(pid, ppid);
  }
  closedir(dir);
  auto me = getpid();
  std::vector<pid_t> mine;
  for (auto& [pid, ppid] : procs)
    if (ppid == me)
      mine.push_back(pid);
  std::vector<pid_t> result;
  for (auto& [pid, ppid] : procs) {
    if (ppid != me && std::find(mine.begin(), mine.end(), ppid) == mine.end())
      continue;
    std::ifstream cmd{"/proc/" + std::to_string(pid) + "/cmdline"};
    std::string argv{std::istreambuf_iterator<char>{cmd}, {}};
    if (needle.empty() || argv.find(needle) != std::string::npos)
      result.push_back(pid);
  }
  return result;
}

// -- shared state
// -------------------------------------------------------------------

struct shared {
  std::atomic<bool> misbehave{true};
  std::atomic<std::uint64_t> relay_throws{0};
  std::atomic<std::uint64_t> sink_throws{0};
  std::atomic<std::uint64_t> lifecycle{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> kills{0};
  std::atomic<std::uint64_t> raw_pub_rounds{0};
  std::atomic<std::uint64_t> raw_sub_rounds{0};
  std::atomic<std::uint64_t> raw_received{0};
  unsigned seed = 1;
  // Created when the soak winds down: the Python plugins stop misbehaving.
  std::string calm_file;
  // CurveZMQ: the engine's public key and the clients' key pair (empty: off).
  std::string server_public;
  ee::curve::certificate client;
  std::string client_file;
  std::atomic<std::uint64_t> intrusions{0};
};

shared* soak = nullptr;

thread_local std::mt19937 rng{std::random_device{}()};

bool chance(double p) {
  return std::uniform_real_distribution<double>{0, 1}(rng) < p;
}

// -- internal plugins
// ----------------------------------------------------------------

/// Publishes SoakA and SoakB events, a burst at a time, until stopped.
class source : public ee::blocking_plugin {
public:
  std::string name() const override { return "source"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    std::uint64_t n = 0;
    while (!sub.stopping()) {
      for (int i = 0; i < 50; ++i, ++n) {
        pub.publish("SoakA" + std::to_string(n));
        pub.publish("SoakB" + std::to_string(n));
      }
      std::this_thread::sleep_for(1ms);
    }
  }
};

/// Answers each SoakA with a SoakC; fails now and then.
class relay : public ee::plugin {
public:
  std::string name() const override { return "relay"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"A", "SoakA"}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (soak->misbehave && chance(1.0 / 2000)) {
      ++soak->relay_throws;
      throw std::runtime_error("relay: a random failure");
    }
    ctx.publish(ee::event::concat("SoakC", ev.after(5)));
  }
};

/// A slow taker of SoakA with a small queue that drops the oldest.
class lossy : public ee::plugin {
public:
  std::string name() const override { return "lossy"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"A", "SoakA"}};
  }
  void on_event(ee::context&, const ee::event&) override {
    auto until = clock_type::now() + 20us;
    while (clock_type::now() < until) {
      // busy: a slow subscriber
    }
  }
};

/// Takes SoakC in the blocking style; fails now and then.
class sink : public ee::blocking_plugin {
public:
  std::string name() const override { return "sink"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"C", "SoakC"}};
  }
  void run(ee::publisher&, ee::subscriber& sub) override {
    for (;;) {
      sub.recv();
      if (soak->misbehave && chance(1.0 / 3000)) {
        ++soak->sink_throws;
        throw std::runtime_error("sink: a random failure");
      }
    }
  }
};

/// Counts the engine's own events.
class watcher : public ee::plugin {
public:
  std::string name() const override { return "watcher"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"ee.lifecycle."}, ee::event_type{"ee.dead_letter:"}};
  }
  void on_event(ee::context&, const ee::event& ev) override {
    if (ev.starts_with("ee.dead_letter:"))
      ++soak->dead_letters;
    else
      ++soak->lifecycle;
  }
};

// -- outside troublemakers
// -------------------------------------------------------------

/// Makes `s` a CURVE client with the soak's keys (if CURVE is on).
void with_keys(zmq::socket_t& s) {
  if (soak->server_public.empty())
    return;
  s.set(zmq::sockopt::curve_serverkey, soak->server_public);
  s.set(zmq::sockopt::curve_publickey, soak->client.public_key);
  s.set(zmq::sockopt::curve_secretkey, soak->client.secret_key);
}

/// A client without keys knocks on the subscribe port now and then; with
/// CURVE on it must get nothing.
void intruder(zmq::context_t& ctx, int port, std::atomic<bool>& go,
              std::atomic<std::uint64_t>& got) {
  while (go) {
    zmq::socket_t sub{ctx, zmq::socket_type::sub};
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::subscribe, "");
    sub.connect("tcp://127.0.0.1:" + std::to_string(port));
    auto until = clock_type::now() + 200ms;
    while (go && clock_type::now() < until) {
      zmq::message_t msg;
      if (sub.recv(msg, zmq::recv_flags::dontwait))
        ++got;
      else
        std::this_thread::sleep_for(5ms);
    }
    ++soak->intrusions;
  }
}

/// Raw PUB clients: connect, publish a burst of SoakR, disconnect.
void raw_publishers(zmq::context_t& ctx, int port, std::atomic<bool>& go) {
  std::uint64_t n = 0;
  while (go) {
    zmq::socket_t pub{ctx, zmq::socket_type::pub};
    with_keys(pub);
    pub.set(zmq::sockopt::linger, 200);
    pub.connect("tcp://127.0.0.1:" + std::to_string(port));
    std::this_thread::sleep_for(20ms);
    for (int i = 0; i < 200 && go; ++i, ++n) {
      auto text = "SoakR" + std::to_string(n);
      pub.send(zmq::buffer(text), zmq::send_flags::dontwait);
    }
    ++soak->raw_pub_rounds;
    std::this_thread::sleep_for(30ms);
  }
}

/// Raw SUB clients: connect, read for a moment (or not at all), leave.
void raw_subscribers(zmq::context_t& ctx, int port, std::atomic<bool>& go) {
  while (go) {
    zmq::socket_t sub{ctx, zmq::socket_type::sub};
    with_keys(sub);
    sub.set(zmq::sockopt::linger, 0);
    sub.set(zmq::sockopt::rcvhwm, 100);
    sub.set(zmq::sockopt::subscribe, "Soak");
    sub.connect("tcp://127.0.0.1:" + std::to_string(port));
    bool reader = chance(0.5);
    auto until = clock_type::now() + 100ms;
    while (go && clock_type::now() < until) {
      if (!reader) {
        std::this_thread::sleep_for(10ms);
        continue;
      }
      zmq::message_t msg;
      if (sub.recv(msg, zmq::recv_flags::dontwait))
        ++soak->raw_received;
      else
        std::this_thread::sleep_for(1ms);
    }
    ++soak->raw_sub_rounds;
  }
}

/// Kills a random Python plugin process now and then.
void killer(std::atomic<bool>& go) {
  while (go) {
    for (int i = 0; i < 30 && go; ++i)
      std::this_thread::sleep_for(50ms);
    if (!go || !soak->misbehave)
      break;
    auto pids = children("soak_plugin.py");
    if (pids.empty())
      continue;
    auto pid = pids[std::uniform_int_distribution<std::size_t>{0, pids.size() -
                                                                      1}(rng)];
    if (::kill(pid, SIGKILL) == 0)
      ++soak->kills;
  }
}

// -- checks
// -------------------------------------------------------------------------------

int failures = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failures;
    std::cout << "FAIL " << what << std::endl;
  }
}

ee::external_plugin_config python(const std::string& name,
                                  const std::string& subscription,
                                  const std::string& reply, double crash,
                                  double reconnect, ee::delivery_mode mode) {
  ee::external_plugin_config p;
  p.name = name;
  p.port = 0;
  p.subscriptions = {ee::event_type{subscription.substr(4), subscription}};
  p.command = {"/usr/bin/python3", EE_SOURCE_DIR "/tests/soak/soak_plugin.py"};
  p.env = {{"PYTHONPATH", EE_SOURCE_DIR "/bridge/python"},
           {"SOAK_REPLY", reply},
           {"SOAK_CRASH", std::to_string(crash)},
           {"SOAK_RECONNECT", std::to_string(reconnect)},
           {"SOAK_SEED", std::to_string(soak->seed)},
           {"SOAK_CALM", soak->calm_file}};
  p.delivery = mode;
  if (!soak->client_file.empty())
    p.client_key_file = soak->client_file; // pyevents reads it
  p.options.restart = ee::restart_policy::permanent;
  p.options.backoff.initial = 10ms;
  p.options.backoff.max = 100ms;
  return p;
}

} // namespace

int main(int argc, char** argv) {
  int seconds = 120;
  bool quiet = false;
  bool curve = true;
  shared state;
  soak = &state;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--seconds" && i + 1 < argc)
      seconds = std::atoi(argv[++i]);
    else if (arg == "--seed" && i + 1 < argc)
      state.seed = static_cast<unsigned>(std::atol(argv[++i]));
    else if (arg == "--quiet")
      quiet = true;
    else if (arg == "--no-curve")
      curve = false;
    else {
      std::cerr
          << "usage: ee_soak [--seconds N] [--seed S] [--no-curve] [--quiet]\n";
      return 2;
    }
  }
  if (quiet)
    ee::set_log_level(ee::log_level::off);
  rng.seed(state.seed);
  state.calm_file = "/tmp/ee-soak-" + std::to_string(getpid()) + ".calm";
  std::remove(state.calm_file.c_str());
  auto threads_before = threads_now();
  std::cout << "# soak: " << seconds << " s, seed " << state.seed << std::endl;

  ee::app_config cfg;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  cfg.queue_capacity = 2000;
  cfg.max_restarts = 1000000; // random failures never escalate
  cfg.restart_period = 1s;
  cfg.shutdown_grace = 5s;
  cfg.event_types = {ee::event_type{"R", "SoakR"}};
  if (curve) {
    auto server = ee::curve::generate();
    auto client = ee::curve::generate();
    if (!server || !client) {
      std::cout << "FAIL no CurveZMQ in this libzmq" << std::endl;
      return 1;
    }
    state.server_public = server->public_key;
    state.client = *client;
    state.client_file =
        "/tmp/ee-soak-" + std::to_string(getpid()) + ".key_secret";
    std::ofstream{state.client_file}
        << ee::curve::format(*client, true, "the soak test");
    cfg.security.curve = true;
    cfg.security.secret_key = server->secret_key;
    cfg.security.allowed_keys = {client->public_key};
  }
  ee::plugin_options permanent;
  permanent.restart = ee::restart_policy::permanent;
  permanent.backoff.initial = 1ms;
  permanent.backoff.max = 10ms;
  ee::plugin_options lossy_opts;
  lossy_opts.queue_capacity = 100;
  lossy_opts.overflow = ee::overflow_policy::drop_oldest;
  ee::plugin_options transient = permanent;
  transient.restart = ee::restart_policy::transient;

  ee::engine_stats final_stats;
  double rss_warm = 0, rss_end = 0, rss_after = 0;
  std::uint64_t kills = 0;
  ee::error result;
  {
    ee::app app{cfg};
    app.emplace_plugin<source>(permanent)
        .emplace_plugin<relay>(permanent)
        .emplace_plugin<lossy>(lossy_opts)
        .emplace_plugin<sink>(transient)
        .emplace_plugin<watcher>(permanent);
    app.register_external_plugin(python("py_b", "SoakB", "SoakD", 0.0005, 0.002,
                                        ee::delivery_mode::at_least_once));
    app.register_external_plugin(python("py_d", "SoakD", "", 0.0, 0.01,
                                        ee::delivery_mode::at_most_once));
    app.register_external_plugin(python("py_r", "SoakR", "", 0.001, 0.005,
                                        ee::delivery_mode::at_least_once));
    auto run = std::async(std::launch::async, [&] { return app.run(); });
    if (!app.wait_started(30s)) {
      std::cout << "FAIL the app did not start: " << run.get().to_string()
                << std::endl;
      return 1;
    }
    zmq::context_t ctx{1};
    std::atomic<bool> go{true};
    std::thread pubs{[&] { raw_publishers(ctx, app.publish_port(), go); }};
    std::thread subs{[&] { raw_subscribers(ctx, app.subscribe_port(), go); }};
    std::thread kill_thread{[&] { killer(go); }};
    std::atomic<std::uint64_t> intruder_got{0};
    std::thread intruder_thread;
    if (curve)
      intruder_thread = std::thread{
          [&] { intruder(ctx, app.subscribe_port(), go, intruder_got); }};
    auto start = clock_type::now();
    auto total = std::chrono::seconds{seconds};
    auto warm_at = start + total / 4;
    bool warmed = false;
    while (clock_type::now() - start < total) {
      std::this_thread::sleep_for(200ms);
      if (!warmed && clock_type::now() >= warm_at) {
        warmed = true;
        rss_warm = rss_mib();
      }
      if (run.wait_for(0s) == std::future_status::ready)
        break;
    }
    // Calm down: no more failures; raw clients leave; queues drain.
    state.misbehave = false;
    std::ofstream{state.calm_file} << "calm\n";
    std::this_thread::sleep_for(200ms); // the plugins' events in progress
    go = false;
    pubs.join();
    subs.join();
    kill_thread.join();
    if (intruder_thread.joinable())
      intruder_thread.join();
    if (curve)
      check(intruder_got == 0, "a client without a key got " +
                                   std::to_string(intruder_got.load()) +
                                   " events");
    rss_end = rss_mib();
    kills = state.kills;
    app.stop();
    if (run.wait_for(60s) != std::future_status::ready) {
      std::cout << "FAIL run() did not return after stop()" << std::endl;
      return 1;
    }
    result = run.get();
    final_stats = app.stats();
  }
  rss_after = rss_mib();
  std::remove(state.calm_file.c_str());
  if (!state.client_file.empty())
    std::remove(state.client_file.c_str());
  // -- the verdict
  // ---------------------------------------------------------------------
  check(!result, "run() returned " + result.to_string());
  auto& st = final_stats;
  for (auto& [name, x] : st.plugins) {
    check(x.routed == x.handled + x.dead_letters + x.dropped + x.queued,
          "the books of plugin '" + name + "' balance");
    check(x.queued == 0, "nothing is left queued for plugin '" + name + "'");
  }
  for (auto& [name, x] : st.types) {
    check(x.routed == x.handled + x.dead_letters + x.dropped + x.queued,
          "the books of type '" + name + "' balance");
    check(x.queued == 0, "nothing is left queued of type '" + name + "'");
  }
  std::uint64_t published_by_plugins = 0;
  for (auto& [name, x] : st.plugins)
    published_by_plugins += x.published;
  std::uint64_t published_by_types = 0;
  for (auto& [name, x] : st.types)
    published_by_types += x.published;
  check(published_by_types == st.routed,
        "every routed event has one type (" +
            std::to_string(published_by_types) + " vs " +
            std::to_string(st.routed) + ")");
  check(published_by_plugins + st.raw_published + st.system_events == st.routed,
        "every routed event has one publisher (plugins " +
            std::to_string(published_by_plugins) + " + raw " +
            std::to_string(st.raw_published) + " + engine " +
            std::to_string(st.system_events) + " vs " +
            std::to_string(st.routed) + ")");
  check(st.types.count("A") && st.types.at("A").published > 0, "type A flowed");
  check(st.plugins.at("relay").restarts > 0, "the relay was restarted");
  check(st.plugins.at("py_b").restarts + st.plugins.at("py_r").restarts > 0,
        "a Python plugin was restarted");
  check(st.plugins.at("lossy").dropped_policy > 0,
        "the lossy plugin dropped by its policy");
  check(kills > 0, "Python processes were killed");
  check(state.raw_pub_rounds > 0 && state.raw_sub_rounds > 0,
        "raw clients came and went");
  check(st.raw_published > 0, "raw publishers' events arrived");
  if (curve)
    check(st.refused_connections > 0 && state.intrusions > 0,
          "clients without a key were refused (" +
              std::to_string(st.refused_connections) + ")");
  // Nothing left behind.
  auto left = children("");
  check(left.empty(), std::to_string(left.size()) + " child processes left");
  for (int i = 0; i < 100 && threads_now() > threads_before; ++i)
    std::this_thread::sleep_for(10ms);
  check(threads_now() == threads_before,
        "threads after the run: " + std::to_string(threads_now()) +
            ", before: " + std::to_string(threads_before));
  // Memory: the steady state and what stays after the run, against the
  // steady state after warm-up.
  // (AddressSanitizer's quarantine keeps freed memory: no verdict there.)
#if defined(__SANITIZE_ADDRESS__)
  auto margin = [](double) { return true; };
#else
  auto margin = [&](double x) { return x <= rss_warm * 1.25 + 16; };
#endif
  check(rss_warm > 0, "memory was measured after the warm-up");
  check(margin(rss_end),
        "RSS at the end of the run " + std::to_string(rss_end) +
            " MiB vs after warm-up " + std::to_string(rss_warm) + " MiB");
  check(margin(rss_after), "RSS after the run " + std::to_string(rss_after) +
                               " MiB vs after warm-up " +
                               std::to_string(rss_warm) + " MiB");
  std::cout << "# routed " << st.routed << " (plugins " << published_by_plugins
            << ", raw " << st.raw_published << ", engine " << st.system_events
            << "), delivered " << st.delivered << ", dropped " << st.dropped
            << ", dead letters " << st.dead_letters << "\n# failures: relay "
            << state.relay_throws << ", sink " << state.sink_throws
            << ", Python processes killed " << kills << "; restarts:";
  for (auto& [name, x] : st.plugins)
    if (x.restarts > 0)
      std::cout << " " << name << " " << x.restarts;
  std::cout << "\n# raw clients: " << state.raw_pub_rounds << " publishers, "
            << state.raw_sub_rounds << " subscribers (" << state.raw_received
            << " events read); lifecycle events seen " << state.lifecycle
            << ", dead letters seen " << state.dead_letters << "\n# CurveZMQ "
            << (curve ? "on" : "off") << ": " << state.intrusions
            << " intrusions, " << st.refused_connections
            << " connections refused\n# RSS MiB: "
            << "after warm-up " << rss_warm << ", at the end " << rss_end
            << ", after the run " << rss_after << "\n";
  for (auto& [name, x] : st.types)
    std::cout << "# type " << name << ": published " << x.published
              << ", routed " << x.routed << " = handled " << x.handled
              << " + dead letters " << x.dead_letters << " + dropped "
              << x.dropped << " (policy " << x.dropped_policy << ", cycle "
              << x.dropped_cycle << ", retired " << x.dropped_retired
              << ") + queued " << x.queued << "\n";
  std::cout << (failures == 0 ? "soak: PASS" : "soak: FAIL") << std::endl;
  return failures == 0 ? 0 : 1;
}
