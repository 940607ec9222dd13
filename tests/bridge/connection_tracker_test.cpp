#include "bridge/connection_tracker.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using ee::connection_tracker;

namespace {

std::vector<std::string> sorted(std::vector<std::string> xs) {
  std::sort(xs.begin(), xs.end());
  return xs;
}

} // namespace

TEST(ConnectionTracker, ReportsAClosedConnectionAfterTheDrain) {
  connection_tracker t;
  t.accepted(5);
  t.message("A", 5);
  EXPECT_FALSE(t.uncertain("A"));
  EXPECT_FALSE(t.closed("A"));
  t.drained();
  EXPECT_TRUE(t.take_gone().empty());
  t.disconnected(5);
  EXPECT_TRUE(t.closed("A"));
  // Not before the ROUTER was read to the end: its last requests may wait.
  EXPECT_TRUE(t.take_gone().empty());
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"A"});
  EXPECT_TRUE(t.take_gone().empty());
  EXPECT_EQ(t.tracked(), 0u);
  // A late message of a gone identity is not a new peer.
  t.message("A", 5);
  EXPECT_TRUE(t.closed("A"));
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(ConnectionTracker, AReusedFdNeverClosesTheNewPeer) {
  // The defect: A's connection closes, the kernel reuses its fd for B, and
  // B's request is read before the drain ends.
  connection_tracker t;
  t.accepted(7);
  t.message("A", 7);
  t.drained();
  t.disconnected(7);
  t.accepted(7);
  t.message("B", 7);
  EXPECT_FALSE(t.closed("B"));
  EXPECT_FALSE(t.uncertain("B")); // A's generation is bound: no doubt
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"A"});
  EXPECT_FALSE(t.closed("B"));
  t.disconnected(7);
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"B"});
}

TEST(ConnectionTracker, AmbiguousIdentitiesAreUncertainNeverGone) {
  // A sends and closes before its request is read; B gets the same fd and
  // its request is read first: B may be A's closed connection or the open
  // one.
  connection_tracker t;
  t.accepted(9);
  t.disconnected(9);
  t.accepted(9);
  t.message("B", 9);
  t.message("A", 9);
  EXPECT_TRUE(t.uncertain("A"));
  EXPECT_TRUE(t.uncertain("B"));
  EXPECT_FALSE(t.closed("A"));
  EXPECT_FALSE(t.closed("B"));
  EXPECT_EQ(t.ambiguous_count(), 2u);
  t.drained();
  EXPECT_TRUE(t.take_gone().empty()); // one of them lives
  // A probe found A gone.
  t.forget("A");
  EXPECT_TRUE(t.closed("A"));
  // Once the open connection closes, both are certainly gone.
  t.disconnected(9);
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"B"});
  EXPECT_EQ(t.tracked(), 0u);
}

TEST(ConnectionTracker, AnUnboundClosedGenerationIsForgottenAfterTheDrain) {
  connection_tracker t;
  t.accepted(4);
  t.disconnected(4); // closed without a message
  t.drained();
  t.accepted(4);
  t.message("C", 4);
  EXPECT_FALSE(t.uncertain("C"));
}

TEST(ConnectionTracker, AMessageWithoutOpenConnectionIsFromAClosedOne) {
  connection_tracker t;
  t.accepted(3);
  t.disconnected(3);
  t.message("D", 3);
  EXPECT_TRUE(t.closed("D"));
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"D"});
}

TEST(ConnectionTracker, AnAcceptOnAnOpenFdClosesTheOldGeneration) {
  connection_tracker t;
  t.accepted(6);
  t.message("E", 6);
  t.accepted(6); // its DISCONNECTED was never seen
  t.drained();
  EXPECT_EQ(t.take_gone(), std::vector<std::string>{"E"});
}

TEST(ConnectionTracker, TwoIdentitiesOnOneConnectionMakeBothUncertain) {
  connection_tracker t;
  t.accepted(8);
  t.message("F", 8);
  t.message("G", 8); // contradiction: one of them is from a closed connection
  EXPECT_TRUE(t.uncertain("F"));
  EXPECT_TRUE(t.uncertain("G"));
  t.disconnected(8);
  t.drained();
  EXPECT_EQ(sorted(t.take_gone()), (std::vector<std::string>{"F", "G"}));
}

TEST(ConnectionTracker, WithoutAnFdAnIdentityIsNeverReported) {
  connection_tracker t;
  t.message("H", -1);
  EXPECT_TRUE(t.uncertain("H"));
  t.drained();
  EXPECT_TRUE(t.take_gone().empty());
  t.forget("H");
  EXPECT_EQ(t.tracked(), 0u);
}

// -- differential test against a model of real connections -------------------

namespace {

// A naive model of what the kernel and libzmq do: connections get the
// lowest free fd; ACCEPTED is queued on the monitor before any message of
// the connection; DISCONNECTED after all of them and before the fd is
// freed; the ROUTER reads queued messages fair-queued (any connection).
struct model {
  struct conn {
    std::string identity;
    int fd = -1;
    bool open = true;
    int pending = 0;   // messages queued in the ROUTER
    bool seen = false; // a message was read (the tracker knows it)
    bool reported = false;
    bool disconnect_fed = false; // the tracker saw its DISCONNECTED
  };

  std::mt19937 rng;
  connection_tracker t;
  std::vector<conn> conns;
  std::set<int> used_fds;
  // (accepted?, fd, connection index)
  std::deque<std::tuple<bool, int, std::size_t>> monitor;
  int next_identity = 0;

