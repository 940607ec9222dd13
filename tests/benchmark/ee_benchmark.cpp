// ee_benchmark: the engine against raw libzmq baselines measured in the same
// run (a program, not a test; `./dev bench` runs it).
//
//   a. the load-test pipeline (producer -> operator -> accumulator) on the
//      engine vs the original topology on libzmq (PUB -> XSUB/XPUB proxy ->
//      SUB), events/s, peak RSS, totals; the engine also at several counts
//   b. one-hop fan-out to 1, 10, 100 subscribers, engine vs inproc PUB -> K SUB
//   c. external plugin round trips through pyevents vs pyzmq REQ -> ROUTER echo
//   d. a raw TCP SUB client on the engine's subscribe port vs TCP PUB -> SUB
//   e. 1,000 actor plugins through the start barrier; restart latency
//
// Every figure is printed in a table with its ratio to the baseline, and as
// one machine-readable line `RESULT name=value unit ratio=x` (plot.py reads
// them). Every engine run happens in a child process (this program
// re-executed with `--child ...`): each has its own peak-RSS high-water mark
// (VmHWM is process-wide), and a hung or crashed engine is killed and
// reported instead of stopping the benchmark. Raw baselines run in the parent
// except the pipeline's, which also needs its own VmHWM.
//
// Diagnostic environment knobs for the engine children (docs/performance.md):
// EE_BENCH_SCHED_THREADS, EE_BENCH_PUBLISH_WINDOW, EE_BENCH_DELIVERY_WINDOW,
// EE_BENCH_QUEUE_CAPACITY, EE_BENCH_TIMERSLACK_NS; EE_LOG_LEVEL as usual.
//
//   ee_benchmark [--events N] [--counts 1e5,1e6,1e7] [--big] [--raw-counts L]
//                [--sections abcde] [--fanout-total N] [--rt N]
//                [--tcp-events N] [--plugins N] [--restarts N] [--quick]
//                [--verbose]

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <functional>
#include <future>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <poll.h>
#include <sstream>
#include <string>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include <zmq.hpp>

#include <ee/app.hpp>
#include <ee/log.hpp>

extern char** environ;

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

double seconds(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// -- settings
// ------------------------------------------------------------------

struct settings {
  std::uint64_t events = 1000000;
  std::vector<std::uint64_t> counts{100000, 1000000, 10000000};
  std::vector<std::uint64_t> raw_counts{100000, 1000000, 10000000};
  std::string sections = "abcde";
  std::uint64_t fanout_total = 2000000;
  std::uint64_t rt = 5000;
  std::uint64_t tcp_events = 1000000;
  std::size_t plugins = 1000;
  std::size_t restarts = 20;
  bool verbose = false;
};

constexpr std::size_t min_size = 100;
constexpr std::size_t max_size = 1000;

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

// -- process helpers
// -----------------------------------------------------------

/// @returns the value (kB) of `key` in /proc/self/status, e.g. "VmHWM".
long status_kb(const char* key) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  auto klen = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, klen, key) == 0 && line.size() > klen &&
        line[klen] == ':')
      return std::strtol(line.c_str() + klen + 1, nullptr, 10);
  return -1;
}

std::string self_exe() {
  char buf[4096];
  auto n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0)
    return {};
  buf[n] = '\0';
  return buf;
}

struct process_result {
  bool started = false;
  bool timed_out = false;
  int exit_code = -1;
  std::string out;
};

