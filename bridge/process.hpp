#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

#include "bridge/keeper.hpp"
#include "ee/error.hpp"

namespace ee {

/// @returns the path of the executable `cmd` (as given if it contains a
/// '/', else looked up in PATH), or an empty string if there is none.
std::string find_executable(const std::string& cmd);

/// @returns the environment of a launched plugin: the variables of the
/// engine's environment named by `inherit` (but `EE_*`), then `own` (the
/// plugin's `env` and the EE_* variables the engine sets for it).
std::map<std::string, std::string>
plugin_environment(const std::vector<std::string>& inherit,
                   const std::map<std::string, std::string>& own);

/// A child process launched for an external plugin through the process
/// keeper (keeper.hpp): its stdout and stderr come back through pipes, it
/// leads its own process group, and nothing of its tree outlives the
/// engine. Move-only owner; not thread-safe (one thread owns it, the
/// bridge's).
class process {
public:
  process() = default;
  process(process&& other) noexcept;
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;

  /// Kills (SIGKILL) and reaps a still running child.
  ~process();

  /// Launches `argv` through `k` with exactly the environment `env`, in
  /// `dir` (empty: the current directory). @returns an error naming the
  /// command if it cannot be executed.
  [[nodiscard]] error launch(std::shared_ptr<keeper> k,
                             const std::vector<std::string>& argv,
                             const std::map<std::string, std::string>& env,
                             const std::string& dir);

  /// @returns true while the child runs (launched and not reaped).
  bool running() const noexcept { return pid_ > 0; }

  /// @returns the child's pid, or -1.
  pid_t pid() const noexcept { return pid_; }

  /// Learns whether the child exited. @returns true if it did; `normal` is
  /// true for exit code 0, `signal` is the signal that killed it (0: none)
  /// and `text` describes the exit. If the keeper is gone, kills the
  /// child's group and reports that.
  bool poll_exit(bool& normal, int& signal, std::string& text);

  /// Sends `sig` to the child.
  void signal(int sig) noexcept;

  /// SIGTERM, then SIGKILL after `grace`; reaps the child. Blocks at most
  /// about `grace`.
  void terminate(std::chrono::milliseconds grace) noexcept;

  /// The read ends of the child's stdout and stderr (-1 when closed).
  int stdout_fd() const noexcept { return out_fd_; }
  int stderr_fd() const noexcept { return err_fd_; }

  /// Reads what is available on `fd` (one of the two above) and calls
  /// `on_line` for every complete line. Closes the fd on EOF.
  template <class F>
  void drain(int fd, F on_line);

private:
  void read_into(int& fd, std::string& buf, std::vector<std::string>& lines);
  void close_fds() noexcept;

  std::shared_ptr<keeper> keeper_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int err_fd_ = -1;
  std::string out_buf_;
  std::string err_buf_;
};

template <class F>
void process::drain(int fd, F on_line) {
  std::vector<std::string> lines;
  if (fd == out_fd_ && fd >= 0)
    read_into(out_fd_, out_buf_, lines);
  else if (fd == err_fd_ && fd >= 0)
    read_into(err_fd_, err_buf_, lines);
  for (auto& line : lines)
    on_line(line);
}

} // namespace ee
