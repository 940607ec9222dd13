// CURVE through the bridge, with real ZeroMQ clients on the loopback: the
// ZAP handler on the poll thread admits exactly the allowed keys on each
// port, refusals are logged with their reason (rate-limited), refused
// connections leave the connection tracker alone, and bad keys are clear
// errors when the bridge opens.

#include <thread>

#include <gtest/gtest.h>

#include "bridge/bridge.hpp"
#include "bridge/protocol.hpp"
#include "bridge/refusal_log.hpp"
#include "curve_util.hpp"
#include "fake_engine.hpp"
#include "tests/support/eventually.hpp"

using namespace ee;
using namespace ee::test;

namespace {

constexpr auto next_cmd = wire::next_msg_command;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::size_t count_lines(log_capture& logs, const std::string& part) {
  std::size_t n = 0;
  for (auto& l : logs.lines())
    n += contains(l, part) ? 1 : 0;
  return n;
}

bridge_plugin plugin(endpoint_id id, std::string name) {
  bridge_plugin p;
  p.id = id;
  p.name = std::move(name);
  return p;
}

// Keys on disk: the engine's pair, one allowed client (clients/ok.key) and
// clients that are not on the engine's list.
struct keyring {
  temp_dir dir;
  curve::certificate server = dir.keys("server");
  curve::certificate ok = dir.keys("clients/ok");
  curve::certificate stranger = dir.keys("others/stranger");

  app_config config() {
    auto cfg = test_config();
    cfg.security.curve = true;
    cfg.security.secret_key_file = (dir.path / "server.key_secret").string();
    cfg.security.allowed_clients_dir = (dir.path / "clients").string();
    return cfg;
  }
};

struct fixture {
  fake_engine engine;
  std::unique_ptr<bridge> b;

  fixture(const app_config& cfg, std::vector<bridge_plugin> plugins) {
    auto opened = bridge::open(cfg, std::move(plugins));
    if (!opened)
      throw std::runtime_error(opened.error().to_string());
    b = std::move(*opened);
    engine.link = b.get();
    b->start(engine, credit{1000, 64 << 20});
  }

  ~fixture() { b->shutdown(std::chrono::steady_clock::now() + 1s); }

  int port(const std::string& name) { return b->plugin_ports().at(name); }

  // Waits until the counters say so (bounded).
  template <class Pred>
  bool wait_stats(Pred pred) {
    return ee::test::eventually([&] { return pred(b->stats()); }, 10s);
  }
};

bool nothing_within(zmq::socket_t& s, std::chrono::milliseconds t) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, t);
  return (item.revents & ZMQ_POLLIN) == 0;
}

// Publishes `ev` through a raw PUB until the engine has it (ZeroMQ's slow
// joiner drops events until the engine's subscription arrived).
bool publish_raw(fixture& f, zmq::socket_t& pub, const std::string& ev) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    pub.send(zmq::buffer(ev), zmq::send_flags::dontwait);
    if (f.engine.wait_for(
            [&] {
              for (auto& e : f.engine.published_events[raw_publish_port])
                if (e.bytes() == ev)
                  return true;
              return false;
            },
            20ms))
      return true;
  }
  return false;
}

} // namespace