  explicit model(unsigned seed) : rng(seed) {
    // nop
  }

  std::size_t pick(std::size_t n) {
    return std::uniform_int_distribution<std::size_t>{0, n - 1}(rng);
  }

  void accept() {
    int fd = 10;
    while (used_fds.count(fd) > 0)
      ++fd;
    used_fds.insert(fd);
    conn c;
    c.identity = "id" + std::to_string(next_identity++);
    c.fd = fd;
    conns.push_back(c);
    monitor.emplace_back(true, fd, conns.size() - 1);
  }

  std::vector<std::size_t> open_conns() const {
    std::vector<std::size_t> result;
    for (std::size_t i = 0; i < conns.size(); ++i)
      if (conns[i].open)
        result.push_back(i);
    return result;
  }

  void send() {
    auto open = open_conns();
    if (!open.empty())
      ++conns[open[pick(open.size())]].pending;
  }

  void close() {
    auto open = open_conns();
    if (open.empty())
      return;
    auto i = open[pick(open.size())];
    conns[i].open = false;
    monitor.emplace_back(false, conns[i].fd, i);
    used_fds.erase(conns[i].fd); // reusable from now on
  }

  // Feeds the first `n` monitor events.
  void feed_monitor(std::size_t n) {
    for (std::size_t k = 0; k < n && !monitor.empty(); ++k) {
      auto [acc, fd, idx] = monitor.front();
      monitor.pop_front();
      if (acc) {
        t.accepted(fd);
      } else {
        t.disconnected(fd);
        conns[idx].disconnect_fed = true;
      }
    }
  }

  void read() {
    std::vector<std::size_t> with_msgs;
    for (std::size_t i = 0; i < conns.size(); ++i)
      if (conns[i].pending > 0)
        with_msgs.push_back(i);
    if (with_msgs.empty()) {
      // EAGAIN: the bridge drained the monitor first, then the ROUTER.
      feed_monitor(pick(monitor.size() + 1));
      t.drained();
      for (auto& id : t.take_gone()) {
        auto& c = by_identity(id);
        ASSERT_FALSE(c.open) << "a live identity was reported gone: " << id;
        ASSERT_FALSE(c.reported) << "reported twice: " << id;
        c.reported = true;
      }
      // Every closed identity is reported or flagged for a probe.
      for (auto& c : conns) {
        if (c.seen && c.disconnect_fed && !c.reported) {
          ASSERT_TRUE(t.uncertain(c.identity))
              << c.identity << " is closed, unreported and not uncertain";
        }
      }
      return;
    }
    auto i = with_msgs[pick(with_msgs.size())];
    --conns[i].pending;
    // Drained after the message: at least up to its connection's ACCEPTED.
    std::size_t need = 0;
    for (std::size_t k = 0; k < monitor.size(); ++k)
      if (std::get<0>(monitor[k]) && std::get<2>(monitor[k]) == i)
        need = k + 1;
    feed_monitor(need + pick(monitor.size() - need + 1));
    t.message(conns[i].identity, conns[i].fd);
    conns[i].seen = true;
  }

  conn& by_identity(const std::string& id) {
    for (auto& c : conns)
      if (c.identity == id)
        return c;
    ADD_FAILURE() << "unknown identity " << id;
    return conns.front();
  }

  void check_live() {
    for (auto& c : conns) {
      if (c.open && c.seen) {
        ASSERT_FALSE(t.closed(c.identity)) << c.identity << " is open";
      }
    }
  }
};

} // namespace

TEST(ConnectionTracker, DifferentialAgainstModelOfConnections) {
  std::uint64_t ambiguous = 0;
  std::uint64_t identities = 0;
  for (unsigned seed = 1; seed <= 300; ++seed) {
    model m{seed};
    // Few fds: heavy reuse.
    for (int step = 0; step < 400; ++step) {
      auto open = m.open_conns().size();
      switch (m.pick(6)) {
      case 0:
        if (open < 4)
          m.accept();
        break;
      case 1:
      case 2:
        m.send();
        break;
      case 3:
        m.close();
        break;
      default:
        m.read();
        break;
      }
      if (::testing::Test::HasFatalFailure()) {
        ADD_FAILURE() << "seed " << seed << " step " << step;
        return;
      }
      m.check_live();
    }
    // Everything closes; the bridge reads everything and drains.
    while (!m.open_conns().empty())
      m.close();
    for (int k = 0; k < 10000; ++k) {
      bool more = false;
      for (auto& c : m.conns)
        more = more || c.pending > 0;
      m.read();
      if (!more)
        break;
    }
    m.feed_monitor(m.monitor.size());
    m.read();
    for (auto& c : m.conns) {
      if (c.seen) {
        EXPECT_TRUE(c.reported) << "seed " << seed << ": " << c.identity
                                << " closed but never reported gone";
      }
    }
    EXPECT_EQ(m.t.tracked(), 0u) << "seed " << seed;
    ambiguous += m.t.ambiguous_count();
    for (auto& c : m.conns)
      identities += c.seen ? 1 : 0;
  }
  // The random interleavings did reach the ambiguous case.
  EXPECT_GT(ambiguous, 0u);
  RecordProperty("identities", std::to_string(identities));
  RecordProperty("ambiguous", std::to_string(ambiguous));
}