/// Runs `argv` with extra environment variables, captures its stdout (stderr
/// is inherited), kills it after `timeout`.
process_result run_process(const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra_env,
                           std::chrono::seconds timeout) {
  process_result res;
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<std::string> env_store;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    bool overridden = false;
    for (auto& x : extra_env)
      if (kv.compare(0, x.find('=') + 1, x, 0, x.find('=') + 1) == 0)
        overridden = true;
    if (!overridden)
      env_store.push_back(kv);
  }
  for (auto& x : extra_env)
    env_store.push_back(x);
  std::vector<char*> envp;
  for (auto& e : env_store)
    envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return res;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return res;
  }
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  res.started = true;
  close(fds[1]);
  auto deadline = clock_type::now() + timeout;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - clock_type::now())
                    .count();
    if (left <= 0) {
      res.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int rc = poll(&p, 1, static_cast<int>(std::min<long>(left, 1000)));
    if (rc < 0 && errno == EINTR)
      continue;
    if (rc <= 0)
      continue;
    auto n = read(fds[0], buf, sizeof(buf));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // EOF
    res.out.append(buf, static_cast<std::size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  // After EOF the child exits soon; bound the wait anyway.
  for (int i = 0; i < 1000; ++i) {
    auto r = waitpid(pid, &status, WNOHANG);
    if (r == pid)
      break;
    if (i == 999) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
    }
    std::this_thread::sleep_for(10ms);
  }
  if (WIFEXITED(status))
    res.exit_code = WEXITSTATUS(status);
  return res;
}

/// Parses the last line `CHILD k=v k=v ...` of `out`.
std::map<std::string, double> parse_child(const std::string& out) {
  std::map<std::string, double> kv;
  std::istringstream in{out};
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CHILD ", 0) != 0)
      continue;
    kv.clear();
    std::istringstream words{line.substr(6)};
    std::string w;
    while (words >> w) {
      auto eq = w.find('=');
      if (eq != std::string::npos)
        kv[w.substr(0, eq)] = std::strtod(w.c_str() + eq + 1, nullptr);
    }
  }
  return kv;
}

using figures = std::map<std::string, double>;

/// Child mode: prints `figures` as one CHILD line for the parent.
int print_child(const figures& f) {
  std::cout << std::setprecision(10) << "CHILD";
  for (auto& [k, v] : f)
    std::cout << ' ' << k << '=' << v;
  std::cout << std::endl;
  return 0;
}

/// Runs this program with `--child args...` (every engine measurement runs in
/// a child: a fresh VmHWM, and a hung or crashed engine cannot stop the
/// benchmark). @returns the child's figures, or nothing if it failed.
std::optional<figures> run_child(const std::vector<std::string>& args,
                                 std::chrono::seconds timeout) {
  std::vector<std::string> argv{self_exe(), "--child"};
  argv.insert(argv.end(), args.begin(), args.end());
  auto res = run_process(argv, {}, timeout);
  {
    std::istringstream in{res.out};
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("# ", 0) == 0)
        std::cout << line << '\n';
      else if (line.rfind("*** ", 0) == 0) // CAF's print_and_drop
        std::cout << "# child: " << line << '\n';
  }
  auto kv = parse_child(res.out);
  if (!res.started || res.timed_out || kv.empty()) {
    std::cout << "# child";
    for (auto& a : args)
      std::cout << ' ' << a;
    std::cout << ": FAILED"
              << (res.timed_out ? " (killed after timeout: engine hung)" : "")
              << ", exit code " << res.exit_code << std::endl;
    return std::nullopt;
  }
  return kv;
}

/// Diagnostic knobs for experiments (docs/performance.md): the engine's
/// tunables from the environment, applied to every engine run of a child.
///   EE_BENCH_SCHED_THREADS, EE_BENCH_PUBLISH_WINDOW,
///   EE_BENCH_DELIVERY_WINDOW, EE_BENCH_QUEUE_CAPACITY (and, in main,
///   EE_BENCH_TIMERSLACK_NS)
ee::app_config& apply_knobs(ee::app_config& cfg) {
  auto knob = [](const char* name, auto& field) {
    if (auto v = std::getenv(name))
      field = static_cast<std::decay_t<decltype(field)>>(
          std::strtoull(v, nullptr, 10));
  };
  knob("EE_BENCH_SCHED_THREADS", cfg.scheduler_threads);
  knob("EE_BENCH_PUBLISH_WINDOW", cfg.publish_window);
  knob("EE_BENCH_DELIVERY_WINDOW", cfg.delivery_window);
  knob("EE_BENCH_QUEUE_CAPACITY", cfg.queue_capacity);
  return cfg;
}

/// Runs `app.run()` on a thread (child mode only). `finish` waits for it to
/// return, stops the app after a timeout, and ends the process if run() still
/// has not returned 15 s after stop(): the engine hung (the parent reports it).
class app_runner {
public:
  explicit app_runner(ee::app& a)
      : app_(a), fut_(done_.get_future()),
        thread_([this] { done_.set_value(app_.run()); }) {
    // nop
  }

