// Section c: round trips of a Python client through an external plugin
// (port 0, subscribes `RT`): N x (publish_msg + get_next_msg, which returns
// the client's own event) vs pyzmq REQ -> C++ ROUTER echo thread, the same
// number of exchanges. Diagnostic rows split the cost: plain REQ -> engine,
// and pyevents -> echo; the CPU per pair of the engine process and of the
// echo; and the floor of two loopback TCP hops (a C++ ping-pong, no ZeroMQ).

#include "tests/benchmark/sections.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <future>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zmq.hpp>

#include <ee/app.hpp>

namespace ee::bench {

using namespace std::chrono_literals;

namespace {

// The client: MODE "pyevents" uses the original functions (publish_msg, then
// get_next_msg, which returns the client's own event through the engine);
// MODE "bare" sends the same requests from a plain pyzmq REQ socket. TARGET
// "engine" expects its event back; "echo" (the raw ROUTER baseline) expects
// its own request echoed. Prints the seconds of N round-trip pairs.
const char* py_rt_script = R"(
import sys, time, logging, zmq
mode, target, port, n, warm = (sys.argv[1], sys.argv[2], int(sys.argv[3]),
                               int(sys.argv[4]), int(sys.argv[5]))
logging.getLogger("pyevents").setLevel(logging.ERROR)
ctx = zmq.Context()
payload = b"RT" + b"x" * 98
NEXT = b"plugin_command: next_msg"
if mode == "pyevents":
    from pyevents.events import (get_plugin_socket, get_next_msg, publish_msg,
                                 send_quit_command)
    s = get_plugin_socket(ctx, port, host="127.0.0.1")
    def once():
        publish_msg(s, payload)
        return get_next_msg(s, 10000)
    def quit():
        send_quit_command(s)
else:
    s = ctx.socket(zmq.REQ)
    s.setsockopt(zmq.LINGER, 1000)
    s.setsockopt(zmq.RCVTIMEO, 10000)
    s.connect(f"tcp://127.0.0.1:{port}")
    def once():
        s.send(payload)
        s.recv()
        s.send(NEXT)
        return s.recv()
    def quit():
        s.send(b"plugin_command: quit")
want = payload if target == "engine" else NEXT
for i in range(warm + n):
    if i == warm:
        t = time.perf_counter()
    try:
        got = once()
    except zmq.Again:
        sys.exit(f"round trip {i}: no reply within 10 s")
    if got != want:
        sys.exit(f"round trip {i}: got {got[:40]!r}")
print(time.perf_counter() - t, flush=True)
if target == "engine":
    quit()
s.close()
ctx.term()
)";

/// Pairs the client runs before it starts the clock.
constexpr std::uint64_t warm_pairs = 200;

/// @returns every pair a client of `n` measured pairs sends.
std::uint64_t all_pairs(std::uint64_t n) {
  return n + warm_pairs;
}

/// @returns the context switches (voluntary and not) of every thread of this
/// process so far.
long context_switches() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  return ru.ru_nvcsw + ru.ru_nivcsw;
}

/// Runs the client; @returns round trips (request + reply) per second.
std::optional<double> run_python(const std::string& mode,
                                 const std::string& target, int port,
                                 std::uint64_t n) {
  auto res = run_process({"/usr/bin/python3", "-c", py_rt_script, mode, target,
                          std::to_string(port), std::to_string(n),
                          std::to_string(warm_pairs)},
                         {"PYTHONPATH=" EE_SOURCE_DIR "/bridge/python"}, 180s);
  if (!res.started || res.timed_out || res.exit_code != 0) {
    std::cout << "# python client (" << mode << " -> " << target
              << ") failed (exit " << res.exit_code
              << (res.timed_out ? ", timeout" : "") << ")" << std::endl;
    return std::nullopt;
  }
  double secs = std::strtod(res.out.c_str(), nullptr);
  if (secs <= 0)
    return std::nullopt;
  return 2.0 * n / secs;
}

} // namespace

int child_rt(const std::string& mode, std::uint64_t n) {
  auto acfg = child_app_config();
  acfg.publish_port = 0;
  acfg.subscribe_port = 0;
  ee::app app{acfg};
  ee::external_plugin_config ext;
  ext.name = "rt";
  ext.port = 0;
  ext.subscriptions = {ee::event_type{"RT"}};
  app.register_external_plugin(ext);
  app_runner runner{app};
  std::optional<double> rt;
  double cpu_s = 0;
  long switches = 0;
  if (app.wait_started(10s)) {
    auto cpu0 = process_cpu_seconds();
    auto switches0 = context_switches();
    rt = run_python(mode, "engine", app.plugin_port("rt"), n);
    cpu_s = process_cpu_seconds() - cpu0;
    switches = context_switches() - switches0;
  }
  auto pairs = static_cast<double>(all_pairs(n));
  print_child({{"ok", rt.has_value()},
               {"rt_per_s", rt ? *rt : 0.0},
               {"cpu_us_per_pair", cpu_s * 1e6 / pairs},
               {"switches_per_pair", switches / pairs}});
  auto [err, forced] = runner.finish(10s); // the client sent quit
  if (err)
    std::cout << "# engine: " << err.to_string() << std::endl;
  return 0;
}