TEST(Curve, AnAllowedClientWorksOnEveryPort) {
  keyring k;
  fixture f{k.config(), {plugin(1_ep, "p")}};
  zmq::context_t ctx{1};
  // Its plugin port: publish and next_msg.
  auto req = client(ctx, zmq::socket_type::req, f.port("p"), &k.ok,
                    k.server.public_key);
  EXPECT_EQ(request(req.sock, "TypeAhello"), wire::published_reply);
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.published_events[1_ep].size() == 1; }));
  f.engine.feed(1_ep, {event{"Ev1"}}, 10);
  EXPECT_EQ(request(req.sock, std::string{next_cmd}), "Ev1");
  // The subscribe port.
  auto sub = client(ctx, zmq::socket_type::sub, f.b->subscribe_port(), &k.ok,
                    k.server.public_key);
  sub.sock.set(zmq::sockopt::subscribe, "");
  ASSERT_TRUE(f.engine.wait_for([&] { return !f.engine.raw_subs.empty(); }));
  f.b->deliver_raw({event{"Raw1"}});
  std::string got;
  ASSERT_TRUE(recv_within(sub.sock, got));
  EXPECT_EQ(got, "Raw1");
  // The publish port.
  auto pub = client(ctx, zmq::socket_type::pub, f.b->publish_port(), &k.ok,
                    k.server.public_key);
  EXPECT_TRUE(publish_raw(f, pub.sock, "FromPub"));
  auto st = f.b->stats();
  EXPECT_GE(st.auth_allowed, 3u);
  EXPECT_EQ(st.auth_refused, 0u);
  EXPECT_EQ(st.refused_connections, 0u);
}

TEST(Curve, ClientsWithoutAKeyOrWithAnUnlistedKeyGetAndTakeNothing) {
  log_capture logs;
  keyring k;
  fixture f{k.config(), {plugin(1_ep, "p")}};
  zmq::context_t ctx{1};
  auto srv = k.server.public_key;
  int pp = f.port("p");
  int sp = f.b->subscribe_port();
  int pubp = f.b->publish_port();
  // (a) no key, (b) a key that is not on the list; on all three ports.
  auto plain_req = client(ctx, zmq::socket_type::req, pp);
  auto bad_req = client(ctx, zmq::socket_type::req, pp, &k.stranger, srv);
  auto plain_sub = client(ctx, zmq::socket_type::sub, sp);
  auto bad_sub = client(ctx, zmq::socket_type::sub, sp, &k.stranger, srv);
  auto plain_pub = client(ctx, zmq::socket_type::pub, pubp);
  auto bad_pub = client(ctx, zmq::socket_type::pub, pubp, &k.stranger, srv);
  for (auto* s : {&plain_sub, &bad_sub})
    s->sock.set(zmq::sockopt::subscribe, "");
  for (auto* s : {&plain_req, &bad_req})
    s->sock.send(zmq::buffer(next_cmd));
  EXPECT_EQ(plain_req.wait(), handshake::failed);
  EXPECT_EQ(bad_req.wait(), handshake::refused);
  EXPECT_EQ(plain_sub.wait(), handshake::failed);
  EXPECT_EQ(bad_sub.wait(), handshake::refused);
  EXPECT_EQ(plain_pub.wait(), handshake::failed);
  EXPECT_EQ(bad_pub.wait(), handshake::refused);
  for (auto* s : {&plain_pub, &bad_pub})
    s->sock.send(zmq::buffer(std::string{"Forged"}), zmq::send_flags::dontwait);
  // The allowed client gets the plugin's event; the others nothing.
  f.engine.feed(1_ep, {event{"Ev0"}}, 10);
  auto ok_req = client(ctx, zmq::socket_type::req, pp, &k.ok, srv);
  EXPECT_EQ(request(ok_req.sock, std::string{next_cmd}), "Ev0");
  EXPECT_TRUE(nothing_within(plain_req.sock, 50ms));
  EXPECT_TRUE(nothing_within(bad_req.sock, 50ms));
  // Only the allowed subscriber is known to the engine and gets events.
  auto ok_sub = client(ctx, zmq::socket_type::sub, sp, &k.ok, srv);
  ok_sub.sock.set(zmq::sockopt::subscribe, "");
  ASSERT_TRUE(f.engine.wait_for([&] { return !f.engine.raw_subs.empty(); }));
  f.b->deliver_raw({event{"RawEv"}});
  std::string got;
  ASSERT_TRUE(recv_within(ok_sub.sock, got));
  EXPECT_EQ(got, "RawEv");
  EXPECT_TRUE(nothing_within(plain_sub.sock, 50ms));
  EXPECT_TRUE(nothing_within(bad_sub.sock, 50ms));
  // Only the allowed publisher's events reach the engine.
  auto ok_pub = client(ctx, zmq::socket_type::pub, pubp, &k.ok, srv);
  ASSERT_TRUE(publish_raw(f, ok_pub.sock, "Marker"));
  {
    std::lock_guard<std::mutex> guard{f.engine.mtx};
    for (auto& e : f.engine.published_events[raw_publish_port])
      EXPECT_EQ(e.bytes(), "Marker");
    EXPECT_TRUE(f.engine.published_events[1_ep].empty());
  }
  ASSERT_TRUE(f.wait_stats([](const bridge_stats& st) {
    return st.auth_refused >= 3 && st.refused_connections >= 6;
  }));
  // (d) Each refusal is logged with its reason. (A plain-text client may
  // hang up before the engine read its greeting: then the engine logs a
  // client that hung up instead.)
  auto ports = [&](int port) { return std::to_string(port); };
  auto plain_refused = [&](const std::string& what) {
    return logs.has("security: refused a plain-text client on " + what) ||
           logs.has("security: a client hung up during its handshake on " +
                    what);
  };
  EXPECT_TRUE(plain_refused("the port " + ports(pp) + " of plugin 'p'"));
  EXPECT_TRUE(plain_refused("the publish port " + ports(pubp)));
  EXPECT_TRUE(plain_refused("the subscribe port " + ports(sp)));
  EXPECT_TRUE(logs.has("on the port " + ports(pp) +
                       " of plugin 'p': its public key " +
                       k.stranger.public_key + " is not on the allow-list"));
  EXPECT_TRUE(logs.has("on the subscribe port " + ports(sp) +
                       ": its public key " + k.stranger.public_key));
  EXPECT_TRUE(logs.has("on the publish port " + ports(pubp) +
                       ": its public key " + k.stranger.public_key));
  EXPECT_FALSE(logs.has(k.ok.public_key + " is not on"));
}

