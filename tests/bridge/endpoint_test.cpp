// The endpoint of an external plugin, through the bridge, with real ZeroMQ
// clients: delivery modes, reconnect churn, publisher isolation, retire.

#include "bridge/endpoint.hpp"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "bridge/bridge.hpp"
#include "bridge/protocol.hpp"
#include "fake_engine.hpp"
#include "tests/support/eventually.hpp"

using namespace ee;
using namespace ee::test;

namespace {

constexpr auto next_cmd = wire::next_msg_command;

struct fixture {
  fake_engine engine;
  std::unique_ptr<bridge> b;
  zmq::context_t ctx{1};

  explicit fixture(std::vector<bridge_plugin> plugins,
                   app_config cfg = test_config(),
                   credit initial = credit{1000, 64 << 20}) {
    auto opened = bridge::open(cfg, std::move(plugins));
    if (!opened)
      throw std::runtime_error(opened.error().to_string());
    b = std::move(*opened);
    engine.link = b.get();
    for (auto& [name, port] : b->plugin_ports())
      (void)port;
    b->start(engine, initial);
  }

  ~fixture() { b->shutdown(std::chrono::steady_clock::now() + 1s); }

  int port(const std::string& name) { return b->plugin_ports().at(name); }
};

bridge_plugin plugin(endpoint_id id, std::string name, delivery_mode mode,
                     std::uint32_t attempts = 3) {
  bridge_plugin p;
  p.id = id;
  p.name = std::move(name);
  p.delivery = mode;
  p.max_delivery_attempts = attempts;
  return p;
}

std::vector<event> numbered(const std::string& prefix, int n) {
  std::vector<event> result;
  for (int i = 0; i < n; ++i)
    result.emplace_back(prefix + std::to_string(i));
  return result;
}

} // namespace

TEST(Endpoint, DefersNextMsgAndRepliesToPublish) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once)}};
  f.engine.auto_grant[1_ep] = true;
  auto s = req_socket(f.ctx, f.port("p"));
  EXPECT_EQ(request(s, "TypeAhello"), wire::published_reply);
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.published_events[1_ep].size() == 1; }));
  EXPECT_EQ(f.engine.published_events[1_ep][0], event{"TypeAhello"});
  EXPECT_EQ(f.engine.first_requests[1_ep], 1);
  s.send(zmq::buffer(next_cmd));
  std::string got;
  EXPECT_FALSE(recv_within(s, got, 100ms)); // nothing to send yet
  f.engine.feed(1_ep, {event{"Ev1"}}, 10);
  ASSERT_TRUE(recv_within(s, got));
  EXPECT_EQ(got, "Ev1");
  // Its next request confirms it.
  s.send(zmq::buffer(next_cmd));
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.settled_totals[1_ep].handled == 1; }));
  EXPECT_EQ(f.engine.settled_totals[1_ep].handled_bytes, 3u);
  // Bad requests get a bad msg reply and leave the endpoint serving.
  auto t = req_socket(f.ctx, f.port("p"));
  t.send(zmq::buffer(std::string{"a"}), zmq::send_flags::sndmore);
  t.send(zmq::buffer(std::string{"b"}));
  std::string reply;
  ASSERT_TRUE(recv_within(t, reply));
  EXPECT_EQ(reply.rfind(wire::bad_msg_reply, 0), 0u) << reply;
  EXPECT_EQ(f.b->stats().endpoints[0].bad_requests, 1u);
}

TEST(Endpoint, AVanishedConnectionsEventGoesToTheNextRequest) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once)}};
  f.engine.feed(1_ep, {event{"Ev0"}, event{"Ev1"}}, 10);
  {
    auto s = req_socket(f.ctx, f.port("p"));
    EXPECT_EQ(request(s, std::string{next_cmd}), "Ev0");
  } // closed without confirming
  // The bridge notices (a request racing the disconnect would get Ev1).
  EXPECT_TRUE(ee::test::eventually(
      [&] { return f.b->stats().endpoints[0].redeliveries > 0; }, 10s));
  auto s = req_socket(f.ctx, f.port("p"));
  EXPECT_EQ(request(s, std::string{next_cmd}), "Ev0");
  EXPECT_EQ(request(s, std::string{next_cmd}), "Ev1");
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.settled_totals[1_ep].handled == 1; }));
  auto st = f.b->stats().endpoints[0];
  EXPECT_EQ(st.redeliveries, 1u);
  EXPECT_GE(st.disconnects, 1u);
}

