// Supervision: graceful shutdown, in reverse order, leaving no thread and no
// port, and without waiting for a queue that went away.

#include "ee/app.hpp"

#include <fstream>
#include <future>
#include <string>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/integration/supervision_fixture.hpp"
#include "tests/integration/test_util.hpp"
#include "tests/support/eventually.hpp"

using namespace std::chrono_literals;
using namespace ee::test::supervision_fixture;
using ee::test::eventually;

// -- graceful shutdown
// ----------------------------------------------------------------

class endless_producer : public ee::blocking_plugin {
public:
  std::string name() const override { return "endless"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber& sub) override {
    std::string payload(200, 'x');
    while (!sub.stopping())
      pub.publish("Load" + payload); // throws stop_requested when stopped
  }
};

int thread_count() {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("Threads:", 0) == 0)
      return std::stoi(line.substr(8));
  return -1;
}

TEST(Supervision, StopUnderLoadStopsInReverseOrderAndLeavesNothing) {
  auto j = std::make_shared<journal>();
  auto before = thread_count();
  auto cfg = local_config();
  cfg.enable_tcp = true;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  int pub_port = -1;
  {
    ee::app app{cfg};
    app.register_plugin(member_factory("first", j));
    app.emplace_plugin<endless_producer>();
    struct sink : ee::plugin {
      std::string name() const override { return "sink"; }
      std::vector<ee::event_type> subscriptions() const override {
        return {ee::event_type{"Load"}};
      }
      void on_event(ee::context&, const ee::event&) override {}
    };
    app.emplace_plugin<sink>();
    app.register_plugin(member_factory("last", j));
    auto fut = std::async(std::launch::async, [&] { return app.run(); });
    ASSERT_TRUE(app.wait_started(10s));
    pub_port = app.publish_port();
    EXPECT_TRUE(eventually([&] { return app.stats().routed > 0; }));
    app.stop();
    ASSERT_EQ(fut.wait_for(20s), std::future_status::ready);
    auto err = fut.get();
    EXPECT_FALSE(err) << err.to_string();
  }
  // Reverse registration order: last before first.
  auto lines = j->lines();
  auto pos = [&](const std::string& s) {
    return std::find(lines.begin(), lines.end(), s) - lines.begin();
  };
  EXPECT_LT(pos("stop last"), pos("stop first"));
  EXPECT_LT(pos("stop first"), static_cast<long>(lines.size()));
  // No thread and no port left behind.
  EXPECT_EQ(thread_count(), before);
  zmq::context_t ctx;
  zmq::socket_t probe{ctx, zmq::socket_type::sub};
  probe.set(zmq::sockopt::linger, 0);
  EXPECT_NO_THROW(probe.bind("tcp://127.0.0.1:" + std::to_string(pub_port)));
}

namespace {
ee::test::gate quitter_busy;
} // namespace

TEST(Supervision, ShutdownDoesNotWaitForAQueueThatWentAway) {
  quitter_busy.close();
  // The only non-empty queue belongs to a plugin that stops itself during
  // the drain: shutdown goes on at once instead of waiting out the grace.
  struct quitter : ee::plugin {
    std::string name() const override { return "quitter"; }
    std::vector<ee::event_type> subscriptions() const override {
      return {ee::event_type{"E"}};
    }
    void on_event(ee::context& ctx, const ee::event&) override {
      // Still handling its first event when the stop comes: its queue is
      // not empty when it goes away.
      (void)quitter_busy.wait();
      ctx.stop();
    }
  };
  struct burst : ee::blocking_plugin {
    std::string name() const override { return "burst"; }
    std::vector<ee::event_type> subscriptions() const override { return {}; }
    void run(ee::publisher& pub, ee::subscriber&) override {
      for (int i = 0; i < 10; ++i)
        pub.publish("E");
    }
  };
  auto cfg = local_config();
  cfg.shutdown_grace = 30s;
  ee::app app{cfg};
  app.register_plugin(member_factory("idle", std::make_shared<journal>()));
  app.emplace_plugin<quitter>().emplace_plugin<burst>();
  auto fut = std::async(std::launch::async, [&] { return app.run(); });
  ASSERT_TRUE(app.wait_started(10s));
  ASSERT_TRUE(eventually([&] {
    auto st = app.stats().plugins;
    return st.count("quitter") && st.at("quitter").routed == 10;
  }));
  app.stop();
  quitter_busy.open();
  // Far below the 30 s grace that a missed drain check would wait out.
  ASSERT_EQ(fut.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(fut.get());
}