TEST(Curve, APluginsOwnListKeepsOtherClientsOut) {
  keyring k;
  auto a = k.dir.keys("plugins/a");
  auto b = k.dir.keys("plugins/b");
  auto c = k.dir.keys("plugins/c");
  auto pa = plugin(1_ep, "A");
  pa.allowed_key_files = {(k.dir.path / "plugins/a.key").string()};
  auto pb = plugin(2_ep, "B");
  pb.allowed_keys = {b.public_key};
  auto pc = plugin(3_ep, "C"); // its process's key only
  pc.client_key_file = (k.dir.path / "plugins/c.key_secret").string();
  auto pd = plugin(4_ep, "D"); // no keys of its own: the engine's list
  fixture f{k.config(), {pa, pb, pc, pd}};
  zmq::context_t ctx{1};
  auto srv = k.server.public_key;
  auto outcome = [&](const curve::certificate& who, const std::string& name) {
    auto w = client(ctx, zmq::socket_type::req, f.port(name), &who, srv);
    return w.wait();
  };
  EXPECT_EQ(outcome(a, "A"), handshake::succeeded);
  EXPECT_EQ(outcome(a, "B"), handshake::refused); // (f)
  EXPECT_EQ(outcome(b, "B"), handshake::succeeded);
  EXPECT_EQ(outcome(b, "A"), handshake::refused);
  EXPECT_EQ(outcome(k.ok, "A"), handshake::refused);
  EXPECT_EQ(outcome(k.ok, "C"), handshake::refused);
  EXPECT_EQ(outcome(c, "C"), handshake::succeeded);
  EXPECT_EQ(outcome(c, "A"), handshake::refused);
  EXPECT_EQ(outcome(k.ok, "D"), handshake::succeeded);
  EXPECT_EQ(outcome(c, "D"), handshake::refused);
  // A plugin's key is not an engine-wide key.
  auto sub = client(ctx, zmq::socket_type::sub, f.b->subscribe_port(), &a, srv);
  EXPECT_EQ(sub.wait(), handshake::refused);
}