namespace {

// 16 threads, each opening a REQ socket per round: `per_socket(round)`
// next_msg requests, then close. Returns the events received.
std::vector<std::string>
churn(fixture& f, int threads, const std::function<bool()>& done,
      const std::function<int(int)>& per_socket, int max_rounds,
      std::chrono::milliseconds recv_timeout, std::atomic<int>& timeouts,
      std::atomic<int>& reopenings) {
  std::mutex mtx;
  std::vector<std::string> all;
  std::vector<std::thread> workers;
  auto port = f.port("p");
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::vector<std::string> mine;
      for (int round = 0; round < max_rounds && !done(); ++round) {
        auto s = req_socket(f.ctx, port);
        ++reopenings;
        for (int k = 0; k < per_socket(round + t); ++k) {
          s.send(zmq::buffer(next_cmd));
          std::string got;
          if (!recv_within(s, got, recv_timeout)) {
            ++timeouts;
            break;
          }
          mine.push_back(std::move(got));
        }
      }
      std::lock_guard<std::mutex> guard{mtx};
      all.insert(all.end(), mine.begin(), mine.end());
    });
  }
  for (auto& w : workers)
    w.join();
  return all;
}

} // namespace

TEST(Endpoint, ReconnectChurnAtMostOnceDeliversEveryEventExactlyOnce) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_most_once)}};
  constexpr int threads = 16, rounds = 200;
  auto events = numbered("Ev", threads * rounds);
  f.engine.feed(1_ep, events, 64);
  std::atomic<int> timeouts{0}, reopenings{0};
  auto got = churn(
      f, threads, [] { return false; }, [](int) { return 1; }, rounds, 10s,
      timeouts, reopenings);
  EXPECT_EQ(timeouts.load(), 0) << "requests left unanswered";
  EXPECT_EQ(reopenings.load(), threads * rounds);
  std::sort(got.begin(), got.end());
  std::vector<std::string> want;
  for (auto& ev : events)
    want.push_back(ev.str());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want); // every event exactly once
  ASSERT_TRUE(f.engine.wait_for([&] {
    auto& t = f.engine.settled_totals[1_ep];
    return t.handled == events.size() && t.in_flight == 0;
  })) << "handled "
      << f.engine.settled_totals[1_ep].handled;
}

TEST(Endpoint, ReconnectChurnAtLeastOnceSettlesEveryEvent) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once, 3)}};
  constexpr int threads = 16;
  constexpr std::size_t total = 3000;
  auto events = numbered("Ev", total);
  f.engine.feed(1_ep, events, 64);
  auto done = [&] {
    std::lock_guard<std::mutex> guard{f.engine.mtx};
    auto& t = f.engine.settled_totals[1_ep];
    return t.handled + t.dead_letters.size() == total;
  };
  std::atomic<int> timeouts{0}, reopenings{0};
  auto start = std::chrono::steady_clock::now();
  // 1 to 3 requests per socket: the last event of each socket is never
  // confirmed and comes back; the others are confirmed.
  auto got = churn(
      f, threads, done, [](int r) { return 1 + r % 3; }, 100000, 300ms,
      timeouts, reopenings);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(f.engine.wait_for([&] {
    auto& t = f.engine.settled_totals[1_ep];
    return t.handled + t.dead_letters.size() == total && t.in_flight == 0;
  })) << "stalled";
  auto& t = f.engine.settled_totals[1_ep];
  EXPECT_EQ(t.delivered, total);
  EXPECT_EQ(t.in_flight, 0u) << "window slots leaked";
  EXPECT_GT(t.handled, 0u);
  EXPECT_GT(reopenings.load(), 1000);
  std::map<std::string, int> times;
  for (auto& g : got)
    ++times[g];
  std::set<std::string> dead;
  for (auto& ev : t.dead_letters)
    dead.insert(ev.str());
  for (auto& ev : events) {
    EXPECT_LE(times[ev.str()], 3) << ev.str();
    if (dead.count(ev.str()) == 0) {
      EXPECT_GE(times[ev.str()], 1) << ev.str() << " lost";
    }
  }
  auto st = f.b->stats().endpoints[0];
  EXPECT_EQ(st.dead_letters, t.dead_letters.size());
  RecordProperty("reopenings", reopenings.load());
  RecordProperty(
      "seconds",
      std::to_string(std::chrono::duration<double>(elapsed).count()));
  RecordProperty("probes", std::to_string(st.probes));
}

