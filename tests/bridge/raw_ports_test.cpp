// The raw ports through the bridge: zero-copy sends to raw SUB clients with
// exact released-byte accounting, drops for a slow subscriber, and the
// subscriptions reported to the engine.

#include "bridge/raw_ports.hpp"

#include <thread>

#include <gtest/gtest.h>

#include "bridge/bridge.hpp"
#include "fake_engine.hpp"
#include "tests/support/eventually.hpp"

using namespace ee;
using namespace ee::test;

namespace {

struct raw_fixture {
  fake_engine engine;
  std::unique_ptr<bridge> b;
  zmq::context_t ctx{1};
  std::uint64_t released = 0;

  raw_fixture() {
    auto opened = bridge::open(test_config(), {});
    if (!opened)
      throw std::runtime_error(opened.error().to_string());
    b = std::move(*opened);
    engine.link = b.get();
    b->start(engine, credit{1000, 64 << 20});
  }

  ~raw_fixture() { b->shutdown(std::chrono::steady_clock::now() + 1s); }

  // Waits until `take_raw_released` added up to `bytes`.
  bool wait_released(std::uint64_t bytes) {
    bool reached = ee::test::eventually(
        [&] {
          released += b->take_raw_released();
          return released >= bytes;
        },
        10s);
    return reached && released == bytes;
  }
};

} // namespace

TEST(RawPorts, ReleasedBytesAddUpToTheEventsSent) {
  raw_fixture f;
  zmq::socket_t sub{f.ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "T");
  sub.connect("tcp://127.0.0.1:" + std::to_string(f.b->subscribe_port()));
  // The subscription reaches the engine.
  ASSERT_TRUE(f.engine.wait_for([&] {
    return !f.engine.raw_subs.empty() && f.engine.raw_subs[0].first == "T" &&
           f.engine.raw_subs[0].second;
  }));
  std::uint64_t total = 0;
  std::vector<std::string> sent;
  for (int i = 0; i < 100; ++i) {
    std::string body = "T" + std::string(static_cast<std::size_t>(i * 37), 'x');
    total += body.size();
    sent.push_back(body);
  }
  event_batch batch;
  for (auto& s : sent)
    batch.emplace_back(s);
  f.b->deliver_raw(std::move(batch));
  for (auto& want : sent) {
    std::string got;
    ASSERT_TRUE(recv_within(sub, got));
    ASSERT_EQ(got, want);
  }
  EXPECT_TRUE(f.wait_released(total)) << f.released << " of " << total;
  EXPECT_EQ(f.b->stats().raw_dropped, 0u);
}

TEST(RawPorts, ASlowSubscriberMakesDropsThatAreCountedAndReleased) {
  raw_fixture f;
  zmq::socket_t sub{f.ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::rcvhwm, 1);
  sub.set(zmq::sockopt::rcvbuf, 4096);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect("tcp://127.0.0.1:" + std::to_string(f.b->subscribe_port()));
  ASSERT_TRUE(f.engine.wait_for([&] { return !f.engine.raw_subs.empty(); }));
  // It never reads: the XPUB's queue (1000 messages) and TCP fill up.
  std::uint64_t total = 0;
  std::string body(4096, 'S');
  for (int round = 0; round < 20 && f.b->stats().raw_dropped == 0; ++round) {
    event_batch batch;
    for (int i = 0; i < 1000; ++i) {
      batch.emplace_back(body);
      total += body.size();
    }
    f.b->deliver_raw(std::move(batch));
    // (Handled in order; wait until this batch is through.)
    f.b->deliver_raw({});
    // A short wait for the first drop, else one more batch.
    (void)ee::test::eventually([&] { return f.b->stats().raw_dropped > 0; },
                               20ms);
  }
  (void)ee::test::eventually([&] { return f.b->stats().raw_dropped > 0; }, 10s);
  EXPECT_GT(f.b->stats().raw_dropped, 0u);
  // Closing the subscriber releases what ZeroMQ still held for it.
  sub.close();
  EXPECT_TRUE(f.wait_released(total)) << f.released << " of " << total;
}

