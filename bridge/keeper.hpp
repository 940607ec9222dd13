#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "ee/expected.hpp"

namespace ee {

/// The process keeper: a small process forked (without exec) by the engine
/// before its first launch, which launches every plugin process and owns
/// their trees. It is a child subreaper, so every orphaned descendant of a
/// plugin (also one that left the plugin's group with `setsid`) becomes its
/// child. When the engine goes, however it goes (its end of the socket
/// closes), the keeper sends SIGTERM to every descendant, SIGKILL after the
/// grace, and exits once none is left. See docs/design.md ("Process
/// ownership").
///
/// This object is the engine's side: it asks the keeper to spawn, learns
/// of exits, and ends it. Not thread-safe (the bridge's thread owns it).
class keeper {
public:
  /// What the keeper is asked to start.
  struct spawn_request {
    /// The executable (argv[0] resolved).
    std::string path;
    std::vector<std::string> argv;
    /// The complete environment, `NAME=value` each.
    std::vector<std::string> env;
    /// Working directory (empty: the engine's).
    std::string dir;
    /// The write ends of the child's stdout and stderr pipes.
    int out_fd = -1;
    int err_fd = -1;
  };

  /// Forks the keeper. @param grace the time from SIGTERM to SIGKILL for
  /// what is left when the engine dies.
  static expected<std::shared_ptr<keeper>>
  start(std::chrono::milliseconds grace);

  keeper(const keeper&) = delete;
  keeper& operator=(const keeper&) = delete;

  /// Ends the keeper at once (`finish(0)`) if it still runs.
  ~keeper();

  /// Starts a process in its own process group. @returns its pid, or an
  /// error that names what failed (chdir, exec, fork).
  expected<pid_t> spawn(const spawn_request& req);

  /// Non-blocking. @returns true and the wait status in `status` once the
  /// keeper reaped `pid` (a process it spawned).
  bool reaped(pid_t pid, int& status);

  /// @returns false once the keeper is gone (it died or was ended).
  bool alive();

  /// Ends the keeper: what is left of every process tree gets SIGTERM,
  /// SIGKILL after `grace`; returns once the keeper exited.
  void finish(std::chrono::milliseconds grace) noexcept;

  /// @returns the keeper's pid (-1 once it is gone).
  pid_t pid() const noexcept { return pid_; }

  /// Async-signal-safe: asks every keeper of this process to kill all its
  /// processes now (SIGKILL) and exit. For a second Ctrl-C.
  static void kill_all_now() noexcept;

private:
  keeper(pid_t pid, int fd);

  // Reads what the keeper reported; `block` waits for one message.
  void read_reports(bool block);
  void lost() noexcept;

  pid_t pid_;
  int fd_;
  // Exits reported but not yet asked for: pid -> wait status.
  std::map<pid_t, int> exits_;
  // The answer to the pending spawn (kind 0: none yet).
  char spawn_kind_ = 0;
  int spawn_pid_ = 0;
  char spawn_what_ = 0;
  int spawn_errno_ = 0;
};

} // namespace ee
