#include "bridge/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

extern char** environ;

namespace ee {

std::string find_executable(const std::string& cmd) {
  auto executable = [](const std::string& path) {
    struct stat sb;
    return ::stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
  };
  if (cmd.find('/') != std::string::npos)
    return executable(cmd) ? cmd : std::string{};
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t pos = 0;
  while (pos <= dirs.size()) {
    auto end = dirs.find(':', pos);
    if (end == std::string::npos)
      end = dirs.size();
    auto dir = dirs.substr(pos, end - pos);
    auto full = (dir.empty() ? std::string{"."} : dir) + "/" + cmd;
    if (executable(full))
      return full;
    pos = end + 1;
  }
  return {};
}

process::process(process&& other) noexcept
    : pid_(other.pid_), out_fd_(other.out_fd_), err_fd_(other.err_fd_),
      out_buf_(std::move(other.out_buf_)), err_buf_(std::move(other.err_buf_)) {
  other.pid_ = -1;
  other.out_fd_ = -1;
  other.err_fd_ = -1;
}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    terminate(std::chrono::milliseconds{0});
    close_fds();
    pid_ = other.pid_;
    out_fd_ = other.out_fd_;
    err_fd_ = other.err_fd_;
    out_buf_ = std::move(other.out_buf_);
    err_buf_ = std::move(other.err_buf_);
    other.pid_ = -1;
    other.out_fd_ = -1;
    other.err_fd_ = -1;
  }
  return *this;
}

process::~process() {
  terminate(std::chrono::milliseconds{0});
  close_fds();
}

error process::launch(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env,
                      const std::string& dir) {
  if (argv.empty())
    return error{ec::launch_failed, "empty command"};
  if (running())
    terminate(std::chrono::milliseconds{1000});
  close_fds();
  out_buf_.clear();
  err_buf_.clear();
  // Everything the child needs is prepared before fork: after it, the child
  // only makes async-signal-safe calls.
  auto path = find_executable(argv[0]);
  if (path.empty())
    path = argv[0]; // execve reports what is wrong with it
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::map<std::string, std::string> merged;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos)
      merged[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : env)
    merged[k] = v;
  std::vector<std::string> env_strs;
  for (auto& [k, v] : merged)
    env_strs.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_strs)
    envp.push_back(const_cast<char*>(s.c_str()));
  envp.push_back(nullptr);
  int out[2], err[2], status_pipe[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return error{ec::launch_failed, std::string{"pipe: "} + strerror(errno)};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return error{ec::launch_failed, std::string{"pipe: "} + strerror(errno)};
  }
  if (::pipe2(status_pipe, O_CLOEXEC) != 0) {
    for (int fd : {out[0], out[1], err[0], err[1]})
      ::close(fd);
    return error{ec::launch_failed, std::string{"pipe: "} + strerror(errno)};
  }
  auto parent = ::getpid();
  auto pid = ::fork();
  if (pid < 0) {
    for (int fd :
         {out[0], out[1], err[0], err[1], status_pipe[0], status_pipe[1]})
      ::close(fd);
    return error{ec::launch_failed, std::string{"fork: "} + strerror(errno)};
  }
  if (pid == 0) {
    // Child.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent)
      ::_exit(127);
    ::setpgid(0, 0);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err[1], STDERR_FILENO);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0)
      ::dup2(devnull, STDIN_FILENO);
    int code = 0;
    if (!dir.empty() && ::chdir(dir.c_str()) != 0) {
      code = errno;
      (void)!::write(status_pipe[1], "c", 1);
      (void)!::write(status_pipe[1], &code, sizeof(code));
      ::_exit(127);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(path.c_str(), args.data(), envp.data());
    code = errno;
    (void)!::write(status_pipe[1], "e", 1);
    (void)!::write(status_pipe[1], &code, sizeof(code));
    ::_exit(127);
  }
  // Parent. Also set the group here: a signal to the group right after fork
  // must not miss a child that has not run setpgid yet.
  ::setpgid(pid, pid);
  ::close(out[1]);
  ::close(err[1]);
  ::close(status_pipe[1]);
  char what = 0;
  int code = 0;
  ssize_t n;
  do {
    n = ::read(status_pipe[0], &what, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1)
    (void)!::read(status_pipe[0], &code, sizeof(code));
  ::close(status_pipe[0]);
  if (n == 1) {
    ::close(out[0]);
    ::close(err[0]);
    int st = 0;
    ::waitpid(pid, &st, 0);
    if (what == 'c')
      return error{ec::launch_failed, "cannot change to directory '" + dir +
                                          "': " + strerror(code)};
    return error{ec::launch_failed,
                 "cannot execute '" + argv[0] + "': " + strerror(code)};
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  pid_ = pid;
  out_fd_ = out[0];
  err_fd_ = err[0];
  return {};
}

bool process::poll_exit(bool& normal, std::string& text) {
  if (pid_ <= 0)
    return false;
  int st = 0;
  auto r = ::waitpid(pid_, &st, WNOHANG);
  if (r == 0)
    return false;
  pid_ = -1;
  if (r < 0) {
    normal = false;
    text = std::string{"waitpid: "} + strerror(errno);
    return true;
  }
  if (WIFEXITED(st)) {
    normal = WEXITSTATUS(st) == 0;
    text = "exited with code " + std::to_string(WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    normal = false;
    text = "killed by signal " + std::to_string(WTERMSIG(st)) + " (" +
           strsignal(WTERMSIG(st)) + ")";
  } else {
    normal = false;
    text = "ended with status " + std::to_string(st);
  }
  return true;
}

void process::signal(int sig) noexcept {
  if (pid_ > 0)
    ::kill(-pid_, sig); // its own process group: its children too
}

void process::terminate(std::chrono::milliseconds grace) noexcept {
  if (pid_ <= 0)
    return;
  int st = 0;
  if (grace.count() > 0) {
    ::kill(-pid_, SIGTERM);
    auto deadline = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < deadline) {
      if (::waitpid(pid_, &st, WNOHANG) != 0) {
        pid_ = -1;
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }
  ::kill(-pid_, SIGKILL);
  ::waitpid(pid_, &st, 0);
  pid_ = -1;
}

void process::read_into(int& fd, std::string& buf,
                        std::vector<std::string>& lines) {
  char tmp[4096];
  bool eof = false;
  // At most 64 KiB per call: a chatty child must not stall the I/O thread.
  for (std::size_t total = 0; total < 65536;) {
    auto n = ::read(fd, tmp, sizeof(tmp));
    if (n > 0) {
      buf.append(tmp, static_cast<std::size_t>(n));
      total += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0) {
      eof = true;
      ::close(fd);
      fd = -1;
    }
    break;
  }
  std::size_t start = 0;
  for (;;) {
    auto nl = buf.find('\n', start);
    if (nl == std::string::npos)
      break;
    lines.push_back(buf.substr(start, nl - start));
    start = nl + 1;
  }
  buf.erase(0, start);
  // A line without end beyond 64 KiB is passed on in pieces; at EOF, the
  // last partial line (after the complete ones read with it).
  if (buf.size() > 65536 || (eof && !buf.empty())) {
    lines.push_back(std::move(buf));
    buf.clear();
  }
}

void process::close_fds() noexcept {
  if (out_fd_ >= 0)
    ::close(out_fd_);
  if (err_fd_ >= 0)
    ::close(err_fd_);
  out_fd_ = -1;
  err_fd_ = -1;
}

} // namespace ee