TEST(Curve, RefusedConnectionsDoNotConfuseTheConnectionTracker) {
  keyring k;
  fixture f{k.config(), {plugin(1_ep, "p")}};
  zmq::context_t ctx{1};
  auto srv = k.server.public_key;
  int port = f.port("p");
  f.engine.feed(1_ep, {event{"Ev0"}, event{"Ev1"}}, 10);
  auto s1 = client(ctx, zmq::socket_type::req, port, &k.ok, srv);
  EXPECT_EQ(request(s1.sock, std::string{next_cmd}), "Ev0"); // in flight
  // Refused connections come and go on the same port (their fds are
  // reused): each is accepted and disconnected without a message.
  constexpr int rounds = 20;
  for (int i = 0; i < rounds; ++i) {
    auto plain = client(ctx, zmq::socket_type::req, port);
    auto bad = client(ctx, zmq::socket_type::req, port, &k.stranger, srv);
    plain.sock.send(zmq::buffer(next_cmd));
    bad.sock.send(zmq::buffer(next_cmd));
    EXPECT_EQ(plain.wait(), handshake::failed);
    EXPECT_EQ(bad.wait(), handshake::refused);
  }
  // (A plain-text client may close before the engine read its greeting:
  // then the engine sees a reset, not a refusal of its own.)
  ASSERT_TRUE(f.wait_stats([](const bridge_stats& st) {
    return st.auth_refused >= rounds && st.refused_connections > rounds;
  }));
  // s1's next request confirms Ev0: nothing was taken for a disconnect.
  EXPECT_EQ(request(s1.sock, std::string{next_cmd}), "Ev1");
  ASSERT_TRUE(f.engine.wait_for(
      [&] { return f.engine.settled_totals[1_ep].handled == 1; }));
  auto st = f.b->stats().endpoints[0];
  EXPECT_EQ(st.redeliveries, 0u);
  EXPECT_EQ(st.disconnects, 0u);
  EXPECT_EQ(st.probes, 0u);
  // A real disconnect is still noticed: Ev1 goes to the next client.
  s1.sock.close();
  ASSERT_TRUE(f.wait_stats(
      [](const bridge_stats& s) { return s.endpoints[0].redeliveries == 1; }));
  auto s2 = client(ctx, zmq::socket_type::req, port, &k.ok, srv);
  EXPECT_EQ(request(s2.sock, std::string{next_cmd}), "Ev1");
  EXPECT_EQ(f.b->stats().endpoints[0].disconnects, 1u);
}

TEST(Curve, RefusalsAreRateLimited) {
  log_capture logs;
  keyring k;
  fixture f{k.config(), {plugin(1_ep, "p")}};
  zmq::context_t ctx{1};
  auto start = std::chrono::steady_clock::now();
  std::vector<watched> clients;
  constexpr std::size_t n = 60;
  for (std::size_t i = 0; i < n; ++i)
    clients.push_back(client(ctx, zmq::socket_type::req, f.port("p"),
                             &k.stranger, k.server.public_key));
  ASSERT_TRUE(f.wait_stats(
      [](const bridge_stats& st) { return st.auth_refused >= n; }));
  auto windows = 1 + (std::chrono::steady_clock::now() - start) /
                         refusal_log::default_window;
  auto lines = count_lines(logs, "is not on the allow-list");
  EXPECT_GE(lines, 1u);
  EXPECT_LE(lines, refusal_log::default_burst * windows) << lines;
  EXPECT_GE(f.b->stats().refused_connections, n);
}

