// Flow control: bounded queues, publishers held back (every kind), drop
// policies with counters.

#include "ee/app.hpp"

#include <atomic>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/integration/test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace std::chrono_literals;
using ee::test::eventually;
using ee::test::run_bounded;

namespace {

constexpr std::size_t capacity = 50;

/// Spins `per_event` for each event (a slow subscriber), checks order, stops
/// after `expected` events (0: never stops by itself).
class slow_consumer : public ee::plugin {
public:
  slow_consumer(std::string name, std::chrono::microseconds per_event,
                std::size_t expected)
      : name_(std::move(name)), per_event_(per_event), expected_(expected) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Seq:"}};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto deadline = std::chrono::steady_clock::now() + per_event_;
    while (std::chrono::steady_clock::now() < deadline) {
      // busy: a slow subscriber
    }
    auto n = std::stoll(std::string{ev.after(4)});
    if (n <= last)
      in_order = false;
    last = n;
    ++received;
    if (expected_ != 0 && received == expected_)
      ctx.stop();
  }

  static inline std::atomic<long long> last{-1};
  static inline std::atomic<std::size_t> received{0};
  static inline std::atomic<bool> in_order{true};

  static void reset() {
    last = -1;
    received = 0;
    in_order = true;
  }

private:
  std::string name_;
  std::chrono::microseconds per_event_;
  std::size_t expected_;
};

class fast_producer : public ee::blocking_plugin {
public:
  explicit fast_producer(int n) : n_(n) {
    // nop
  }
  std::string name() const override { return "producer"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    for (int i = 0; i < n_; ++i)
      pub.publish("Seq:" + std::to_string(i));
  }

private:
  int n_;
};

/// An actor that publishes `chunks` chunks of 100 events from timers: the
/// idiomatic event-driven source, held back while it has no credit.
class timer_source : public ee::plugin {
public:
  explicit timer_source(int chunks) : chunks_(chunks) {
    // nop
  }
  std::string name() const override { return "timer_source"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void on_start(ee::context& ctx) override { next(ctx); }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }

private:
  void next(ee::context& ctx) {
    for (int i = 0; i < 100; ++i)
      ctx.publish("Seq:" + std::to_string(sent_++));
    if (--chunks_ == 0) {
      ctx.stop();
      return;
    }
    ctx.schedule(0ms, [this](ee::context& c) { next(c); });
  }

  int chunks_;
  int sent_ = 0;
};

ee::app_config small_queues() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  cfg.queue_capacity = capacity;
  cfg.delivery_window = 10;
  cfg.publish_window = 20;
  return cfg;
}

} // namespace

