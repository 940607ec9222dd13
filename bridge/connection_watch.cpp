#include "bridge/connection_watch.hpp"

#include <arpa/inet.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

#include "bridge/address.hpp"

namespace ee {

namespace {

// "ADDRESS:PORT" of an IPv4/IPv6 socket address, or "".
std::string text(const sockaddr_storage& sa) {
  char buf[INET6_ADDRSTRLEN] = {};
  int port = 0;
  if (sa.ss_family == AF_INET) {
    auto& in = reinterpret_cast<const sockaddr_in&>(sa);
    inet_ntop(AF_INET, &in.sin_addr, buf, sizeof(buf));
    port = ntohs(in.sin_port);
  } else if (sa.ss_family == AF_INET6) {
    auto& in6 = reinterpret_cast<const sockaddr_in6&>(sa);
    inet_ntop(AF_INET6, &in6.sin6_addr, buf, sizeof(buf));
    port = ntohs(in6.sin6_port);
  } else {
    return {};
  }
  return std::string{buf} + ":" + std::to_string(port);
}

// The kernel's byte counts of a TCP socket (zero if unavailable).
struct traffic {
  std::uint64_t received = 0;
  std::uint64_t sent = 0;
};

traffic counts(int fd) {
  tcp_info info{};
  socklen_t n = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &n) != 0 ||
      n < offsetof(tcp_info, tcpi_bytes_received) +
              sizeof(info.tcpi_bytes_received))
    return {};
  return {info.tcpi_bytes_received, info.tcpi_bytes_sent};
}

// Ends the connection on `fd`: libzmq reads its end and closes the
// descriptor, and the kernel then resets the connection (linger 0) instead
// of waiting for a peer that may never read again.
void hang_up(int fd) {
  linger lin{1, 0};
  (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin));
  ::shutdown(fd, SHUT_RDWR);
}

} // namespace

// -- handshake_book
// ------------------------------------------------------------

std::string handshake_book::admit(const std::string& address) {
  if (total_ >= lim_.max_pending)
    return std::to_string(total_) +
           " handshakes are pending on the engine's ports (the limit)";
  // Every local client shares the loopback address: only the total holds.
  auto& n = per_address_[address];
  if (n >= lim_.max_per_address && !address::is_loopback(address))
    return std::to_string(n) + " handshakes from " + address +
           " are pending (the limit per address)";
  ++n;
  ++total_;
  return {};
}

void handshake_book::release(const std::string& address) {
  auto i = per_address_.find(address);
  if (i == per_address_.end())
    return;
  if (--i->second == 0)
    per_address_.erase(i);
  --total_;
}

// -- connection_watch
// ----------------------------------------------------------

std::string connection_watch::accepted(int fd) {
  closed(fd); // a descriptor reused before its DISCONNECTED was read
  auto peer = describe(fd);
  if (peer.empty())
    return {}; // closed already: nothing to watch
  if (conns_.size() >= max_connections_) {
    hang_up(fd);
    return "refused a connection from " + peer + ": the port has " +
           std::to_string(conns_.size()) +
           " connections already ([engine] max_connections)";
  }
  conn c;
  c.address = peer.substr(0, peer.rfind(':'));
  c.peer = std::move(peer);
  if (book_ != nullptr) {
    if (auto why = book_->admit(c.address); !why.empty()) {
      hang_up(fd);
      return "refused a connection from " + c.peer + ": " + why;
    }
    c.pending = true;
    ++pending_;
  }
  conns_.emplace(fd, std::move(c));
  return {};
}

void connection_watch::closed(int fd) {
  auto i = conns_.find(fd);
  if (i == conns_.end())
    return;
  settle(i->second);
  conns_.erase(i);
}

void connection_watch::settle(conn& c) {
  if (!c.pending)
    return;
  c.pending = false;
  --pending_;
  book_->release(c.address);
}

std::string connection_watch::describe(int fd) const {
  sockaddr_storage local{};
  sockaddr_storage peer{};
  socklen_t n = sizeof(local);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &n) != 0)
    return {};
  auto mine = text(local);
  auto colon = mine.rfind(':');
  if (colon == std::string::npos ||
      mine.substr(colon + 1) != std::to_string(port_))
    return {};
  n = sizeof(peer);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &n) != 0)
    return {};
  return text(peer);
}

void connection_watch::end(int fd) {
  auto i = conns_.find(fd);
  if (i == conns_.end())
    return;
  if (describe(fd) == i->second.peer)
    hang_up(fd);
  settle(i->second);
  conns_.erase(i);
}

std::size_t connection_watch::end_over(std::uint64_t max_bytes) {
  std::vector<int> over;
  for (auto& [fd, c] : conns_)
    if (counts(fd).received > max_bytes)
      over.push_back(fd);
  for (auto fd : over)
    end(fd);
  return over.size();
}

bool connection_watch::end_largest() {
  int largest = -1;
  std::uint64_t most = 0;
  for (auto& [fd, c] : conns_) {
    auto n = counts(fd).received;
    if (largest < 0 || n > most) {
      largest = fd;
      most = n;
    }
  }
  if (largest < 0)
    return false;
  end(largest);
  return true;
}

std::uint64_t connection_watch::received(int fd) {
  return counts(fd).received;
}

std::vector<std::string> connection_watch::check_handshakes() {
  std::vector<std::string> lines;
  if (pending_ == 0)
    return lines;
  std::vector<int> over;
  for (auto& [fd, c] : conns_) {
    if (!c.pending)
      continue;
    auto t = counts(fd);
    if (t.sent >= handshake_done_bytes) {
      settle(c);
    } else if (t.received > book_->limit().max_bytes) {
      over.push_back(fd);
      lines.push_back("refused a connection from " + c.peer + ": it sent " +
                      std::to_string(t.received) +
                      " bytes before authenticating (the limit is " +
                      std::to_string(book_->limit().max_bytes) + ")");
    }
  }
  for (auto fd : over)
    end(fd);
  return lines;
}

} // namespace ee