TEST(Curve, BadKeysAreClearErrorsWhenTheBridgeOpens) {
  keyring k;
  auto open_error = [](const app_config& cfg,
                       std::vector<bridge_plugin> plugins = {}) {
    auto opened = bridge::open(cfg, std::move(plugins));
    return opened ? std::string{"<opened>"} : opened.error().to_string();
  };
  auto cfg = k.config();
  cfg.security.secret_key_file = (k.dir.path / "nope.key_secret").string();
  auto missing = open_error(cfg);
  EXPECT_TRUE(contains(missing, "[engine.security] secret_key_file"))
      << missing;
  EXPECT_TRUE(contains(missing, "does not exist")) << missing;
  cfg.security.secret_key_file = (k.dir.path / "server.key").string();
  auto public_only = open_error(cfg);
  EXPECT_TRUE(contains(public_only, "no secret-key")) << public_only;
  cfg.security.secret_key_file.clear();
  auto none = open_error(cfg);
  EXPECT_TRUE(contains(none, "event-engine keygen")) << none;
  cfg = k.config();
  cfg.security.allowed_clients_dir = (k.dir.path / "plugins").string();
  auto no_dir = open_error(cfg);
  EXPECT_TRUE(contains(no_dir, "does not exist")) << no_dir;
  k.dir.write("empty/readme.txt", "no keys here");
  cfg.security.allowed_clients_dir = (k.dir.path / "empty").string();
  auto empty = open_error(cfg);
  EXPECT_TRUE(contains(empty, "has no *.key file")) << empty;
  cfg = k.config();
  cfg.security.allowed_keys = {"not a key"};
  auto bad_key = open_error(cfg);
  EXPECT_TRUE(contains(bad_key, "security_config::allowed_keys[0]")) << bad_key;
  auto p = plugin(1_ep, "p");
  p.client_key_file = (k.dir.path / "clients/ok.key").string();
  auto bad_client = open_error(k.config(), {p});
  EXPECT_TRUE(contains(bad_client, "plugin 'p' client_key_file")) << bad_client;
  EXPECT_TRUE(contains(bad_client, "no secret-key")) << bad_client;
}

TEST(Curve, LaunchedPluginsGetTheServerKeyAndTheirKeyFile) {
  log_capture logs;
  keyring k;
  auto p = plugin(7_ep, "envy");
  p.command = {"/usr/bin/python3", "-u", "-c",
               "import os\n"
               "for k in ['EE_CURVE_SERVER_KEY', 'EE_CURVE_CLIENT_KEY_FILE']:\n"
               "    print(k + '=' + os.environ.get(k, '?'))\n"};
  p.client_key_file = (k.dir.path / "clients/ok.key_secret").string();
  fixture f{k.config(), {p}};
  f.b->launch(7_ep);
  ASSERT_TRUE(f.engine.wait_for([&] { return !f.engine.exits.empty(); }));
  EXPECT_TRUE(
      logs.wait_for("[envy] EE_CURVE_SERVER_KEY=" + k.server.public_key));
  EXPECT_TRUE(
      logs.wait_for("[envy] EE_CURVE_CLIENT_KEY_FILE=" + p.client_key_file));
}

TEST(Curve, ANonLoopbackAddressWithoutCurveLogsTheExposure) {
  auto cfg = test_config();
  {
    log_capture logs;
    fixture f{cfg, {plugin(1_ep, "p")}};
    EXPECT_FALSE(logs.has("not a loopback address"));
  }
  cfg.bind_address = "0.0.0.0";
  {
    log_capture logs;
    fixture f{cfg, {plugin(1_ep, "p")}};
    auto line = "security: bind_address '0.0.0.0' is not a loopback address "
                "and CURVE is off, so anyone who can reach this host can "
                "publish events to every plugin on port " +
                std::to_string(f.b->publish_port()) +
                " (publish port), read every event on port " +
                std::to_string(f.b->subscribe_port()) +
                " (subscribe port), and take the events of plugin 'p' and "
                "publish as it on port " +
                std::to_string(f.port("p"));
    EXPECT_TRUE(logs.has(line)) << line;
  }
  keyring k;
  auto secure = k.config();
  secure.bind_address = "0.0.0.0";
  {
    log_capture logs;
    fixture f{secure, {plugin(1_ep, "p")}};
    EXPECT_FALSE(logs.has("not a loopback address"));
    EXPECT_TRUE(logs.has("security: CURVE on the publish port"));
  }
}