  app_runner(const app_runner&) = delete;
  app_runner& operator=(const app_runner&) = delete;

  ~app_runner() {
    if (thread_.joinable())
      (void)finish(0ms);
  }

  /// @returns run()'s error and whether the app had to be stopped.
  std::pair<ee::error, bool> finish(std::chrono::milliseconds timeout) {
    bool forced = false;
    if (fut_.wait_for(timeout) != std::future_status::ready) {
      forced = true;
      app_.stop();
      if (fut_.wait_for(15s) != std::future_status::ready) {
        std::cout << "# ENGINE HANG: app::run() did not return within 15 s "
                     "after app::stop()"
                  << std::endl;
        std::_Exit(3);
      }
    }
    auto err = fut_.get();
    thread_.join();
    return {err, forced};
  }

private:
  ee::app& app_;
  std::promise<ee::error> done_;
  std::future<ee::error> fut_;
  std::thread thread_;
};

/// Runs `a.run()`, stopping it after `timeout`.
std::pair<ee::error, bool> run_bounded(ee::app& a,
                                       std::chrono::milliseconds timeout) {
  app_runner r{a};
  return r.finish(timeout);
}

void set_hwm(zmq::socket_t& s, int hwm) {
  s.set(zmq::sockopt::sndhwm, hwm);
  s.set(zmq::sockopt::rcvhwm, hwm);
  s.set(zmq::sockopt::linger, 0);
}

// -- a. pipeline: engine
// ---------------------------------------------------------

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

/// Child mode: the engine pipeline; prints one CHILD line.
int child_engine_pipeline(std::uint64_t n) {
  long start_kb = status_kb("VmRSS");
  pipeline_shared s;
  s.n = n;
  ee::app_config cfg;
  cfg.enable_tcp = false;
  ee::app app{apply_knobs(cfg)};
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

// -- a. pipeline: raw libzmq, the original topology
// -----------------------------
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

// -- results
// -----------------------------------------------------------------------

struct row {
  std::string section;
  std::string label;
  std::string unit;
  std::optional<double> engine;
  std::optional<double> baseline;
  std::string note;
};

std::vector<row> rows;
std::vector<std::string> result_lines;

std::string fmt(double v) {
  std::ostringstream out;
  if (std::abs(v) >= 1000)
    out << std::fixed << std::setprecision(0) << v;
  else if (std::abs(v) >= 10)
    out << std::fixed << std::setprecision(1) << v;
  else
    out << std::fixed << std::setprecision(3) << v;
  return out.str();
}

std::string ratio_str(const std::optional<double>& e,
                      const std::optional<double>& b) {
  if (!e || !b || *b == 0)
    return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << (*e / *b);
  return out.str();
}

/// Records a figure: the engine value and optionally its baseline; emits
/// RESULT lines for both (the baseline's own line has ratio=n/a).
void report(const std::string& section, const std::string& name,
            const std::string& label, const std::string& unit,
            std::optional<double> engine, std::optional<double> baseline,
            std::string note = {}) {
  rows.push_back({section, label, unit, engine, baseline, note});
  auto line = [&](const std::string& n, double v, const std::string& r) {
    std::ostringstream out;
    out << "RESULT " << n << '=' << std::setprecision(6) << v << ' ' << unit
        << " ratio=" << r;
    result_lines.push_back(out.str());
  };
  if (engine)
    line(name, *engine, ratio_str(engine, baseline));
  if (baseline)
    line(name + "_raw", *baseline, "n/a");
}

void print_table() {
  std::cout << "\n"
            << std::left << std::setw(4) << "sec" << std::setw(46) << "figure"
            << std::right << std::setw(14) << "engine" << std::setw(14)
            << "baseline" << std::setw(8) << "ratio"
            << "  unit / note\n"
            << std::string(110, '-') << '\n'
            << "(ratio = engine / baseline: higher is better for rates, lower "
               "for MB, % and ms)\n";
  for (auto& r : rows) {
    std::cout << std::left << std::setw(4) << r.section << std::setw(46)
              << r.label << std::right << std::setw(14)
              << (r.engine ? fmt(*r.engine) : "-") << std::setw(14)
              << (r.baseline ? fmt(*r.baseline) : "-") << std::setw(8)
              << ratio_str(r.engine, r.baseline) << "  " << r.unit
              << (r.note.empty() ? "" : "  " + r.note) << '\n';
  }
}

struct target {
  std::string what;
  std::string measured;
  std::optional<bool> pass; // nullopt = not measured
};

std::vector<target> targets;

// -- a. driver
// -------------------------------------------------------------------

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
    targets.push_back(
        {"pipeline >= 1.5x raw libzmq (" + count_name(cfg.events) + " events)",
         m.str(), ratio >= 1.5});
  } else {
    targets.push_back({"pipeline >= 1.5x raw libzmq", "run failed", false});
  }
  for (std::uint64_t n : {std::uint64_t{1000000}, std::uint64_t{10000000}}) {
    auto i = eng.find(n);
    std::string what = count_name(n) + " events: 0 lost, peak RSS <= 64 MB";
    if (i == eng.end()) {
      targets.push_back({what, "not run (see --counts)", std::nullopt});
      continue;
    }
    auto& f = i->second;
    std::ostringstream m;
    m << f.lost << " lost, totals " << (f.totals_ok ? "exact" : "WRONG")
      << ", peak " << fmt(f.peak_mb) << " MB";
    targets.push_back(
        {what, m.str(), f.ok && f.lost == 0 && f.totals_ok && f.peak_mb <= 64});
  }
}

