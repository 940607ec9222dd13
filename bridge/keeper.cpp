#include "bridge/keeper.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bridge/keeper_process.hpp"
#include "ee/log.hpp"

namespace ee {

namespace {

namespace kw = keeper_wire;

// The engine's ends of the keepers' sockets, plus one (0: a free slot:
// constant-initialized, so a signal handler never sees garbage), for
// kill_all_now.
constexpr int max_keepers = 32;
std::atomic<int> keeper_fds[max_keepers];

void register_fd(int fd) {
  for (auto& slot : keeper_fds) {
    int expected = 0;
    if (slot.compare_exchange_strong(expected, fd + 1))
      return;
  }
}

void unregister_fd(int fd) {
  for (auto& slot : keeper_fds) {
    int expected = fd + 1;
    if (slot.compare_exchange_strong(expected, 0))
      return;
  }
}

} // namespace

expected<std::shared_ptr<keeper>>
keeper::start(std::chrono::milliseconds grace) {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return error{ec::launch_failed,
                 std::string{"socketpair: "} + std::strerror(errno)};
  int size = static_cast<int>(sizeof(kw::header) + kw::max_request + 4096);
  ::setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
  auto pid = ::fork();
  if (pid < 0) {
    auto err = errno;
    ::close(sv[0]);
    ::close(sv[1]);
    return error{ec::launch_failed, std::string{"fork: "} + std::strerror(err)};
  }
  if (pid == 0) {
    ::close(sv[0]);
    kw::keeper_main(sv[1], static_cast<int>(grace.count()));
  }
  ::close(sv[1]);
  // Set here too: a group signal right away must not miss it.
  ::setpgid(pid, pid);
  register_fd(sv[0]);
  return std::shared_ptr<keeper>{new keeper(pid, sv[0])};
}

keeper::keeper(pid_t pid, int fd) : pid_(pid), fd_(fd) {
  // nop
}

keeper::~keeper() {
  finish(std::chrono::milliseconds{0});
}

expected<pid_t> keeper::spawn(const spawn_request& req) {
  if (!alive())
    return error{ec::launch_failed, "the process keeper is gone"};
  std::string msg(sizeof(kw::header), '\0');
  kw::header h{kw::spawn, static_cast<std::int32_t>(req.argv.size()),
               static_cast<std::int32_t>(req.env.size()), 0};
  std::memcpy(msg.data(), &h, sizeof(h));
  auto add = [&msg](const std::string& s) {
    msg += s;
    msg += '\0';
  };
  add(req.path);
  add(req.dir);
  for (auto& a : req.argv)
    add(a);
  for (auto& e : req.env)
    add(e);
  if (msg.size() > sizeof(kw::header) + kw::max_request)
    return error{ec::launch_failed, "its command and environment take " +
                                        std::to_string(msg.size()) +
                                        " bytes, more than " +
                                        std::to_string(kw::max_request)};
  iovec iov{msg.data(), msg.size()};
  alignas(cmsghdr) char ctl[CMSG_SPACE(2 * sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof(ctl);
  auto* cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
  int fds[2] = {req.out_fd, req.err_fd};
  std::memcpy(CMSG_DATA(cm), fds, sizeof(fds));
  if (::sendmsg(fd_, &m, MSG_NOSIGNAL) < 0)
    return error{ec::launch_failed,
                 std::string{"the process keeper: "} + std::strerror(errno)};
  spawn_kind_ = 0;
  while (spawn_kind_ == 0 && fd_ >= 0)
    read_reports(true);
  if (spawn_kind_ == 0)
    return error{ec::launch_failed, "the process keeper died"};
  spawn_kind_ = 0;
  if (spawn_pid_ > 0)
    return static_cast<pid_t>(spawn_pid_);
  std::string what = std::strerror(spawn_errno_);
  if (spawn_what_ == 'c')
    return error{ec::launch_failed,
                 "cannot change to directory '" + req.dir + "': " + what};
  if (spawn_what_ == 'e')
    return error{ec::launch_failed,
                 "cannot execute '" + req.argv[0] + "': " + what};
  return error{ec::launch_failed, "cannot start a process: " + what};
}

void keeper::read_reports(bool block) {
  while (fd_ >= 0) {
    kw::header h;
    auto n = ::recv(fd_, &h, sizeof(h), block ? 0 : MSG_DONTWAIT);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return;
    if (n != static_cast<ssize_t>(sizeof(h))) {
      lost();
      return;
    }
    if (h.kind == kw::exited) {
      exits_[h.a] = h.b;
    } else if (h.kind == kw::spawned) {
      spawn_kind_ = h.kind;
      spawn_pid_ = h.a;
      spawn_what_ = static_cast<char>(h.b);
      spawn_errno_ = h.c;
    }
    if (block)
      return;
  }
}

bool keeper::reaped(pid_t pid, int& status) {
  read_reports(false);
  auto i = exits_.find(pid);
  if (i == exits_.end())
    return false;
  status = i->second;
  exits_.erase(i);
  return true;
}

bool keeper::alive() {
  read_reports(false);
  return fd_ >= 0;
}

void keeper::lost() noexcept {
  if (fd_ < 0)
    return;
  unregister_fd(fd_);
  ::close(fd_);
  fd_ = -1;
  int st = 0;
  ::waitpid(pid_, &st, 0);
  ee::log(log_level::error,
          "the process keeper (pid " + std::to_string(pid_) +
              ") ended unexpectedly: its plugins' process groups are killed; "
              "setsid descendants of plugins are no longer tracked");
  pid_ = -1;
}

void keeper::finish(std::chrono::milliseconds grace) noexcept {
  if (fd_ < 0)
    return;
  kw::header h{kw::end, static_cast<std::int32_t>(grace.count()), 0, 0};
  (void)!::send(fd_, &h, sizeof(h), MSG_NOSIGNAL);
  unregister_fd(fd_);
  ::close(fd_);
  fd_ = -1;
  int st = 0;
  while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    // nop
  }
  pid_ = -1;
}

void keeper::kill_all_now() noexcept {
  kw::header h{kw::kill_now, 0, 0, 0};
  for (auto& slot : keeper_fds) {
    int fd = slot.load() - 1;
    if (fd >= 0)
      (void)!::send(fd, &h, sizeof(h), MSG_NOSIGNAL);
  }
}

} // namespace ee
