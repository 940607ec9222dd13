// Section c: round trips of a Python client through an external plugin
// (port 0, subscribes `RT`): N x (publish_msg + get_next_msg, which returns
// the client's own event) vs pyzmq REQ -> C++ ROUTER echo thread, the same
// number of exchanges. Diagnostic rows split the cost: plain REQ -> engine,
// and pyevents -> echo.

#include "tests/benchmark/sections.hpp"

#include <atomic>
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
mode, target, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
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
warm = min(200, n)
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

/// Runs the client; @returns round trips (request + reply) per second.
std::optional<double> run_python(const std::string& mode,
                                 const std::string& target, int port,
                                 std::uint64_t n) {
  auto res = run_process({"/usr/bin/python3", "-c", py_rt_script, mode, target,
                          std::to_string(port), std::to_string(n)},
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
  if (app.wait_started(10s))
    rt = run_python(mode, "engine", app.plugin_port("rt"), n);
  print_child({{"ok", rt.has_value()}, {"rt_per_s", rt ? *rt : 0.0}});
  auto [err, forced] = runner.finish(10s); // the client sent quit
  if (err)
    std::cout << "# engine: " << err.to_string() << std::endl;
  return 0;
}

// The baselines: a pyzmq REQ and a pyevents client against a C++ ROUTER echo.
static std::pair<std::optional<double>, std::optional<double>>
raw_round_trips(const settings& cfg) {
  std::optional<double> raw_rt, raw_py_rt;
  {
    zmq::context_t ctx{1};
    std::atomic<bool> stop{false};
    std::promise<int> port_p;
    auto port_f = port_p.get_future();
    std::thread echo{[&] {
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
        // Echo each request (identity, empty delimiter, body) at once.
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
            router.send(frames[i], i + 1 < frames.size()
                                       ? zmq::send_flags::sndmore
                                       : zmq::send_flags::none);
        }
      }
    }};
    int port = port_f.get();
    raw_rt = run_python("bare", "echo", port, cfg.rt);
    raw_py_rt = run_python("pyevents", "echo", port, cfg.rt);
    stop = true;
    echo.join();
  }
  return {raw_rt, raw_py_rt};
}

void section_c(const settings& cfg) {
  std::cout << "\n== c. external plugin round trips (pyevents, N = " << cfg.rt
            << " publish + next_msg), " << cfg.repeat
            << " interleaved rounds ==\n";
  auto engine_rt = [&](const std::string& mode) {
    if (auto kv = run_child({"rt", mode, std::to_string(cfg.rt)}, 300s))
      if ((*kv)["ok"] != 0)
        return (*kv)["rt_per_s"];
    return std::numeric_limits<double>::quiet_NaN();
  };
  auto val = [](const std::optional<double>& v) {
    return v ? *v : std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<double> eng_rt, eng_bare_rt, raw_rt, raw_py_rt;
  for (std::size_t round = 1; round <= cfg.repeat; ++round) {
    eng_rt.push_back(engine_rt("pyevents"));
    eng_bare_rt.push_back(engine_rt("bare"));
    auto [raw, raw_py] = raw_round_trips(cfg);
    raw_rt.push_back(val(raw));
    raw_py_rt.push_back(val(raw_py));
    std::cout << "# round " << round << " of " << cfg.repeat
              << ", round trips/s: pyevents->engine " << fmt(eng_rt.back())
              << ", REQ->engine " << fmt(eng_bare_rt.back()) << ", REQ->echo "
              << fmt(raw_rt.back()) << ", pyevents->echo "
              << fmt(raw_py_rt.back()) << std::endl;
  }
  auto r = report_runs(
      "c", "pyevents_round_trips", "pyevents -> engine round trips",
      "round trips/s", eng_rt, raw_rt,
      "pyevents publish_msg + get_next_msg vs pyzmq REQ -> C++ ROUTER echo");
  // Diagnostics: which side costs what.
  report_runs("c", "rt_engine_bare_req", "pyzmq REQ -> engine round trips",
              "round trips/s", eng_bare_rt, raw_rt, "engine cost alone");
  report_runs("c", "rt_pyevents_echo", "pyevents -> ROUTER echo round trips",
              "round trips/s", raw_py_rt, raw_rt, "pyevents client cost alone");
  std::string what = "pyevents round trips >= 0.85x raw (worst of " +
                     std::to_string(cfg.repeat) + ")";
  if (r)
    add_target(
        {what, spread_str(*r) + "x (min / median / max)", r->min >= 0.85});
  else
    add_target({what, "run failed", false});
}

} // namespace ee::bench