namespace {

/// The Rust original's server CPU per pair (publish_msg + get_next_msg) on
/// this machine, measured with its own events.py client (issue 17).
constexpr double original_cpu_us_per_pair = 176;

/// The baselines of one round (NaN: that run failed).
struct raw_figures {
  double rt = std::numeric_limits<double>::quiet_NaN();    // REQ -> echo
  double py_rt = std::numeric_limits<double>::quiet_NaN(); // pyevents -> echo
  double cpu_us_per_pair = std::numeric_limits<double>::quiet_NaN(); // echo
  double floor_rt = std::numeric_limits<double>::quiet_NaN(); // TCP ping-pong
};

/// Echoes each request (identity, empty delimiter, body) of a ROUTER bound to
/// a free port (set in `port_p`) at once, until `stop`.
void echo_loop(zmq::context_t& ctx, std::promise<int>& port_p,
               const std::atomic<bool>& stop) {
  zmq::socket_t router{ctx, zmq::socket_type::router};
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:*");
  auto ep = router.get(zmq::sockopt::last_endpoint);
  port_p.set_value(std::atoi(ep.substr(ep.rfind(':') + 1).c_str()));
  zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
  std::vector<zmq::message_t> frames;
  while (!stop) {
    zmq::poll(&item, 1, 100ms);
    if (!(item.revents & ZMQ_POLLIN))
      continue;
    for (;;) {
      frames.clear();
      zmq::message_t m;
      if (!router.recv(m, zmq::recv_flags::dontwait))
        break;
      bool more = m.more();
      frames.push_back(std::move(m));
      while (more) {
        zmq::message_t part;
        (void)router.recv(part);
        more = part.more();
        frames.push_back(std::move(part));
      }
      for (std::size_t i = 0; i < frames.size(); ++i)
        router.send(frames[i], i + 1 < frames.size() ? zmq::send_flags::sndmore
                                                     : zmq::send_flags::none);
    }
  }
}

/// Reads or writes exactly `n` bytes (`io` is ::read or ::write).
template <class Io, class Buf>
bool exactly(Io io, int fd, Buf* buf, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    auto got = io(fd, buf + done, n - done);
    if (got <= 0)
      return false;
    done += static_cast<std::size_t>(got);
  }
  return true;
}