TEST(FlowControl, BlockingPublisherHeldBackQueueBoundedNothingLost) {
  slow_consumer::reset();
  ee::app app{small_queues()};
  app.emplace_plugin<slow_consumer>("slow", 20us, std::size_t{20000});
  app.emplace_plugin<fast_producer>(20000);
  auto err = run_bounded(app, 60s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(slow_consumer::received.load(), 20000u);
  EXPECT_TRUE(slow_consumer::in_order);
  auto st = app.stats().plugins.at("slow");
  EXPECT_EQ(st.dropped, 0u);
  EXPECT_LE(st.peak_queue, capacity);
  EXPECT_EQ(st.peak_queue, capacity); // it did fill up: the bound was hit
}

TEST(FlowControl, ActorPublisherFromTimersIsHeldBack) {
  slow_consumer::reset();
  ee::app app{small_queues()};
  app.emplace_plugin<slow_consumer>("slow", 20us, std::size_t{20000});
  app.emplace_plugin<timer_source>(200);
  auto err = run_bounded(app, 60s);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(slow_consumer::received.load(), 20000u);
  EXPECT_TRUE(slow_consumer::in_order);
  // An actor callback is never interrupted: one chunk may overshoot.
  EXPECT_LE(app.stats().plugins.at("slow").peak_queue, capacity + 100);
}

TEST(FlowControl, BackpressureTravelsUpAChain) {
  // producer -> relay (fast) -> slow sink: the relay's own publishes wait,
  // so it gets nothing new, so its queue fills, so the producer waits.
  slow_consumer::reset();
  struct relay : ee::plugin {
    std::string name() const override { return "relay"; }
    std::vector<ee::event_type> subscriptions() const override {
      return {ee::event_type{"Raw:"}};
    }
    void on_event(ee::context& ctx, const ee::event& ev) override {
      ctx.publish(ee::event::concat("Seq:", ev.after(4)));
    }
  };
  struct raw_producer : ee::blocking_plugin {
    std::string name() const override { return "producer"; }
    std::vector<ee::event_type> subscriptions() const override { return {}; }
    void run(ee::publisher& pub, ee::subscriber&) override {
      for (int i = 0; i < 10000; ++i)
        pub.publish("Raw:" + std::to_string(i));
    }
  };
  ee::app app{small_queues()};
  app.emplace_plugin<slow_consumer>("slow", 20us, std::size_t{10000});
  app.emplace_plugin<relay>();
  app.emplace_plugin<raw_producer>();
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  ASSERT_TRUE(app.wait_started(10s));
  // Wait until the sink has finished, then stop the relay.
  EXPECT_TRUE(eventually([] { return slow_consumer::received == 10000; }, 60s));
  auto st = app.stats();
  app.stop();
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  EXPECT_FALSE(fut.get());
  EXPECT_EQ(slow_consumer::received.load(), 10000u);
  EXPECT_TRUE(slow_consumer::in_order);
  EXPECT_LE(st.plugins.at("slow").peak_queue, capacity);
  EXPECT_LE(st.plugins.at("relay").peak_queue, capacity);
}

namespace {

// Runs a slow consumer with `policy` and capacity 10 against 2,000 events
// and returns its stats once every event was either handled or dropped.
ee::subscriber_stats run_drop_policy(ee::overflow_policy policy) {
  slow_consumer::reset();
  auto cfg = small_queues();
  ee::app app{cfg};
  ee::plugin_options opts;
  opts.queue_capacity = 10;
  opts.overflow = policy;
  app.register_plugin(std::make_unique<slow_consumer>("lossy", 50us, 0), opts);
  app.emplace_plugin<fast_producer>(2000);
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  EXPECT_TRUE(app.wait_started(10s));
  ee::subscriber_stats st;
  bool settled = eventually([&] {
    auto all = app.stats();
    auto found = all.plugins.find("lossy");
    if (found == all.plugins.end())
      return false;
    st = found->second;
    return st.routed == 2000 && st.handled + st.dropped == 2000;
  });
  EXPECT_TRUE(settled) << "routed " << st.routed << ", handled " << st.handled
                       << ", dropped " << st.dropped;
  app.stop();
  if (fut.wait_for(20s) != std::future_status::ready)
    std::abort();
  EXPECT_FALSE(fut.get());
  return st;
}

} // namespace

TEST(FlowControl, DropNewestDropsNewEventsAndCountsThem) {
  auto st = run_drop_policy(ee::overflow_policy::drop_newest);
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.handled + st.dropped, 2000u);
  EXPECT_EQ(slow_consumer::received.load(), st.handled);
  EXPECT_TRUE(slow_consumer::in_order);
  EXPECT_LE(st.peak_queue, 10u);
  // The first events were kept: the oldest are never the ones dropped.
  EXPECT_LT(slow_consumer::last.load(), 2000);
}

TEST(FlowControl, DropOldestKeepsTheNewestAndCountsDrops) {
  auto st = run_drop_policy(ee::overflow_policy::drop_oldest);
  EXPECT_GT(st.dropped, 0u);
  EXPECT_EQ(st.handled + st.dropped, 2000u);
  EXPECT_EQ(slow_consumer::received.load(), st.handled);
  EXPECT_TRUE(slow_consumer::in_order);
  EXPECT_LE(st.peak_queue, 10u);
  // The newest event always survives.
  EXPECT_EQ(slow_consumer::last.load(), 1999);
}

