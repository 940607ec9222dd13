#include "tests/benchmark/bench_common.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <poll.h>
#include <sstream>
#include <sys/wait.h>
#include <thread>
#include <type_traits>
#include <unistd.h>

extern char** environ;

namespace ee::bench {

using namespace std::chrono_literals;

double seconds(clock_type::time_point from, clock_type::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}

// -- process helpers ----------------------------------------------------------

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

figures parse_child(const std::string& out) {
  figures kv;
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

int print_child(const figures& f) {
  std::cout << std::setprecision(10) << "CHILD";
  for (auto& [k, v] : f)
    std::cout << ' ' << k << '=' << v;
  std::cout << std::endl;
  return 0;
}

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

ee::app_config child_app_config() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
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

double process_cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + ts.tv_nsec / 1e9;
}

void set_hwm(zmq::socket_t& s, int hwm) {
  s.set(zmq::sockopt::sndhwm, hwm);
  s.set(zmq::sockopt::rcvhwm, hwm);
  s.set(zmq::sockopt::linger, 0);
}

// -- app runner ---------------------------------------------------------------

app_runner::app_runner(ee::app& a)
    : app_(a), fut_(done_.get_future()),
      thread_([this] { done_.set_value(app_.run()); }) {
  // nop
}

app_runner::~app_runner() {
  if (thread_.joinable())
    (void)finish(0ms);
}

bool app_runner::returned() const {
  return fut_.wait_for(0ms) == std::future_status::ready;
}

std::pair<ee::error, bool>
app_runner::finish(std::chrono::milliseconds timeout) {
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

std::pair<ee::error, bool> run_bounded(ee::app& a,
                                       std::chrono::milliseconds timeout) {
  app_runner r{a};
  return r.finish(timeout);
}

// -- results ------------------------------------------------------------------

namespace {

/// One line of the table.
struct row {
  std::string section;
  std::string label;
  std::string unit;
  std::optional<double> engine;
  std::optional<double> baseline;
  std::string note;
  std::string ratio; // empty: engine / baseline
};

// Written by the sections and read by main, all on the main thread.
std::vector<row> rows;
std::vector<std::string> result_lines;
std::vector<target> targets;

std::string ratio_str(const std::optional<double>& e,
                      const std::optional<double>& b) {
  if (!e || !b || *b == 0)
    return "n/a";
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << (*e / *b);
  return out.str();
}

void result_line(const std::string& name, double v, const std::string& unit,
                 const std::string& ratio) {
  std::ostringstream out;
  out << "RESULT " << name << '=' << std::setprecision(6) << v << ' ' << unit
      << " ratio=" << ratio;
  result_lines.push_back(out.str());
}

} // namespace

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

void report(const std::string& section, const std::string& name,
            const std::string& label, const std::string& unit,
            std::optional<double> engine, std::optional<double> baseline,
            std::string note) {
  rows.push_back({section, label, unit, engine, baseline, note, {}});
  if (engine)
    result_line(name, *engine, unit, ratio_str(engine, baseline));
  if (baseline)
    result_line(name + "_raw", *baseline, unit, "n/a");
}

std::optional<spread> spread_of(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(),
                         [](double x) { return std::isnan(x); }),
          v.end());
  if (v.empty())
    return std::nullopt;
  std::sort(v.begin(), v.end());
  auto mid = v.size() / 2;
  double median = v.size() % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return spread{v.front(), median, v.back()};
}

std::string spread_str(const spread& s) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2) << s.min << " / " << s.median
      << " / " << s.max;
  return out.str();
}

std::optional<spread>
report_runs(const std::string& section, const std::string& name,
            const std::string& label, const std::string& unit,
            const std::vector<double>& engine,
            const std::vector<double>& baseline, std::string note) {
  std::vector<double> ratios;
  for (std::size_t i = 0; i < engine.size() && i < baseline.size(); ++i)
    if (baseline[i] != 0)
      ratios.push_back(engine[i] / baseline[i]); // NaN stays NaN
  auto e = spread_of(engine);
  auto b = spread_of(baseline);
  auto r = spread_of(ratios);
  auto med = [](const std::optional<spread>& s) {
    return s ? std::optional<double>{s->median} : std::nullopt;
  };
  rows.push_back({section, label, unit, med(e), med(b), std::move(note),
                  r ? spread_str(*r) : "n/a"});
  auto ratio = [&](double spread::*which) {
    std::ostringstream out;
    if (r)
      out << std::fixed << std::setprecision(2) << (*r).*which;
    else
      out << "n/a";
    return out.str();
  };
  if (e) {
    result_line(name, e->median, unit, ratio(&spread::median));
    result_line(name + "_min", e->min, unit, ratio(&spread::min));
    result_line(name + "_max", e->max, unit, ratio(&spread::max));
  }
  if (b)
    result_line(name + "_raw", b->median, unit, "n/a");
  return r;
}

void print_table() {
  std::cout << "\n"
            << std::left << std::setw(4) << "sec" << std::setw(46) << "figure"
            << std::right << std::setw(14) << "engine" << std::setw(14)
            << "baseline" << std::setw(20) << "ratio"
            << "  unit / note\n"
            << std::string(122, '-') << '\n'
            << "(ratio = engine / baseline: higher is better for rates, lower "
               "for MB, % and ms; min / median / max of the rounds where "
               "a figure\n ran in interleaved rounds, the values then "
               "medians)\n";
  for (auto& r : rows) {
    std::cout << std::left << std::setw(4) << r.section << std::setw(46)
              << r.label << std::right << std::setw(14)
              << (r.engine ? fmt(*r.engine) : "-") << std::setw(14)
              << (r.baseline ? fmt(*r.baseline) : "-") << std::setw(20)
              << (r.ratio.empty() ? ratio_str(r.engine, r.baseline) : r.ratio)
              << "  " << r.unit << (r.note.empty() ? "" : "  " + r.note)
              << '\n';
  }
}

void add_target(target t) {
  targets.push_back(std::move(t));
}

bool print_summary() {
  std::cout << "\nsummary (targets)\n" << std::string(110, '-') << '\n';
  bool all = true;
  for (auto& t : targets) {
    auto verdict = !t.pass ? "n/a " : (*t.pass ? "PASS" : "FAIL");
    if (t.pass && !*t.pass)
      all = false;
    std::cout << verdict << "  " << std::left << std::setw(52) << t.what
              << t.measured << '\n';
  }
  return all;
}

void print_result_lines() {
  std::cout << "\nmachine-readable figures:\n";
  for (auto& l : result_lines)
    std::cout << l << '\n';
}

} // namespace ee::bench