TEST(Endpoint, FreshSocketPerMessageMakesProgressAtMostOnce) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_most_once)}};
  constexpr int clients = 8, each = 50;
  auto events = numbered("Ev", clients * each);
  f.engine.feed(1_ep, events, 16);
  std::atomic<int> timeouts{0}, reopenings{0};
  auto got = churn(
      f, clients, [] { return false; }, [](int) { return 1; }, each, 10s,
      timeouts, reopenings);
  EXPECT_EQ(timeouts.load(), 0);
  std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), events.size());
  EXPECT_EQ(got.size(), events.size());
}

TEST(Endpoint, FreshSocketPerMessageMakesProgressAtLeastOnce) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once, 3)}};
  constexpr std::size_t total = 200;
  auto events = numbered("Ev", total);
  f.engine.feed(1_ep, events, 16);
  auto done = [&] {
    std::lock_guard<std::mutex> guard{f.engine.mtx};
    return f.engine.settled_totals[1_ep].dead_letters.size() == total;
  };
  std::atomic<int> timeouts{0}, reopenings{0};
  auto got = churn(
      f, 8, done, [](int) { return 1; }, 100000, 300ms, timeouts, reopenings);
  ASSERT_TRUE(f.engine.wait_for([&] {
    auto& t = f.engine.settled_totals[1_ep];
    return t.dead_letters.size() == total && t.in_flight == 0;
  }));
  // Nobody ever confirms: each event was sent at most 3 times, then it
  // became a dead letter; no client saw the same event forever.
  std::map<std::string, int> times;
  for (auto& g : got)
    ++times[g];
  for (auto& ev : events) {
    EXPECT_LE(times[ev.str()], 3) << ev.str();
    EXPECT_GE(times[ev.str()], 1) << ev.str();
  }
  EXPECT_EQ(f.engine.settled_totals[1_ep].handled, 0u);
}

TEST(Endpoint, APublisherWithoutCreditHoldsOnlyItsOwnReplies) {
  auto cfg = test_config();
  cfg.publish_window = 2; // at most 2 held publishes per endpoint
  fixture f{{plugin(1_ep, "a", delivery_mode::at_least_once),
             plugin(2_ep, "b", delivery_mode::at_least_once)},
            cfg,
            credit{2, 1 << 20}};
  f.engine.auto_grant[2_ep] = true;
  f.engine.auto_grant[raw_publish_port] = true;
  auto a1 = req_socket(f.ctx, f.port("a"));
  EXPECT_EQ(request(a1, "A0"), wire::published_reply);
  EXPECT_EQ(request(a1, "A1"), wire::published_reply);
  a1.send(zmq::buffer(std::string{"A2"})); // no credit left: held
  auto a2 = req_socket(f.ctx, f.port("a"));
  a2.send(zmq::buffer(std::string{"A3"})); // held too
  ASSERT_TRUE(f.engine.wait_for([&] {
    return f.engine.first_requests[1_ep] == 1 &&
           f.engine.published_events[1_ep].size() == 2;
  }));
  // Other publishers are not held back: B's port and the raw port.
  auto b = req_socket(f.ctx, f.port("b"));
  for (int i = 0; i < 10; ++i)
    ASSERT_EQ(request(b, "B" + std::to_string(i)), wire::published_reply);
  zmq::socket_t pub{f.ctx, zmq::socket_type::pub};
  pub.set(zmq::sockopt::linger, 0);
  pub.connect("tcp://127.0.0.1:" + std::to_string(f.b->publish_port()));
  // (A PUB drops until connected: send until some arrive.)
  auto deadline = std::chrono::steady_clock::now() + 10s;
  bool raw_ok = false;
  while (!raw_ok && std::chrono::steady_clock::now() < deadline) {
    pub.send(zmq::buffer(std::string{"Raw"}), zmq::send_flags::dontwait);
    raw_ok = f.engine.wait_for(
        [&] { return f.engine.published_events[raw_publish_port].size() >= 3; },
        5ms);
  }
  ASSERT_TRUE(raw_ok);
  // Still no reply for A (publishes are single-threaded in order, so B's
  // and the raw events above were handled after A's requests).
  std::string reply;
  EXPECT_FALSE(recv_within(a1, reply, 0ms));
  EXPECT_FALSE(recv_within(a2, reply, 0ms));
  // Beyond the bound: an immediate error, nothing published.
  auto a3 = req_socket(f.ctx, f.port("a"));
  auto over = request(a3, "A4");
  EXPECT_EQ(over.rfind(wire::bad_msg_reply, 0), 0u) << over;
  EXPECT_NE(over.find("overloaded"), std::string::npos) << over;
  // Credit for A: its held publishes go, in order, and get their replies.
  f.b->grant(1_ep, credit{10, 1 << 20});
  ASSERT_TRUE(recv_within(a1, reply));
  EXPECT_EQ(reply, wire::published_reply);
  ASSERT_TRUE(recv_within(a2, reply));
  EXPECT_EQ(reply, wire::published_reply);
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.published_events[1_ep].size() == 4; }));
  EXPECT_EQ(f.engine.published_events[1_ep][2], event{"A2"});
  EXPECT_EQ(f.engine.published_events[1_ep][3], event{"A3"});
}

