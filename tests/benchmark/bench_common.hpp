// The shared parts of ee_benchmark: settings, process and child helpers, the
// app runner of the engine children, and the results (table, targets,
// RESULT lines). Each section (section_*.cpp) uses these; main.cpp runs them.

#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <future>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <zmq.hpp>

#include <ee/app.hpp>

namespace ee::bench {

using clock_type = std::chrono::steady_clock;

/// @returns the seconds from `from` to `to`.
double seconds(clock_type::time_point from, clock_type::time_point to);

// -- settings -----------------------------------------------------------------

/// What to run and how much of it (command-line flags, see `usage()`).
struct settings {
  std::uint64_t events = 1000000;
  std::vector<std::uint64_t> counts{100000, 1000000, 10000000};
  std::vector<std::uint64_t> raw_counts{100000, 1000000, 10000000};
  std::string sections = "abcdef";
  std::uint64_t fanout_total = 2000000;
  std::uint64_t rt = 5000;
  std::uint64_t tcp_events = 1000000;
  /// Section e: idle actor plugins through the barrier, one child per count.
  std::vector<std::uint64_t> plugins{1000, 100000};
  std::size_t restarts = 20;
  /// Section f: events across the federation links, then round trips.
  std::uint64_t fed_events = 200000;
  std::uint64_t fed_pings = 2000;
  /// Every section: interleaved rounds of engine and baseline runs; each
  /// figure is judged on its worst round.
  std::size_t repeat = 5;
  bool verbose = false;
};

/// The smallest and largest pipeline event (section a): sizes cycle through
/// min_size..max_size bytes.
inline constexpr std::size_t min_size = 100;
inline constexpr std::size_t max_size = 1000;

/// The size of the events of the fan-out (b) and TCP SUB (d) sections.
inline constexpr std::size_t fan_event_size = 100;

// -- process helpers ----------------------------------------------------------

/// @returns the value (kB) of `key` in /proc/self/status, e.g. "VmHWM".
long status_kb(const char* key);

/// @returns the path of this program (/proc/self/exe), empty on error.
std::string self_exe();

/// What `run_process` saw of a child process.
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
                           std::chrono::seconds timeout);

/// Figures of a child: name -> value.
using figures = std::map<std::string, double>;

/// Parses the last line `CHILD k=v k=v ...` of `out`.
figures parse_child(const std::string& out);

/// Child mode: prints `figures` as one CHILD line for the parent.
/// @returns 0, the child's exit code.
int print_child(const figures& f);

/// Runs this program with `--child args...` (every engine measurement runs in
/// a child: a fresh VmHWM, and a hung or crashed engine cannot stop the
/// benchmark). @returns the child's figures, or nothing if it failed.
std::optional<figures> run_child(const std::vector<std::string>& args,
                                 std::chrono::seconds timeout);

/// @returns the settings every engine child starts from: no TCP ports
/// (`enable_tcp = false`) and the diagnostic knobs for experiments
/// (docs/performance.md), the engine's tunables from the environment:
///   EE_BENCH_SCHED_THREADS, EE_BENCH_PUBLISH_WINDOW,
///   EE_BENCH_DELIVERY_WINDOW, EE_BENCH_QUEUE_CAPACITY (and, in main,
///   EE_BENCH_TIMERSLACK_NS)
ee::app_config child_app_config();

/// @returns the CPU time of the whole process so far (every thread), s.
double process_cpu_seconds();

/// Sets SNDHWM and RCVHWM of `s` to `hwm` and its linger to 0.
void set_hwm(zmq::socket_t& s, int hwm);

// -- app runner ---------------------------------------------------------------

/// Runs `app.run()` on a thread (child mode only). `finish` waits for it to
/// return, stops the app after a timeout, and ends the process if run() still
/// has not returned 15 s after stop(): the engine hung (the parent reports it).
/// Not thread-safe: one thread owns the runner.
class app_runner {
public:
  /// Starts `a.run()` on a thread of its own.
  explicit app_runner(ee::app& a);

  app_runner(const app_runner&) = delete;
  app_runner& operator=(const app_runner&) = delete;

  /// Finishes without waiting (see `finish`).
  ~app_runner();

  /// @returns whether run() has returned.
  bool returned() const;

  /// @returns run()'s error and whether the app had to be stopped.
  std::pair<ee::error, bool> finish(std::chrono::milliseconds timeout);

private:
  ee::app& app_;
  std::promise<ee::error> done_;
  std::future<ee::error> fut_;
  std::thread thread_;
};

/// Runs `a.run()`, stopping it after `timeout`.
/// @returns run()'s error and whether the app had to be stopped.
std::pair<ee::error, bool> run_bounded(ee::app& a,
                                       std::chrono::milliseconds timeout);

// -- results ------------------------------------------------------------------

/// @returns `v` with 0, 1 or 3 decimals depending on its magnitude.
std::string fmt(double v);

/// Records a figure: the engine value and optionally its baseline; emits
/// RESULT lines for both (the baseline's own line has ratio=n/a).
/// @param section the section's letter, first column of the table
/// @param name the RESULT name (the baseline's gets `_raw` appended)
/// @param label the table's text for the figure
void report(const std::string& section, const std::string& name,
            const std::string& label, const std::string& unit,
            std::optional<double> engine, std::optional<double> baseline,
            std::string note = {});

/// The minimum, median and maximum of some runs.
struct spread {
  double min = 0;
  double median = 0;
  double max = 0;
};

/// @returns the spread of `v`, or nothing if `v` is empty.
std::optional<spread> spread_of(std::vector<double> v);

/// @returns "min / median / max" of `s` with two decimals.
std::string spread_str(const spread& s);

/// Records a figure measured in interleaved rounds: `engine[i]` and
/// `baseline[i]` come from round i (NaN: that run failed). The table shows
/// the medians and the min / median / max of the per-round ratios; RESULT
/// lines: `name` (median, its ratio the median ratio), `name_min` and
/// `name_max` (the smallest and largest value, each with the smallest and
/// largest ratio), and the baseline's `name_raw` (median).
/// @returns the spread of the per-round ratios (nothing if no round has
/// both figures).
std::optional<spread>
report_runs(const std::string& section, const std::string& name,
            const std::string& label, const std::string& unit,
            const std::vector<double>& engine,
            const std::vector<double>& baseline, std::string note = {});

/// A target of the summary.
struct target {
  std::string what;
  std::string measured;
  std::optional<bool> pass; // nullopt = not measured
};

/// Adds `t` to the summary.
void add_target(target t);

/// Prints every figure `report` recorded as a table.
void print_table();

/// Prints the summary of the targets. @returns whether none failed.
bool print_summary();

/// Prints the RESULT lines of every figure `report` recorded.
void print_result_lines();

} // namespace ee::bench