TEST(RawPorts, RawPublishersAreReadOnlyWithCredit) {
  fake_engine engine;
  auto opened = bridge::open(test_config(), {});
  ASSERT_TRUE(opened);
  auto b = std::move(*opened);
  engine.link = b.get();
  b->start(engine, credit{3, 1 << 20}); // 3 events, no more
  zmq::context_t ctx{1};
  zmq::socket_t pub{ctx, zmq::socket_type::pub};
  pub.set(zmq::sockopt::linger, 0);
  pub.connect("tcp://127.0.0.1:" + std::to_string(b->publish_port()));
  // Send until three arrived (a PUB drops until connected).
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (
      std::chrono::steady_clock::now() < deadline &&
      !engine.wait_for(
          [&] { return engine.published_events[raw_publish_port].size() >= 3; },
          5ms))
    pub.send(zmq::buffer(std::string{"R"}), zmq::send_flags::dontwait);
  for (int i = 0; i < 10; ++i)
    pub.send(zmq::buffer(std::string{"R"}), zmq::send_flags::dontwait);
  // A multi-frame message is rejected, counted (once credit comes).
  pub.send(zmq::buffer(std::string{"M1"}), zmq::send_flags::sndmore);
  pub.send(zmq::buffer(std::string{"M2"}), zmq::send_flags::none);
  pub.send(zmq::buffer(std::string{"Last"}), zmq::send_flags::none);
  EXPECT_FALSE(engine.wait_for(
      [&] { return engine.published_events[raw_publish_port].size() > 3; },
      100ms));
  b->grant(raw_publish_port, credit{100, 1 << 20});
  ASSERT_TRUE(engine.wait_for([&] {
    auto& evs = engine.published_events[raw_publish_port];
    return !evs.empty() && evs.back() == event{"Last"};
  }));
  EXPECT_EQ(b->stats().rejected, 1u);
  EXPECT_LE(engine.published_calls[raw_publish_port],
            engine.published_events[raw_publish_port].size());
  b->shutdown(std::chrono::steady_clock::now() + 1s);
}

TEST(RawPorts, SubscriptionsBeyondTheTotalLimitCostTheLargestSubscriber) {
  auto cfg = test_config();
  cfg.max_subscriptions = 5;
  fake_engine engine;
  auto opened = bridge::open(cfg, {});
  ASSERT_TRUE(opened) << opened.error().to_string();
  auto& b = *opened;
  engine.link = b.get();
  b->start(engine, credit{1000, 64 << 20});
  zmq::context_t ctx{1};
  zmq::socket_t flood{ctx, zmq::socket_type::xsub};
  flood.set(zmq::sockopt::linger, 0);
  flood.set(zmq::sockopt::reconnect_ivl, -1); // cut once, gone for good
  flood.connect("tcp://127.0.0.1:" + std::to_string(b->subscribe_port()));
  for (int i = 0; i < 10; ++i) {
    auto sub = "\1F" + std::to_string(i);
    flood.send(zmq::buffer(sub));
  }
  // Five reach the engine; the sixth disconnects the flooder, which
  // releases its five.
  ASSERT_TRUE(engine.wait_for([&] {
    int subscribed = 0, released = 0;
    for (auto& [filter, on] : engine.raw_subs)
      (on ? subscribed : released) += 1;
    return subscribed == 5 && released == 5;
  })) << engine.raw_subs.size();
  EXPECT_EQ(b->stats().refused_subscribers, 1u);
  // A well-behaved subscriber gets in afterwards.
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::subscribe, "G");
  sub.connect("tcp://127.0.0.1:" + std::to_string(b->subscribe_port()));
  EXPECT_TRUE(engine.wait_for([&] {
    return engine.raw_subs.back() == std::pair<std::string, bool>{"G", true};
  }));
  b->shutdown(std::chrono::steady_clock::now() + 1s);
}
