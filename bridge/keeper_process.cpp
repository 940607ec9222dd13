#include "bridge/keeper_process.hpp"

// Runs in the keeper, a child forked from a multithreaded engine without
// exec: only system calls and malloc (which glibc keeps usable after fork)
// here; no logging, no locks the parent may hold, no exceptions out.

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <vector>

namespace ee::keeper_wire {

namespace {

// Plugin processes spawned and not reaped (each leads its own group).
std::vector<pid_t> plugins;

// The socket to the engine (after the fork: fd 3).
int sock = -1;
int sig_fd = -1;

long long now_ms() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

void pause_ms(int ms) {
  pollfd p{sig_fd, POLLIN, 0};
  ::poll(&p, 1, ms);
  signalfd_siginfo info;
  while (::read(sig_fd, &info, sizeof(info)) > 0) {
    // nop: SIGCHLD only wakes us
  }
}

void send_msg(char kind, int a, int b, int c) {
  header h{kind, a, b, c};
  // The engine may be gone: no SIGPIPE (MSG_NOSIGNAL), nothing to do.
  (void)!::send(sock, &h, sizeof(h), MSG_NOSIGNAL);
}

// Reaps every child that exited; reports the plugin processes among them.
void reap(bool report) {
  int st = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &st, WNOHANG)) > 0) {
    auto i = std::find(plugins.begin(), plugins.end(), pid);
    if (i == plugins.end())
      continue; // an orphan the keeper adopted
    plugins.erase(i);
    if (report)
      send_msg(exited, pid, st, 0);
  }
}

// @returns the parent pid in /proc/<name>/stat, or -1.
pid_t parent_of(const char* name) {
  char path[300];
  std::snprintf(path, sizeof(path), "/proc/%s/stat", name);
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return -1;
  char buf[512];
  auto n = ::read(fd, buf, sizeof(buf) - 1);
  ::close(fd);
  if (n <= 0)
    return -1;
  buf[n] = '\0';
  // "pid (comm) state ppid ...": comm may contain anything but ends at the
  // last ')'.
  char* end = std::strrchr(buf, ')');
  if (end == nullptr)
    return -1;
  char state = 0;
  int ppid = -1;
  if (std::sscanf(end + 1, " %c %d", &state, &ppid) != 2)
    return -1;
  return ppid;
}

// @returns every live descendant of the keeper (from the /proc parent
// links; with the subreaper, orphans are its children).
std::vector<pid_t> descendants() {
  std::vector<std::pair<pid_t, pid_t>> procs; // (pid, ppid)
  int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0)
    return {};
  alignas(8) char buf[8192];
  for (;;) {
    auto n = ::syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      auto* d = reinterpret_cast<dirent64*>(buf + off);
      off += d->d_reclen;
      if (d->d_name[0] < '0' || d->d_name[0] > '9')
        continue;
      auto ppid = parent_of(d->d_name);
      if (ppid > 0)
        procs.emplace_back(std::atoi(d->d_name), ppid);
    }
  }
  ::close(dir);
  std::vector<pid_t> result;
  std::vector<pid_t> parents{::getpid()};
  // Breadth-first over the parent links.
  for (std::size_t i = 0; i < parents.size(); ++i)
    for (auto& [pid, ppid] : procs)
      if (ppid == parents[i]) {
        result.push_back(pid);
        parents.push_back(pid);
      }
  return result;
}

// Signals every plugin group and every descendant. @returns the number of
// descendants found.
std::size_t signal_tree(int sig) {
  for (auto pid : plugins)
    ::kill(-pid, sig);
  auto all = descendants();
  for (auto pid : all)
    ::kill(pid, sig);
  return all.size();
}

// SIGTERM to everything left, SIGKILL after `grace_ms`; exits once the
// keeper has no descendant left (bounded: a process stuck in the kernel
// does not keep it forever).
[[noreturn]] void end_all(int grace_ms) {
  auto deadline = now_ms() + grace_ms;
  if (grace_ms > 0 && signal_tree(SIGTERM) > 0) {
    while (now_ms() < deadline) {
      reap(false);
      if (descendants().empty())
        break;
      pause_ms(10);
    }
  }
  auto give_up = now_ms() + 10000;
  while (now_ms() < give_up) {
    reap(false);
    if (signal_tree(SIGKILL) == 0)
      break;
    pause_ms(5);
  }
  reap(false);
  ::_exit(0);
}

// In the plugin's process, after fork: set it up and exec (or report).
[[noreturn]] void exec_child(char* path, char* dir, char** argv, char** envp,
                             int out_fd, int err_fd, int status_fd) {
  ::setpgid(0, 0);
  ::dup2(out_fd, STDOUT_FILENO);
  ::dup2(err_fd, STDERR_FILENO);
  int devnull = ::open("/dev/null", O_RDONLY);
  if (devnull >= 0 && devnull != STDIN_FILENO) {
    ::dup2(devnull, STDIN_FILENO);
    ::close(devnull);
  }
  // Only 0, 1, 2 (and the status pipe, close-on-exec) reach the program.
  if (status_fd > 3)
    ::close_range(3, status_fd - 1, 0);
  ::close_range(status_fd + 1, ~0U, 0);
  int code = 0;
  if (dir[0] != '\0' && ::chdir(dir) != 0) {
    code = errno;
    (void)!::write(status_fd, "c", 1);
    (void)!::write(status_fd, &code, sizeof(code));
    ::_exit(127);
  }
  for (int s = 1; s < NSIG; ++s)
    ::signal(s, SIG_DFL);
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  ::execve(path, argv, envp);
  code = errno;
  (void)!::write(status_fd, "e", 1);
  (void)!::write(status_fd, &code, sizeof(code));
  ::_exit(127);
}

