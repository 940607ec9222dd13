#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "bridge/keeper.hpp"
#include "bridge/process.hpp"
#include "bridge/seam.hpp"
#include "ee/log.hpp"

namespace ee {

/// Supervises the processes of external plugins: launches them through the
/// process keeper (which owns their trees) with their own environment,
/// forwards their output to the log, signals their process groups and
/// learns of their exits. Never blocks: a relaunch sends SIGTERM, SIGKILL
/// after a short grace, and starts the new process once the old one is
/// reaped. Owned and used by the bridge's thread only.
class children {
public:
  using clock_type = std::chrono::steady_clock;

  /// One external plugin's process settings.
  struct child_config {
    endpoint_id id;
    std::string name;
    /// argv; empty: nothing to launch.
    std::vector<std::string> command;
    /// The plugin's own environment (its `env` and the EE_* variables the
    /// engine sets for it).
    std::map<std::string, std::string> env;
    std::string working_dir;
    /// The level of the lines it writes on stderr (stdout: info).
    log_level stderr_level = log_level::warning;
  };

  /// @param grace time from SIGTERM to SIGKILL for a retired plugin.
  /// @param relaunch_grace the same for a process stopped for a relaunch.
  /// @param inherit the engine's variables every process gets (see
  /// plugin_environment).
  children(std::vector<child_config> cfgs, std::chrono::milliseconds grace,
           std::chrono::milliseconds relaunch_grace,
           std::vector<std::string> inherit);

  children(const children&) = delete;
  children& operator=(const children&) = delete;

  /// Starts the process keeper now if any plugin has a command. Call it
  /// before other threads run: the keeper is a fork without exec, and a
  /// fork while other threads hold allocator locks (the sanitizers' own
  /// allocator has no fork handlers) can leave the child deadlocked. A
  /// keeper that dies later is started again by the next launch.
  void start_keeper_early();

  /// Launches the process of `id`, or, if one runs, stops it first.
  void launch(endpoint_id id, clock_type::time_point now);

  /// The plugin is gone for good: a process whose plugin sent quit
  /// (`quit`) gets time to exit by itself, others get SIGTERM now; SIGKILL
  /// after the grace. Its exit is not reported.
  void retire(endpoint_id id, bool quit, clock_type::time_point now);

  /// Retires every process; SIGKILL at the latest at `deadline`.
  void shutdown(const std::vector<endpoint_id>& quitted,
                clock_type::time_point now, clock_type::time_point deadline);

  /// Appends the output pipes to watch (fd, owner).
  void watch(std::vector<std::pair<int, endpoint_id>>& fds) const;

  /// Forwards what `id`'s process wrote on `fd`.
  void forward(endpoint_id id, int fd);

  /// Sends due signals, reaps exited processes, reports exits and starts
  /// pending launches. @returns the time of the next timer (or max()).
  clock_type::time_point tick(clock_type::time_point now, engine_link* engine);

  /// @returns true if any process runs.
  bool any_running() const noexcept;

  /// Sends SIGKILL to every running process group, learns of their exits,
  /// then ends the keeper (what is left of the trees gets SIGTERM, SIGKILL
  /// at the shutdown deadline at the latest).
  void kill_all() noexcept;

  /// @returns the names of the plugins whose processes had to be killed
  /// (SIGKILL) because they did not stop within the grace once retired.
  const std::vector<std::string>& killed() const noexcept { return killed_; }

  /// @returns `line` with control bytes (but tab) escaped as `\xNN`, so a
  /// plugin cannot forge log lines or terminal sequences.
  static std::string escape(std::string_view line);

  /// @returns `"[name] " + escape(line)`.
  static std::string format_line(std::string_view name, std::string_view line);

private:
  struct child {
    child_config cfg;
    process proc;
    bool relaunch = false;
    bool retired = false;
    bool report_exit = false;
    // The engine sent SIGTERM / SIGKILL to its current process.
    bool terminated = false;
    bool killed = false;
    clock_type::time_point term_at = clock_type::time_point::max();
    clock_type::time_point kill_at = clock_type::time_point::max();
  };

  child* find(endpoint_id id);
  void start(child& c, engine_link* engine);
  void stop(child& c, clock_type::time_point now,
            std::chrono::milliseconds grace);
  void flush_output(child& c);
  void exited(child& c, bool normal, int sig, const std::string& text,
              engine_link* engine);
  void kill(child& c) noexcept;

  // Starts the keeper unless one runs.
  error ensure_keeper();

  // Declared before the processes: it outlives them.
  std::shared_ptr<keeper> keeper_;
  std::vector<std::string> inherit_;
  std::vector<child> children_;
  std::vector<std::string> killed_;
  // Set by shutdown(): what is left gets until then.
  clock_type::time_point end_deadline_ = clock_type::time_point::min();
  std::chrono::milliseconds grace_;
  std::chrono::milliseconds relaunch_grace_;
  // Launches requested before `tick` could report a failure.
  std::vector<endpoint_id> to_start_;
};

} // namespace ee
