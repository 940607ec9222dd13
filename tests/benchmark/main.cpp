// ee_benchmark: the engine against raw libzmq baselines measured in the same
// run (a program, not a test; `./dev bench` runs it).
//
//   a. the load-test pipeline (producer -> operator -> accumulator) on the
//      engine vs the original topology on libzmq (PUB -> XSUB/XPUB proxy ->
//      SUB) and vs the floor (three threads, two lock-free rings), events/s,
//      CPU per event, peak RSS, totals; the engine also at several counts
//   b. one-hop fan-out to 1, 10, 100, 1000 subscribers, engine vs inproc PUB
//      -> K SUB
//   c. external plugin round trips through pyevents vs pyzmq REQ -> ROUTER echo
//   d. a raw TCP SUB client on the engine's subscribe port vs TCP PUB -> SUB
//   e. K idle actor plugins (1,000 and 100,000) through the start barrier:
//      time, bytes per plugin, stop; restart latency
//   f. federation: engines peered over TCP, one link and two hops,
//      throughput and round trips vs raw TCP PUB -> SUB (HWM 0)
//
// Every figure is printed in a table with its ratio to the baseline, and as
// one machine-readable line `RESULT name=value unit ratio=x` (plot.py reads
// them). Every section runs `--repeat` interleaved rounds (engine and
// baseline alternate): each figure is the min / median / max of its rounds
// and a target passes only if its worst round does. Every engine run happens in
// a child process (this program re-executed with `--child ...`): each has its
// own peak-RSS high-water mark (VmHWM is process-wide), and a hung or crashed
// engine is killed and reported instead of stopping the benchmark. Raw
// baselines run in the parent except the pipeline's, which also needs its own
// VmHWM.
//
// Diagnostic environment knobs for the engine children (docs/performance.md):
// EE_BENCH_SCHED_THREADS, EE_BENCH_PUBLISH_WINDOW, EE_BENCH_DELIVERY_WINDOW,
// EE_BENCH_QUEUE_CAPACITY, EE_BENCH_TIMERSLACK_NS; EE_LOG_LEVEL as usual.
//
//   ee_benchmark [--events N] [--counts 1e5,1e6,1e7] [--big] [--raw-counts L]
//                [--sections abcdef] [--fanout-total N] [--rt N]
//                [--tcp-events N] [--plugins LIST] [--restarts N]
//                [--fed-events N] [--fed-pings N]
//                [--repeat N] [--quick] [--verbose]
//
// The parts: bench_common.{hpp,cpp} (settings, process and child helpers,
// app runner, results), one section_*.cpp per section (sections.hpp), and
// this file (arguments, child dispatch, running the sections).

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <ee/log.hpp>

#include "tests/benchmark/bench_common.hpp"
#include "tests/benchmark/sections.hpp"

using namespace ee::bench;

namespace {

std::uint64_t parse_count(const std::string& s) {
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || v < 1) {
    std::cerr << "ee_benchmark: not a count: " << s << '\n';
    std::exit(2);
  }
  return static_cast<std::uint64_t>(v + 0.5);
}

std::vector<std::uint64_t> parse_counts(const std::string& s) {
  std::vector<std::uint64_t> out;
  std::istringstream in{s};
  std::string item;
  while (std::getline(in, item, ','))
    if (!item.empty())
      out.push_back(parse_count(item));
  return out;
}

