// The bridge's poller: one handler per ready item, items switched off and
// on, file descriptors beside sockets.

#include "bridge/poller.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

using namespace ee;
using namespace std::chrono_literals;

TEST(Poller, CallsTheHandlerOfEachReadyItemOnly) {
  zmq::context_t ctx{1};
  zmq::socket_t a_in{ctx, zmq::socket_type::pair};
  zmq::socket_t a_out{ctx, zmq::socket_type::pair};
  zmq::socket_t b_in{ctx, zmq::socket_type::pair};
  zmq::socket_t b_out{ctx, zmq::socket_type::pair};
  a_in.bind("inproc://poller-a");
  a_out.connect("inproc://poller-a");
  b_in.bind("inproc://poller-b");
  b_out.connect("inproc://poller-b");
  int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::vector<std::string> calls;
  poller p;
  p.add(a_in, [&](short) { calls.push_back("a"); });
  auto b = p.add(b_in, [&](short) { calls.push_back("b"); });
  p.add(fd, [&](short ev) {
    calls.push_back(ev & ZMQ_POLLIN ? "fd" : "fd?");
    std::uint64_t n;
    (void)!::read(fd, &n, sizeof(n));
  });
  EXPECT_EQ(p.poll(0ms), 0);
  EXPECT_TRUE(calls.empty());
  b_out.send(zmq::str_buffer("x"));
  EXPECT_EQ(p.poll(1000ms), 1);
  EXPECT_EQ(calls, std::vector<std::string>{"b"});
  // Switched off, b is not polled although its message waits.
  p.enable(b, false);
  std::uint64_t one = 1;
  (void)!::write(fd, &one, sizeof(one));
  a_out.send(zmq::str_buffer("y"));
  calls.clear();
  EXPECT_EQ(p.poll(1000ms), 2);
  EXPECT_EQ(calls, (std::vector<std::string>{"a", "fd"}));
  zmq::message_t msg;
  ASSERT_TRUE(a_in.recv(msg));
  calls.clear();
  p.enable(b, true);
  EXPECT_EQ(p.poll(1000ms), 1);
  EXPECT_EQ(calls, std::vector<std::string>{"b"});
  // Items added after a mark go with truncate.
  auto mark = p.size();
  p.add(fd, [&](short) { calls.push_back("extra"); });
  p.truncate(mark);
  EXPECT_EQ(p.size(), mark);
  ::close(fd);
}
