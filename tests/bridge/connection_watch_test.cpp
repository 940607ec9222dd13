// The limits on pending handshakes (total, per remote address) and a watch
// over real TCP connections: bytes received, ending the largest.

#include "bridge/connection_watch.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "tests/support/eventually.hpp"

using namespace ee;

TEST(HandshakeBook, LimitsPendingHandshakesInTotalAndPerRemoteAddress) {
  handshake_book book{{4, 2, 1024}};
  EXPECT_EQ(book.admit("10.0.0.1"), "");
  EXPECT_EQ(book.admit("10.0.0.1"), "");
  auto why = book.admit("10.0.0.1");
  EXPECT_NE(why.find("2 handshakes from 10.0.0.1 are pending"),
            std::string::npos)
      << why;
  // Local clients share the loopback: only the total applies to them.
  EXPECT_EQ(book.admit("127.0.0.1"), "");
  EXPECT_EQ(book.admit("127.0.0.1"), "");
  why = book.admit("10.0.0.2");
  EXPECT_NE(why.find("4 handshakes are pending"), std::string::npos) << why;
  book.release("10.0.0.1");
  EXPECT_EQ(book.admit("10.0.0.2"), "");
}

namespace {

// A listening socket on a free loopback port.
struct listener {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  int port = 0;

  listener() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd, 8), 0);
    socklen_t n = sizeof(a);
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
    port = ntohs(a.sin_port);
  }

  ~listener() { ::close(fd); }

  // Connects a client; @returns {client fd, accepted fd}.
  std::pair<int, int> connect() {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::connect(c, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    return {c, ::accept(fd, nullptr, nullptr)};
  }
};

// Sends `n` bytes from `fd` and waits until the peer's kernel has them.
void send_bytes(int fd, int peer, std::size_t n) {
  std::string data(n, 'x');
  ASSERT_EQ(::send(fd, data.data(), n, 0), static_cast<ssize_t>(n));
  EXPECT_TRUE(ee::test::eventually(
      [&] { return connection_watch::received(peer) >= n; },
      std::chrono::seconds{5}));
}

} // namespace

TEST(ConnectionWatch, EndsConnectionsOverTheirBytesAndTheLargest) {
  listener l;
  connection_watch watch{l.port};
  auto [c1, s1] = l.connect();
  auto [c2, s2] = l.connect();
  EXPECT_EQ(watch.accepted(s1), "");
  EXPECT_EQ(watch.accepted(s2), "");
  EXPECT_EQ(watch.size(), 2u);
  send_bytes(c1, s1, 3000);
  send_bytes(c2, s2, 1000);
  EXPECT_EQ(watch.end_over(5000), 0u);
  EXPECT_TRUE(watch.end_largest()); // c1's
  EXPECT_EQ(watch.size(), 1u);
  char buf[16];
  EXPECT_LE(::recv(c1, buf, sizeof(buf), 0), 0); // reset or closed
  EXPECT_EQ(watch.end_over(500), 1u);            // c2's
  EXPECT_EQ(watch.size(), 0u);
  for (int fd : {c1, s1, c2, s2})
    ::close(fd);
}