// Forks and execs one plugin; answers with `spawned`.
void spawn_one(char* strings, std::size_t size, int argc, int envc, int out_fd,
               int err_fd) {
  std::vector<char*> parts;
  for (std::size_t i = 0; i < size; i += std::strlen(strings + i) + 1)
    parts.push_back(strings + i);
  if (out_fd < 0 || err_fd < 0 || argc < 1 || envc < 0 ||
      parts.size() != 2 + static_cast<std::size_t>(argc + envc))
    return send_msg(spawned, 0, 'f', EINVAL);
  std::vector<char*> argv(parts.begin() + 2, parts.begin() + 2 + argc);
  argv.push_back(nullptr);
  std::vector<char*> envp(parts.begin() + 2 + argc, parts.end());
  envp.push_back(nullptr);
  int status[2];
  if (::pipe2(status, O_CLOEXEC) != 0)
    return send_msg(spawned, 0, 'f', errno);
  auto pid = ::fork();
  if (pid == 0)
    exec_child(parts[0], parts[1], argv.data(), envp.data(), out_fd, err_fd,
               status[1]);
  int err = errno;
  ::close(status[1]);
  if (pid < 0) {
    ::close(status[0]);
    return send_msg(spawned, 0, 'f', err);
  }
  // Here too: a signal to the group right after the answer must not miss a
  // child that has not run setpgid yet.
  ::setpgid(pid, pid);
  char what = 0;
  int code = 0;
  ssize_t n;
  do {
    n = ::read(status[0], &what, 1);
  } while (n < 0 && errno == EINTR);
  if (n == 1)
    (void)!::read(status[0], &code, sizeof(code));
  ::close(status[0]);
  if (n == 1) {
    int st = 0;
    ::waitpid(pid, &st, 0);
    return send_msg(spawned, 0, what, code);
  }
  plugins.push_back(pid);
  send_msg(spawned, pid, 0, 0);
}

// Receives one message (with its fds). @returns false on EOF or error.
bool serve_one(std::vector<char>& buf) {
  iovec iov{buf.data(), buf.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(2 * sizeof(int))];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = ctl;
  msg.msg_controllen = sizeof(ctl);
  auto n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  if (n < 0 && (errno == EINTR || errno == EAGAIN))
    return true;
  if (n < static_cast<ssize_t>(sizeof(header)))
    return false;
  int fds[2] = {-1, -1};
  auto* cm = CMSG_FIRSTHDR(&msg);
  if (cm != nullptr && cm->cmsg_type == SCM_RIGHTS)
    std::memcpy(fds, CMSG_DATA(cm),
                std::min<std::size_t>(cm->cmsg_len - CMSG_LEN(0), sizeof(fds)));
  header h;
  std::memcpy(&h, buf.data(), sizeof(h));
  if (h.kind == spawn && (msg.msg_flags & MSG_TRUNC) == 0) {
    auto* strings = buf.data() + sizeof(h);
    spawn_one(strings, static_cast<std::size_t>(n) - sizeof(h), h.a, h.b,
              fds[0], fds[1]);
  } else if (h.kind == end) {
    end_all(h.a);
  } else if (h.kind == kill_now) {
    end_all(0);
  }
  for (int fd : fds)
    if (fd >= 0)
      ::close(fd);
  return true;
}

} // namespace

void keeper_main(int fd, int grace_ms) {
  // Its own group: a Ctrl-C at the terminal does not reach it.
  ::setpgid(0, 0);
  ::prctl(PR_SET_CHILD_SUBREAPER, 1);
  for (int s = 1; s < NSIG; ++s)
    ::signal(s, SIG_DFL);
  ::signal(SIGPIPE, SIG_IGN);
  ::signal(SIGINT, SIG_IGN);
  // Nothing of the engine's (sockets, the log file) stays open here.
  if (fd != 3) {
    ::dup2(fd, 3);
    ::close(fd);
  }
  sock = 3;
  ::close_range(4, ~0U, 0);
  // Nor the engine's stdout: a reader of it sees the end with the engine.
  int devnull = ::open("/dev/null", O_RDWR);
  for (int std_fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO})
    ::dup2(devnull, std_fd);
  if (devnull > 2)
    ::close(devnull);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  ::sigprocmask(SIG_SETMASK, &chld, nullptr);
  sig_fd = ::signalfd(-1, &chld, SFD_NONBLOCK | SFD_CLOEXEC);
  std::vector<char> buf(sizeof(header) + max_request);
  for (;;) {
    pollfd fds[2] = {{sock, POLLIN, 0}, {sig_fd, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0 && errno != EINTR)
      end_all(grace_ms);
    if (fds[1].revents != 0) {
      signalfd_siginfo info;
      while (::read(sig_fd, &info, sizeof(info)) > 0) {
        // nop: reaped below
      }
    }
    reap(true);
    if (fds[0].revents != 0 && !serve_one(buf))
      end_all(grace_ms); // the engine is gone, however it went
  }
}

} // namespace ee::keeper_wire