void usage() {
  std::cerr
      << "usage: ee_benchmark [--events N] [--counts 1e5,1e6,1e7] [--big]\n"
         "                    [--raw-counts LIST] [--sections abcdef]\n"
         "                    [--fanout-total N] [--rt N] [--tcp-events N]\n"
         "                    [--plugins LIST] [--restarts N] [--repeat N]\n"
         "                    [--fed-events N] [--fed-pings N]\n"
         "                    [--quick] [--verbose]\n"
         "  --events N        pipeline events compared with raw libzmq (1e6)\n"
         "  --counts LIST     engine pipeline event counts (1e5,1e6,1e7)\n"
         "  --big             add 1e7 to --counts (e.g. with --quick)\n"
         "  --raw-counts LIST counts at which raw libzmq also runs "
         "(1e5,1e6,1e7)\n"
         "  --sections LETTERS which sections run (abcdef): a pipeline, b "
         "fan-out,\n"
         "                    c pyevents round trips, d TCP SUB, e "
         "barrier+restart,\n"
         "                    f federation\n"
         "  --fanout-total N  deliveries per fan-out case (2e6)\n"
         "  --rt N            round-trip pairs of the Python clients (5000)\n"
         "  --tcp-events N    events for the TCP SUB client (1e6)\n"
         "  --plugins LIST    idle actor plugins at the barrier (1e3,1e5)\n"
         "  --restarts N      crashes for the restart latency (20)\n"
         "  --fed-events N    events across the federation links (2e5)\n"
         "  --fed-pings N     round trips across them (2000)\n"
         "  --repeat N        interleaved rounds of every section (5); "
         "targets\n"
         "                    judge the worst round\n"
         "  --quick           small figures for a smoke run\n"
         "  --verbose         engine log at info level\n";
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args{argv + 1, argv + argc};
  if (args.size() >= 2 && args[0] == "--child") {
    if (!std::getenv("EE_LOG_LEVEL"))
      ee::set_log_level(ee::log_level::warning);
    alarm(900); // a last resort; the parent kills a hung child sooner
    // Diagnostic knob: the timer slack inherited by every thread created
    // from here on (CAF's workers sleep in short nanosleeps when idle).
    if (auto v = std::getenv("EE_BENCH_TIMERSLACK_NS"))
      prctl(PR_SET_TIMERSLACK, std::strtoul(v, nullptr, 10), 0, 0, 0);
    auto arg = [&](std::size_t i) {
      return i < args.size() ? parse_count(args[i]) : 0;
    };
    const auto& kind = args[1];
    if (kind == "engine-pipeline")
      return child_engine_pipeline(arg(2));
    if (kind == "raw-pipeline")
      return child_raw_pipeline(arg(2));
    if (kind == "floor-pipeline")
      return child_floor_pipeline(arg(2));
    if (kind == "fanout")
      return child_fanout(arg(2), arg(3));
    if (kind == "fanout-raw")
      return child_fanout_raw(arg(2), arg(3));
    if (kind == "rt" && args.size() > 3)
      return child_rt(args[2], arg(3));
    if (kind == "tcp")
      return child_tcp(arg(2));
    if (kind == "barrier")
      return child_barrier(arg(2));
    if (kind == "caf-floor")
      return child_caf_floor(arg(2));
    if (kind == "restart")
      return child_restart(arg(2), args.size() > 3);
    if (kind == "fed")
      return child_fed(arg(2), arg(3), arg(4));
    return 2;
  }
  settings cfg;
  bool big = false;
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&]() -> std::string {
      if (i + 1 >= args.size()) {
        std::cerr << "ee_benchmark: " << args[i] << " needs a value\n";
        std::exit(2);
      }
      return args[++i];
    };
    const auto& a = args[i];
    if (a == "--events")
      cfg.events = parse_count(value());
    else if (a == "--counts")
      cfg.counts = parse_counts(value());
    else if (a == "--raw-counts")
      cfg.raw_counts = parse_counts(value());
    else if (a == "--big") // 1e7 is in the default list; for --quick/--counts
      big = true;
    else if (a == "--sections")
      cfg.sections = value();
    else if (a == "--fanout-total")
      cfg.fanout_total = parse_count(value());
    else if (a == "--rt")
      cfg.rt = parse_count(value());
    else if (a == "--tcp-events")
      cfg.tcp_events = parse_count(value());
    else if (a == "--plugins")
      cfg.plugins = parse_counts(value());
    else if (a == "--restarts")
      cfg.restarts = parse_count(value());
    else if (a == "--fed-events")
      cfg.fed_events = parse_count(value());
    else if (a == "--fed-pings")
      cfg.fed_pings = parse_count(value());
    else if (a == "--repeat")
      cfg.repeat = parse_count(value());
    else if (a == "--verbose")
      cfg.verbose = true;
    else if (a == "--quick") {
      cfg.events = 100000;
      cfg.counts = {10000, 100000};
      cfg.raw_counts = {100000};
      cfg.fanout_total = 200000;
      cfg.rt = 500;
      cfg.tcp_events = 100000;
      cfg.plugins = {1000, 10000};
      cfg.restarts = 5;
      cfg.fed_events = 20000;
      cfg.fed_pings = 200;
    } else {
      usage();
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (big)
    cfg.counts.push_back(10000000);
  std::sort(cfg.counts.begin(), cfg.counts.end());
  cfg.counts.erase(std::unique(cfg.counts.begin(), cfg.counts.end()),
                   cfg.counts.end());
  std::sort(cfg.plugins.begin(), cfg.plugins.end());
  cfg.plugins.erase(std::unique(cfg.plugins.begin(), cfg.plugins.end()),
                    cfg.plugins.end());
  if (!std::getenv("EE_LOG_LEVEL"))
    ee::set_log_level(cfg.verbose ? ee::log_level::info
                                  : ee::log_level::warning);
  std::cout << std::unitbuf; // children's stderr interleaves in order
  // A watchdog: the whole benchmark must finish; SIGALRM ends the process.
  alarm(1800);
  auto t0 = clock_type::now();
  std::cout << "ee_benchmark: " << std::thread::hardware_concurrency()
            << " hardware threads; pipeline events " << cfg.events << ", sizes "
            << min_size << ".." << max_size << " bytes\n";
  auto has = [&](char c) { return cfg.sections.find(c) != std::string::npos; };
  if (has('a'))
    section_a(cfg);
  if (has('b'))
    section_b(cfg);
  if (has('c'))
    section_c(cfg);
  if (has('d'))
    section_d(cfg);
  if (has('e'))
    section_e(cfg);
  if (has('f'))
    section_f(cfg);
  print_table();
  bool all = print_summary();
  print_result_lines();
  std::cout << "\nbenchmark took " << fmt(seconds(t0, clock_type::now()))
            << " s; " << (all ? "all targets met" : "some targets missed")
            << std::endl;
  return 0;
}