TEST(FlowControl, RawPublishersOnTheWireAreHeldBackByTcp) {
  slow_consumer::reset();
  auto cfg = small_queues();
  cfg.enable_tcp = true;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  ee::external_plugin_config ext;
  ext.name = "req_client";
  ext.port = 0;
  ee::app app{cfg};
  app.emplace_plugin<slow_consumer>("slow", 20us, std::size_t{10000});
  app.register_external_plugin(ext);
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  ASSERT_TRUE(app.wait_started(10s));
  zmq::context_t ctx;
  // 5,000 events from a raw PUB client that waits instead of dropping.
  std::thread pub_thread{[&] {
    // An XPUB is a PUB that also reads the subscriptions it gets: the
    // engine's subscription arriving is the sign that nothing sent from
    // now on is dropped for want of a subscriber.
    zmq::socket_t pub{ctx, zmq::socket_type::xpub};
    pub.set(zmq::sockopt::linger, 5000);
    pub.set(zmq::sockopt::xpub_nodrop, 1);
    pub.set(zmq::sockopt::sndhwm, 100);
    pub.set(zmq::sockopt::sndtimeo, 20000);
    pub.set(zmq::sockopt::rcvtimeo, 20000);
    pub.connect("tcp://127.0.0.1:" + std::to_string(app.publish_port()));
    zmq::message_t subscription;
    ASSERT_TRUE(pub.recv(subscription));
    ASSERT_EQ(subscription.to_string(), std::string(1, '\x01'));
    // With xpub_nodrop a blocking send waits while the pipe is full.
    for (int i = 0; i < 5000; ++i) {
      auto msg = "Seq:" + std::to_string(i);
      ASSERT_TRUE(pub.send(zmq::buffer(msg)));
    }
  }};
  pub_thread.join();
  // Two publishers are not ordered with respect to each other: let the
  // first one's events arrive before the second starts.
  ASSERT_TRUE(eventually([] { return slow_consumer::received >= 5000; }, 60s));
  // Then 5,000 from a REQ client on the external plugin's port: each reply
  // waits until the engine has room.
  zmq::socket_t req{ctx, zmq::socket_type::req};
  req.set(zmq::sockopt::linger, 0);
  req.set(zmq::sockopt::rcvtimeo, 20000);
  req.connect("tcp://127.0.0.1:" +
              std::to_string(app.plugin_port("req_client")));
  for (int i = 5000; i < 10000; ++i) {
    auto msg = "Seq:" + std::to_string(i);
    req.send(zmq::buffer(msg));
    zmq::message_t reply;
    ASSERT_TRUE(req.recv(reply));
    ASSERT_EQ(reply.to_string(), "event-engine: msg published");
  }
  req.send(zmq::str_buffer("plugin_command: quit"));
  EXPECT_TRUE(eventually([] { return slow_consumer::received == 10000; }, 60s));
  auto st = app.stats();
  ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
  auto err = fut.get();
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(slow_consumer::received.load(), 10000u);
  EXPECT_TRUE(slow_consumer::in_order);
  EXPECT_LE(st.plugins.at("slow").peak_queue, capacity);
}

namespace {

std::atomic<bool> raw_subscriber_ready{false};

struct sync_then_produce : ee::blocking_plugin {
  std::string name() const override { return "producer"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Go"}};
  }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    // Probe until the raw subscriber is connected and subscribed.
    while (!raw_subscriber_ready) {
      pub.publish("Probe");
      if (auto ev = sub.recv(10ms); ev)
        break;
    }
    std::string payload(1000, 'x');
    for (int i = 0; i < 20000; ++i)
      pub.publish("Seq:" + std::to_string(i) + payload);
  }
};

} // namespace

TEST(FlowControl, SlowRawSubscriberDropsAndNeverStallsTheApp) {
  // A raw SUB client on the subscribe port that never reads: ZeroMQ
  // semantics, so the engine drops for it (and counts) while the internal
  // consumer still gets every event.
  slow_consumer::reset();
  auto cfg = small_queues();
  cfg.enable_tcp = true;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  raw_subscriber_ready = false;
  ee::app app{cfg};
  app.emplace_plugin<slow_consumer>("fast", 0us, std::size_t{20000});
  app.emplace_plugin<sync_then_produce>();
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  ASSERT_TRUE(app.wait_started(10s));
  zmq::context_t ctx;
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  sub.set(zmq::sockopt::rcvhwm, 10);
  sub.set(zmq::sockopt::rcvbuf, 4096);
  sub.set(zmq::sockopt::subscribe, "");
  sub.connect("tcp://127.0.0.1:" + std::to_string(app.subscribe_port()));
  sub.set(zmq::sockopt::rcvtimeo, 10000);
  zmq::message_t first;
  ASSERT_TRUE(sub.recv(first)); // a probe: connected and subscribed
  raw_subscriber_ready = true;
  // Never read again: the app must finish anyway.
  if (fut.wait_for(60s) != std::future_status::ready)
    std::abort();
  auto err = fut.get();
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(slow_consumer::received.load(), 20000u);
  EXPECT_GT(app.stats().raw_dropped, 0u);
}