// -- b. fan-out
// --------------------------------------------------------------------

constexpr std::string_view fan_type = "FanData";
constexpr std::size_t fan_event_size = 100;

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

/// Child mode: the engine's fan-out to `k` subscribers of `n` events.
int child_fanout(std::size_t k, std::uint64_t n) {
  fan_shared s;
  s.n = n;
  s.k = k;
  s.first.resize(k);
  s.counts.resize(k);
  ee::app_config cfg;
  cfg.enable_tcp = false;
  ee::app app{apply_knobs(cfg)};
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

void section_b(const settings& cfg) {
  std::cout << "\n== b. one-hop fan-out (events of " << fan_event_size
            << " bytes, ~" << cfg.fanout_total << " deliveries per case) ==\n";
  bool all_shared = true;
  bool all_ok = true;
  for (std::size_t k : {1, 10, 100}) {
    std::uint64_t n = cfg.fanout_total / k;
    auto e = fan_engine(k, n);
    auto r = fan_raw(k, n);
    std::cout << "# fan-out " << k << " x " << n << ": engine "
              << fmt(e.deliveries_per_s) << " deliveries/s ("
              << (e.ok ? "all delivered" : "INCOMPLETE") << "), raw "
              << fmt(r.deliveries_per_s) << " deliveries/s ("
              << (r.ok ? "all delivered" : "INCOMPLETE")
              << "), shared buffer: " << (e.shared ? "yes" : "no") << std::endl;
    all_shared = all_shared && e.shared;
    all_ok = all_ok && e.ok;
    auto ks = std::to_string(k);
    report("b", "fanout_deliveries_k" + ks,
           "fan-out to " + ks + " subs (" + std::to_string(n) + " ev)",
           "deliveries/s",
           e.ok ? std::optional<double>{e.deliveries_per_s} : std::nullopt,
           r.ok ? std::optional<double>{r.deliveries_per_s} : std::nullopt,
           std::string{"shared buffer: "} + (e.shared ? "yes" : "no"));
  }
  std::cout << "shared buffer: " << (all_shared ? "yes" : "no") << std::endl;
  targets.push_back({"fan-out shares one buffer",
                     std::string{"shared buffer: "} +
                         (all_shared ? "yes" : "no") +
                         (all_ok ? "" : " (some run incomplete)"),
                     all_shared && all_ok});
}

// -- c. external plugin round trips
// ---------------------------------------------

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

/// Child mode: round trips of a Python client (`mode`) through the engine.
int child_rt(const std::string& mode, std::uint64_t n) {
  ee::app_config acfg;
  acfg.enable_tcp = false;
  acfg.publish_port = 0;
  acfg.subscribe_port = 0;
  ee::app app{apply_knobs(acfg)};
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

void section_c(const settings& cfg) {
  std::cout << "\n== c. external plugin round trips (pyevents, N = " << cfg.rt
            << " publish + next_msg) ==\n";
  auto engine_rt = [&](const std::string& mode) -> std::optional<double> {
    if (auto kv = run_child({"rt", mode, std::to_string(cfg.rt)}, 300s))
      if ((*kv)["ok"] != 0)
        return (*kv)["rt_per_s"];
    return std::nullopt;
  };
  std::optional<double> eng_rt = engine_rt("pyevents");
  std::optional<double> eng_bare_rt = engine_rt("bare");
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
  auto show = [](const std::optional<double>& v) {
    return v ? fmt(*v) : std::string{"-"};
  };
  std::cout << "# round trips/s: pyevents->engine " << show(eng_rt)
            << ", REQ->engine " << show(eng_bare_rt) << ", REQ->echo "
            << show(raw_rt) << ", pyevents->echo " << show(raw_py_rt)
            << std::endl;
  report("c", "pyevents_round_trips", "pyevents -> engine round trips",
         "round trips/s", eng_rt, raw_rt,
         "pyevents publish_msg + get_next_msg vs pyzmq REQ -> C++ ROUTER echo");
  // Diagnostics: which side costs what.
  report("c", "rt_engine_bare_req", "pyzmq REQ -> engine round trips",
         "round trips/s", eng_bare_rt, raw_rt, "engine cost alone");
  report("c", "rt_pyevents_echo", "pyevents -> ROUTER echo round trips",
         "round trips/s", raw_py_rt, raw_rt, "pyevents client cost alone");
  if (eng_rt && raw_rt) {
    double ratio = *eng_rt / *raw_rt;
    std::ostringstream m;
    m << std::fixed << std::setprecision(2) << ratio << "x (" << fmt(*eng_rt)
      << " vs " << fmt(*raw_rt) << " /s)";
    targets.push_back(
        {"pyevents round trips >= 0.85x raw", m.str(), ratio >= 0.85});
  } else {
    targets.push_back(
        {"pyevents round trips >= 0.85x raw", "run failed", false});
  }
}

// -- d. raw TCP subscribers
// --------------------------------------------------------

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

/// Child mode: a raw TCP SUB client on the engine's subscribe port.
int child_tcp(std::uint64_t n) {
  tcp_shared s;
  s.n = n;
  ee::app_config acfg;
  acfg.enable_tcp = true;
  acfg.publish_port = 0;
  acfg.subscribe_port = 0;
  acfg.bind_address = "127.0.0.1";
  ee::app app{apply_knobs(acfg)};
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

void section_d(const settings& cfg) {
  std::cout << "\n== d. raw TCP SUB client, " << cfg.tcp_events << " events of "
            << fan_event_size
            << " bytes (default HWMs: slow subscribers drop) ==\n";
  tcp_figures eng, raw;
  if (auto kv = run_child({"tcp", std::to_string(cfg.tcp_events)}, 300s)) {
    eng.ok = (*kv)["ok"] != 0;
    eng.recv_per_s = (*kv)["recv_per_s"];
    eng.sent_per_s = (*kv)["sent_per_s"];
    eng.dropped_pct = (*kv)["dropped_pct"];
  }
  {
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
      tcp_produce(
          s, [&](std::string_view bytes) { pub.send(zmq::buffer(bytes)); });
      auto give_up = clock_type::now() + 130s;
      while (!s.client_done && clock_type::now() < give_up)
        std::this_thread::sleep_for(5ms);
    }};
    tcp_client(ctx, ep_f.get(), s);
    producer.join();
    raw = figures_of(s);
  }
  auto opt = [](bool ok, double v) {
    return ok ? std::optional<double>{v} : std::nullopt;
  };
  std::cout << "# engine: received " << fmt(eng.recv_per_s) << "/s, dropped "
            << fmt(eng.dropped_pct) << " %; raw: received "
            << fmt(raw.recv_per_s) << "/s, dropped " << fmt(raw.dropped_pct)
            << " %" << std::endl;
  report("d", "tcp_sub_received", "TCP SUB client: received", "events/s",
         opt(eng.ok, eng.recv_per_s), opt(raw.ok, raw.recv_per_s));
  report("d", "tcp_sub_sent", "TCP SUB client: publisher rate", "events/s",
         opt(eng.ok, eng.sent_per_s), opt(raw.ok, raw.sent_per_s));
  report("d", "tcp_sub_dropped", "TCP SUB client: dropped", "%",
         opt(eng.ok, eng.dropped_pct), opt(raw.ok, raw.dropped_pct),
         "ZeroMQ PUB/SUB semantics");
}

// -- e. barrier and restarts
// -------------------------------------------------------

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

/// Child mode: `k` actor plugins through the start barrier.
int child_barrier(std::size_t k) {
  barrier_shared s;
  s.k = k;
  ee::app_config acfg;
  acfg.enable_tcp = false;
  ee::app app{apply_knobs(acfg)};
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

/// Child mode: restart latency of a crashing plugin, `rounds` times.
int child_restart(std::size_t rounds, bool verbose) {
  restart_shared s;
  ee::app_config acfg;
  acfg.enable_tcp = false;
  acfg.max_restarts = rounds * 2 + 10;
  acfg.restart_period = std::chrono::milliseconds{600000};
  ee::app app{apply_knobs(acfg)};
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
  targets.push_back(
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

// -- main
// ----------------------------------------------------------------------------

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
         "                    [--raw-counts LIST] [--sections abcde]\n"
         "                    [--fanout-total N] [--rt N] [--tcp-events N]\n"
         "                    [--plugins N] [--restarts N] [--quick] "
         "[--verbose]\n"
         "  --events N        pipeline events compared with raw libzmq (1e6)\n"
         "  --counts LIST     engine pipeline event counts (1e5,1e6,1e7)\n"
         "  --big             add 1e7 to --counts (e.g. with --quick)\n"
         "  --raw-counts LIST counts at which raw libzmq also runs "
         "(1e5,1e6,1e7)\n"
         "  --sections LETTERS which sections run (abcde): a pipeline, b "
         "fan-out,\n"
         "                    c pyevents round trips, d TCP SUB, e "
         "barrier+restart\n"
         "  --fanout-total N  deliveries per fan-out case (2e6)\n"
         "  --rt N            round-trip pairs of the Python clients (5000)\n"
         "  --tcp-events N    events for the TCP SUB client (1e6)\n"
         "  --plugins N       actor plugins through the barrier (1000)\n"
         "  --restarts N      crashes for the restart latency (20)\n"
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
    if (kind == "fanout")
      return child_fanout(arg(2), arg(3));
    if (kind == "rt" && args.size() > 3)
      return child_rt(args[2], arg(3));
    if (kind == "tcp")
      return child_tcp(arg(2));
    if (kind == "barrier")
      return child_barrier(arg(2));
    if (kind == "restart")
      return child_restart(arg(2), args.size() > 3);
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
      cfg.plugins = parse_count(value());
    else if (a == "--restarts")
      cfg.restarts = parse_count(value());
    else if (a == "--verbose")
      cfg.verbose = true;
    else if (a == "--quick") {
      cfg.events = 100000;
      cfg.counts = {10000, 100000};
      cfg.raw_counts = {100000};
      cfg.fanout_total = 200000;
      cfg.rt = 500;
      cfg.tcp_events = 100000;
      cfg.restarts = 5;
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
  print_table();
  std::cout << "\nsummary (targets)\n" << std::string(110, '-') << '\n';
  bool all = true;
  for (auto& t : targets) {
    auto verdict = !t.pass ? "n/a " : (*t.pass ? "PASS" : "FAIL");
    if (t.pass && !*t.pass)
      all = false;
    std::cout << verdict << "  " << std::left << std::setw(52) << t.what
              << t.measured << '\n';
  }
  std::cout << "\nmachine-readable figures:\n";
  for (auto& l : result_lines)
    std::cout << l << '\n';
  std::cout << "\nbenchmark took " << fmt(seconds(t0, clock_type::now()))
            << " s; " << (all ? "all targets met" : "some targets missed")
            << std::endl;
  return 0;
}
