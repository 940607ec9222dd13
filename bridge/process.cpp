#include "bridge/process.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
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

std::map<std::string, std::string>
plugin_environment(const std::vector<std::string>& inherit,
                   const std::map<std::string, std::string>& own) {
  auto wanted = [&inherit](const std::string& name) {
    if (name.compare(0, 3, "EE_") == 0)
      return false;
    for (auto& pattern : inherit) {
      if (!pattern.empty() && pattern.back() == '*'
              ? name.compare(0, pattern.size() - 1, pattern, 0,
                             pattern.size() - 1) == 0
              : name == pattern)
        return true;
    }
    return false;
  };
  std::map<std::string, std::string> result;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos && wanted(kv.substr(0, eq)))
      result[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (auto& [k, v] : own)
    result[k] = v;
  return result;
}

process::process(process&& other) noexcept
    : keeper_(std::move(other.keeper_)), pid_(other.pid_),
      out_fd_(other.out_fd_), err_fd_(other.err_fd_),
      out_buf_(std::move(other.out_buf_)), err_buf_(std::move(other.err_buf_)) {
  other.pid_ = -1;
  other.out_fd_ = -1;
  other.err_fd_ = -1;
}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    terminate(std::chrono::milliseconds{0});
    close_fds();
    keeper_ = std::move(other.keeper_);
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

error process::launch(std::shared_ptr<keeper> k,
                      const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env,
                      const std::string& dir) {
  if (argv.empty())
    return error{ec::launch_failed, "empty command"};
  if (running())
    terminate(std::chrono::milliseconds{1000});
  close_fds();
  out_buf_.clear();
  err_buf_.clear();
  keeper::spawn_request req;
  req.path = find_executable(argv[0]);
  if (req.path.empty())
    req.path = argv[0]; // execve reports what is wrong with it
  req.argv = argv;
  for (auto& [name, value] : env)
    req.env.push_back(name + "=" + value);
  req.dir = dir;
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    return error{ec::launch_failed, std::string{"pipe: "} + strerror(errno)};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    return error{ec::launch_failed, std::string{"pipe: "} + strerror(errno)};
  }
  req.out_fd = out[1];
  req.err_fd = err[1];
  auto pid = k->spawn(req);
  ::close(out[1]);
  ::close(err[1]);
  if (!pid) {
    ::close(out[0]);
    ::close(err[0]);
    return pid.error();
  }
  ::fcntl(out[0], F_SETFL, O_NONBLOCK);
  ::fcntl(err[0], F_SETFL, O_NONBLOCK);
  keeper_ = std::move(k);
  pid_ = *pid;
  out_fd_ = out[0];
  err_fd_ = err[0];
  return {};
}

bool process::poll_exit(bool& normal, int& sig, std::string& text) {
  if (pid_ <= 0)
    return false;
  int st = 0;
  sig = 0;
  if (!keeper_->reaped(pid_, st)) {
    if (keeper_->alive())
      return false;
    // Not the keeper's child any more: kill its group ourselves.
    ::kill(-pid_, SIGKILL);
    pid_ = -1;
    normal = false;
    sig = SIGKILL;
    text = "killed (SIGKILL): the process keeper ended unexpectedly";
    return true;
  }
  pid_ = -1;
  if (WIFEXITED(st)) {
    normal = WEXITSTATUS(st) == 0;
    text = "exited with code " + std::to_string(WEXITSTATUS(st));
  } else if (WIFSIGNALED(st)) {
    normal = false;
    sig = WTERMSIG(st);
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
  bool normal = false;
  int sig = 0;
  std::string text;
  auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
    while (std::chrono::steady_clock::now() < deadline)
      if (poll_exit(normal, sig, text))
        return true;
      else
        std::this_thread::sleep_for(std::chrono::milliseconds{2});
    return false;
  };
  auto now = std::chrono::steady_clock::now();
  if (grace.count() > 0) {
    ::kill(-pid_, SIGTERM);
    if (wait_until(now + grace))
      return;
  }
  ::kill(-pid_, SIGKILL);
  // A killed process is reaped at once; bounded all the same.
  if (!wait_until(std::chrono::steady_clock::now() + std::chrono::seconds{5}))
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