/// A connected loopback TCP pair (TCP_NODELAY, 10 s receive timeouts), or
/// {-1, -1}.
std::pair<int, int> loopback_pair() {
  int lst = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  auto* sa = reinterpret_cast<sockaddr*>(&addr);
  int a = -1, b = -1;
  if (lst >= 0 && ::bind(lst, sa, len) == 0 && ::listen(lst, 1) == 0 &&
      ::getsockname(lst, sa, &len) == 0) {
    a = ::socket(AF_INET, SOCK_STREAM, 0);
    if (a >= 0 && ::connect(a, sa, len) == 0)
      b = ::accept(lst, nullptr, nullptr);
  }
  if (lst >= 0)
    ::close(lst);
  if (a < 0 || b < 0) {
    if (a >= 0)
      ::close(a);
    return {-1, -1};
  }
  timeval tv{10, 0};
  int one = 1;
  for (int fd : {a, b}) {
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  return {a, b};
}

/// The floor of a round trip on this machine: `n` exchanges of a 100-byte
/// message and its echo between two threads over one loopback TCP connection
/// (two TCP hops, no ZeroMQ, no Python). @returns round trips per second.
std::optional<double> tcp_floor(std::uint64_t n) {
  auto [a, b] = loopback_pair();
  if (a < 0)
    return std::nullopt;
  constexpr std::size_t size = 100;
  std::thread echo{[fd = b] {
    char buf[size];
    while (exactly(::read, fd, buf, size) && exactly(::write, fd, buf, size)) {
      // nop
    }
  }};
  char buf[size] = {'R', 'T'};
  bool ok = true;
  auto t0 = clock_type::now();
  for (std::uint64_t i = 0; ok && i < n; ++i)
    ok = exactly(::write, a, buf, size) && exactly(::read, a, buf, size);
  auto secs = seconds(t0, clock_type::now());
  ::shutdown(a, SHUT_RDWR);
  echo.join();
  ::close(a);
  ::close(b);
  if (!ok || secs <= 0)
    return std::nullopt;
  return n / secs;
}

// The baselines: a pyzmq REQ and a pyevents client against a C++ ROUTER echo
// (the REQ client's run also gives the echo's CPU per pair), and the floor.
raw_figures raw_round_trips(const settings& cfg) {
  raw_figures f;
  auto val = [](const std::optional<double>& v) {
    return v ? *v : std::numeric_limits<double>::quiet_NaN();
  };
  {
    zmq::context_t ctx{1};
    std::atomic<bool> stop{false};
    std::promise<int> port_p;
    auto port_f = port_p.get_future();
    std::thread echo{[&] { echo_loop(ctx, port_p, stop); }};
    int port = port_f.get();
    auto cpu0 = process_cpu_seconds();
    f.rt = val(run_python("bare", "echo", port, cfg.rt));
    f.cpu_us_per_pair =
        (process_cpu_seconds() - cpu0) * 1e6 / all_pairs(cfg.rt);
    f.py_rt = val(run_python("pyevents", "echo", port, cfg.rt));
    stop = true;
    echo.join();
  }
  f.floor_rt = val(tcp_floor(2 * cfg.rt));
  return f;
}

/// The figures of every round.
struct rt_rounds {
  std::vector<double> eng_rt, eng_bare_rt, eng_cpu;
  std::vector<double> raw_rt, raw_py_rt, raw_cpu, floor_rt;
};

void report_rounds(const settings& cfg, const rt_rounds& r) {
  auto spread = report_runs(
      "c", "pyevents_round_trips", "pyevents -> engine round trips",
      "round trips/s", r.eng_rt, r.raw_rt,
      "pyevents publish_msg + get_next_msg vs pyzmq REQ -> C++ ROUTER echo");
  auto bare = report_runs("c", "rt_engine_bare_req",
                          "pyzmq REQ -> engine round trips", "round trips/s",
                          r.eng_bare_rt, r.raw_rt, "engine cost alone");
  report_runs("c", "rt_pyevents_echo", "pyevents -> ROUTER echo round trips",
              "round trips/s", r.raw_py_rt, r.raw_rt,
              "pyevents client cost alone");
  report_runs("c", "rt_engine_cpu_per_pair", "engine CPU per pair", "us/pair",
              r.eng_cpu, r.raw_cpu,
              "pyevents run, whole engine process; baseline: the echo's");
  report_runs("c", "rt_vs_tcp_floor", "pyzmq REQ -> engine vs TCP floor",
              "round trips/s", r.eng_bare_rt, r.floor_rt,
              "baseline: C++ ping-pong over loopback TCP, no ZeroMQ");
  auto worst = " (worst of " + std::to_string(cfg.repeat) + ")";
  auto judged = [](const std::optional<struct spread>& s) {
    return s ? spread_str(*s) + "x (min / median / max)" : "run failed";
  };
  add_target({"pyevents round trips >= 1.0x raw echo (median)", judged(spread),
              spread && spread->median >= 1.0});
  add_target({"pyevents round trips >= 0.9x raw echo" + worst, judged(spread),
              spread && spread->min >= 0.9});
  add_target({"pyzmq REQ -> engine >= 1.0x raw echo" + worst, judged(bare),
              bare && bare->min >= 1.0});
  auto cpu = spread_of(r.eng_cpu);
  bool cpu_ok = cpu && std::none_of(r.eng_cpu.begin(), r.eng_cpu.end(),
                                    [](double x) { return std::isnan(x); });
  std::ostringstream what;
  what << "engine CPU per pair < " << original_cpu_us_per_pair
       << " us (Rust original)" << worst;
  add_target(
      {what.str(),
       cpu ? spread_str(*cpu) + " us (min / median / max)" : "run failed",
       cpu_ok && cpu->max < original_cpu_us_per_pair});
}

} // namespace

void section_c(const settings& cfg) {
  std::cout << "\n== c. external plugin round trips (pyevents, N = " << cfg.rt
            << " publish + next_msg), " << cfg.repeat
            << " interleaved rounds ==\n";
  auto engine_rt = [&](const std::string& mode) {
    if (auto kv = run_child({"rt", mode, std::to_string(cfg.rt)}, 300s))
      if ((*kv)["ok"] != 0)
        return std::pair{(*kv)["rt_per_s"], (*kv)["cpu_us_per_pair"]};
    auto nan = std::numeric_limits<double>::quiet_NaN();
    return std::pair{nan, nan};
  };
  rt_rounds r;
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    auto [rt, cpu] = engine_rt("pyevents");
    r.eng_rt.push_back(rt);
    r.eng_cpu.push_back(cpu);
    r.eng_bare_rt.push_back(engine_rt("bare").first);
    auto raw = raw_round_trips(cfg);
    r.raw_rt.push_back(raw.rt);
    r.raw_py_rt.push_back(raw.py_rt);
    r.raw_cpu.push_back(raw.cpu_us_per_pair);
    r.floor_rt.push_back(raw.floor_rt);
    std::cout << "# round " << round << " of " << cfg.repeat
              << ", round trips/s: pyevents->engine " << fmt(rt)
              << ", REQ->engine " << fmt(r.eng_bare_rt.back()) << ", REQ->echo "
              << fmt(raw.rt) << ", pyevents->echo " << fmt(raw.py_rt)
              << ", TCP floor " << fmt(raw.floor_rt) << "; CPU us/pair: engine "
              << fmt(cpu) << ", echo " << fmt(raw.cpu_us_per_pair) << std::endl;
  }
  report_rounds(cfg, r);
}

} // namespace ee::bench