TEST(Endpoint, RetireDiscardsEventsAndRefusesRequests) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once)}};
  f.engine.feed(1_ep, numbered("Ev", 5), 10);
  auto s = req_socket(f.ctx, f.port("p"));
  EXPECT_EQ(request(s, std::string{next_cmd}), "Ev0"); // in flight
  f.b->retire(1_ep);
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.settled_totals[1_ep].discarded == 5; }));
  EXPECT_EQ(f.engine.settled_totals[1_ep].in_flight, 0u);
  auto reply = request(s, std::string{next_cmd});
  EXPECT_NE(reply.find("has stopped"), std::string::npos) << reply;
}

TEST(Endpoint, QuitAndFirstRequestAreReportedOncePerLaunch) {
  fixture f{{plugin(1_ep, "p", delivery_mode::at_least_once)}};
  auto s = req_socket(f.ctx, f.port("p"));
  f.engine.auto_grant[1_ep] = true;
  EXPECT_EQ(request(s, "X"), wire::published_reply);
  s.send(zmq::buffer(wire::quit_command));
  ASSERT_TRUE(f.engine.wait_for([&] { return f.engine.quits[1_ep] == 1; }));
  auto t = req_socket(f.ctx, f.port("p"));
  auto reply = request(t, std::string{next_cmd});
  EXPECT_NE(reply.find("has quit"), std::string::npos) << reply;
  f.b->launch(1_ep); // no command: only the endpoint's state is reset
  f.b->deliver(1_ep, {event{"Ev"}});
  // The launch is a command, the request comes over TCP: a request may
  // still see the old state; once one gets the event, the launch is done.
  std::string reply2;
  auto u = req_socket(f.ctx, f.port("p"));
  for (int i = 0; i < 100 && reply2 != "Ev"; ++i) {
    u = req_socket(f.ctx, f.port("p"));
    reply2 = request(u, std::string{next_cmd});
  }
  ASSERT_EQ(reply2, "Ev");
  EXPECT_EQ(request(u, "Y"), wire::published_reply);
  ASSERT_TRUE(
      f.engine.wait_for([&] { return f.engine.first_requests[1_ep] == 2; }));
  EXPECT_EQ(f.engine.quits[1_ep], 1);
}

TEST(Endpoint, BindErrorNamesThePortThePluginAndTheFix) {
  zmq::context_t ctx;
  zmq::socket_t blocker{ctx, zmq::socket_type::rep};
  blocker.set(zmq::sockopt::linger, 0);
  blocker.bind("tcp://127.0.0.1:*");
  auto ep = blocker.get(zmq::sockopt::last_endpoint);
  int port = std::stoi(ep.substr(ep.rfind(':') + 1));
  auto p = plugin(1_ep, "busyplug", delivery_mode::at_least_once);
  p.port = port;
  auto opened = bridge::open(test_config(), {p});
  ASSERT_FALSE(opened);
  auto text = opened.error().to_string();
  EXPECT_EQ(opened.error().code(), ec::bind_failed);
  EXPECT_NE(text.find(std::to_string(port)), std::string::npos) << text;
  EXPECT_NE(text.find("busyplug"), std::string::npos) << text;
  EXPECT_NE(text.find("pick another port"), std::string::npos) << text;
}

TEST(Endpoint, ReadsAheadEnoughThatLibzmqNeedNotWakeItsThreadPerRequest) {
  // With the defaults (64 MiB window, 64 MiB messages) the byte budget
  // alone allows one message per connection: libzmq would then wake its
  // I/O thread after every request the bridge reads.
  zmq::context_t ctx{1};
  endpoint::config cfg;
  cfg.name = "p";
  auto ep = endpoint::open(ctx, cfg);
  ASSERT_TRUE(ep) << ep.error().to_string();
  EXPECT_GE((*ep)->router().get(zmq::sockopt::rcvhwm), 3);
  // A smaller maximum message lets the byte budget decide.
  cfg.max_message_size = 1024 * 1024;
  auto small = endpoint::open(ctx, cfg);
  ASSERT_TRUE(small) << small.error().to_string();
  EXPECT_EQ((*small)->router().get(zmq::sockopt::rcvhwm), 64);
}
