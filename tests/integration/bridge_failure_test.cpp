// The bridge's thread failing (injected with EE_TEST_BRIDGE_FAULT_MS): the
// app stops with an error that names the bridge, never runs on silently.

#include "ee/app.hpp"

#include <cstdlib>

#include <gtest/gtest.h>

#include "tests/integration/test_util.hpp"

using namespace std::chrono_literals;
using ee::test::run_bounded;

namespace {

// Runs until stopped: it waits for events that never come.
class idle_plugin : public ee::plugin {
public:
  std::string name() const override { return "idle"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Never"}};
  }
  void on_event(ee::context&, const ee::event&) override {
    // nop
  }
};

// Sets an environment variable for its lifetime.
class scoped_env {
public:
  scoped_env(const char* name, const char* value) : name_(name) {
    ::setenv(name, value, 1);
  }
  ~scoped_env() { ::unsetenv(name_); }

private:
  const char* name_;
};

} // namespace

TEST(BridgeFailure, RunReturnsAnErrorNamingTheBridge) {
  scoped_env fault{"EE_TEST_BRIDGE_FAULT_MS", "300"};
  ee::app_config cfg;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  cfg.shutdown_grace = 2000ms;
  ee::app a{cfg};
  a.register_plugin(std::make_unique<idle_plugin>());
  ee::external_plugin_config ext;
  ext.name = "outside";
  ext.subscriptions = {ee::event_type{"Out"}};
  a.register_external_plugin(ext);
  auto err = run_bounded(a, 10s);
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::internal) << err.message();
  EXPECT_NE(err.message().find("the bridge"), std::string::npos)
      << err.message();
  EXPECT_NE(err.message().find("a fault injected by EE_TEST_BRIDGE_FAULT_MS"),
            std::string::npos)
      << err.message();
}
