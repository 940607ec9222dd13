// Metrics through app::stats(): a known workload gives exact counters per
// plugin and per event type, and every book balances.

#include "ee/app.hpp"

#include <atomic>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/integration/test_util.hpp"

using namespace std::chrono_literals;
using ee::test::run_bounded;

namespace {

/// Publishes 100 temperatures, 50 humidities and 10 events of no type.
class sensor : public ee::blocking_plugin {
public:
  std::string name() const override { return "sensor"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    for (int i = 0; i < 100; ++i)
      pub.publish("T:" + std::to_string(i));
    for (int i = 0; i < 50; ++i)
      pub.publish("H:" + std::to_string(i));
    for (int i = 0; i < 10; ++i)
      pub.publish("Zzz");
  }
};

/// Takes temperatures and humidities (named types); stops after 150.
class logger : public ee::plugin {
public:
  std::string name() const override { return "logger"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"temperature", "T:"},
            ee::event_type{"humidity", "H:"}};
  }
  void on_event(ee::context& ctx, const ee::event&) override {
    if (++seen_ == 150)
      ctx.stop();
  }

private:
  int seen_ = 0;
};

/// Takes only temperatures; stops after the last one.
class sampler : public ee::plugin {
public:
  std::string name() const override { return "sampler"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"temperature", "T:"}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (ev.bytes() == "T:99")
      ctx.stop();
  }
};

} // namespace

TEST(Metrics, StatsCountAKnownWorkloadExactlyPerPluginAndPerType) {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  ee::app app{cfg};
  app.emplace_plugin<logger>().emplace_plugin<sampler>();
  app.emplace_plugin<sensor>();
  auto err = run_bounded(app, 30s);
  ASSERT_FALSE(err) << err.to_string();
  auto st = app.stats();
  auto& t = st.types.at("temperature");
  EXPECT_EQ(t.published, 100u);
  EXPECT_EQ(t.routed, 200u); // two subscribers
  EXPECT_EQ(t.handled + t.dropped, 200u);
  auto& h = st.types.at("humidity");
  EXPECT_EQ(h.published, 50u);
  EXPECT_EQ(h.routed, 50u);
  EXPECT_EQ(h.handled, 50u);
  auto& other = st.types.at("(other)");
  EXPECT_GE(other.published, 10u); // "Zzz" (and the engine's own events)
  EXPECT_EQ(other.routed, 0u);
  auto& lg = st.plugins.at("logger");
  EXPECT_EQ(lg.kind, "actor");
  EXPECT_EQ(lg.routed, 150u);
  EXPECT_EQ(lg.handled, 150u);
  auto& sn = st.plugins.at("sensor");
  EXPECT_EQ(sn.kind, "blocking");
  EXPECT_EQ(sn.published, 160u);
  // Unmatched: "Zzz" and the engine's own events nobody subscribed to.
  std::uint64_t unrouted = 0;
  for (auto& [name, x] : st.types)
    if (x.routed == 0)
      unrouted += x.published;
  EXPECT_EQ(st.unmatched, unrouted);
  for (auto& [name, x] : st.types)
    EXPECT_EQ(x.routed, x.handled + x.dead_letters + x.dropped + x.queued)
        << name;
  for (auto& [name, x] : st.plugins)
    EXPECT_EQ(x.routed, x.handled + x.dead_letters + x.dropped + x.queued)
        << name;
  // The same counters as one line of JSON (the periodic ee.stats event).
  auto doc = nlohmann::json::parse(ee::to_json(st));
  EXPECT_EQ(doc["types"]["temperature"]["published"], 100) << doc;
  EXPECT_EQ(doc["types"]["temperature"]["routed"], 200) << doc;
  EXPECT_EQ(doc["plugins"]["sensor"]["kind"], "blocking") << doc;
}
