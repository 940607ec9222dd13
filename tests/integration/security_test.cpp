// CURVE through the public C++ API: app_config::security with the keys
// themselves (no files), an external plugin's port, and the refusal count
// in app::stats().

#include "ee/app.hpp"

#include <thread>

#include <gtest/gtest.h>
#include <zmq.hpp>

#include "tests/bridge/curve_util.hpp"
#include "tests/integration/test_util.hpp"

using namespace std::chrono_literals;
using ee::test::client;
using ee::test::collector;
using ee::test::handshake;
using ee::test::run_bounded;

namespace {

// Records the events of `filter` until it saw `last`.
class recorder : public ee::plugin {
public:
  recorder(std::shared_ptr<collector> out, std::string last)
      : out_(std::move(out)), last_(std::move(last)) {
    // nop
  }
  std::string name() const override { return "recorder"; }
  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Ev"}};
  }
  void on_event(ee::context& ctx, const ee::event& ev) override {
    out_->add(ev);
    if (ev.str() == last_)
      ctx.stop();
  }

private:
  std::shared_ptr<collector> out_;
  std::string last_;
};

} // namespace

TEST(AppSecurity, KeysInTheConfigAdmitOnlyTheAllowedClients) {
  auto server = *ee::curve::generate();
  auto ok = *ee::curve::generate();
  auto stranger = *ee::curve::generate();
  ee::app_config cfg;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  cfg.shutdown_grace = 1000ms;
  cfg.security.curve = true;
  cfg.security.secret_key = server.secret_key;
  cfg.security.allowed_keys = {ok.public_key};
  ee::app a{cfg};
  auto seen = std::make_shared<collector>();
  a.emplace_plugin<recorder>(seen, "EvLast");
  ee::external_plugin_config ext;
  ext.name = "ext";
  a.register_external_plugin(ext);
  auto runner = std::async(std::launch::async, [&] {
    return run_bounded(a, std::chrono::seconds{30});
  });
  ASSERT_TRUE(a.wait_started(10s));
  int port = a.plugin_port("ext");
  zmq::context_t ctx;
  auto bad =
      client(ctx, zmq::socket_type::req, port, &stranger, server.public_key);
  bad.sock.send(zmq::buffer(std::string{"EvForged"}));
  EXPECT_EQ(bad.wait(), handshake::refused);
  auto plain = client(ctx, zmq::socket_type::req, port);
  plain.sock.send(zmq::buffer(std::string{"EvPlain"}));
  EXPECT_EQ(plain.wait(), handshake::failed);
  auto good = client(ctx, zmq::socket_type::req, port, &ok, server.public_key);
  for (auto ev : {"EvOne", "EvLast"}) {
    good.sock.send(zmq::buffer(std::string{ev}));
    zmq::message_t reply;
    ASSERT_TRUE(good.sock.recv(reply));
    EXPECT_EQ(reply.to_string(), "event-engine: msg published");
  }
  good.sock.send(zmq::buffer(std::string{"plugin_command: quit"}));
  auto err = runner.get();
  EXPECT_FALSE(err) << err.to_string();
  EXPECT_EQ(seen->strings(), (std::vector<std::string>{"EvOne", "EvLast"}));
  EXPECT_GE(a.stats().refused_connections, 1u);
}

TEST(AppSecurity, ABadKeyIsARunError) {
  ee::app_config cfg;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  cfg.security.curve = true;
  cfg.security.secret_key = "not a key";
  ee::app a{cfg};
  a.emplace_plugin<recorder>(std::make_shared<collector>(), "x");
  auto err = run_bounded(a, std::chrono::seconds{30});
  ASSERT_TRUE(err);
  EXPECT_EQ(err.code(), ee::ec::invalid_config);
  EXPECT_NE(err.message().find("[engine.security] secret_key"),
            std::string::npos)
      << err.message();
}
