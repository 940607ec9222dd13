// The child-process supervisor through the bridge: launching with the
// environment, output forwarding, relaunch without blocking the loop,
// shutdown by its deadline.

#include "bridge/children.hpp"

#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

#include "bridge/bridge.hpp"
#include "bridge/protocol.hpp"
#include "fake_engine.hpp"
#include "tests/support/eventually.hpp"

using namespace ee;
using namespace ee::test;

namespace {

const std::string python = "/usr/bin/python3";

bridge_plugin child(endpoint_id id, std::string name, std::string script) {
  bridge_plugin p;
  p.id = id;
  p.name = std::move(name);
  p.command = {python, "-u", "-c", std::move(script)};
  p.env["EE_TEST_EXTRA"] = "extra";
  return p;
}

// A process that ignores SIGTERM and says so.
const std::string stubborn = "import signal, time\n"
                             "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                             "print('stubborn ready', flush=True)\n"
                             "time.sleep(60)\n";

} // namespace

TEST(Children, FormatLinePrefixesAndEscapes) {
  EXPECT_EQ(children::format_line("p", "hello\tworld"), "[p] hello\tworld");
  EXPECT_EQ(children::format_line("p", "a\x1b[31mb\x7f\x01"),
            "[p] a\\x1b[31mb\\x7f\\x01");
  EXPECT_EQ(children::format_line("p", std::string{"\0\r", 2}),
            "[p] \\x00\\x0d");
}

TEST(Children, LaunchesWithTheEnvironmentAndForwardsOutput) {
  log_capture logs;
  fake_engine engine;
  auto p = child(7_ep, "envy",
                 "import os, sys\n"
                 "for k in ['EE_PLUGIN_NAME', 'EE_PLUGIN_PORT', "
                 "'EE_PLUGIN_HOST', 'EE_PUBLISH_PORT', 'EE_SUBSCRIBE_PORT', "
                 "'EE_TEST_EXTRA']:\n"
                 "    print(k + '=' + os.environ.get(k, '?'))\n"
                 "print('esc\\x1b[2J', file=sys.stderr)\n"
                 "sys.exit(3)\n");
  auto opened = bridge::open(test_config(), {p});
  ASSERT_TRUE(opened) << opened.error().to_string();
  auto b = std::move(*opened);
  engine.link = b.get();
  b->start(engine, credit{10, 1 << 20});
  b->launch(7_ep);
  ASSERT_TRUE(engine.wait_for([&] { return !engine.exits.empty(); }));
  EXPECT_EQ(engine.exits[0].id, 7_ep);
  EXPECT_FALSE(engine.exits[0].normal);
  EXPECT_NE(engine.exits[0].text.find("exited with code 3"), std::string::npos)
      << engine.exits[0].text;
  auto port = std::to_string(b->plugin_ports().at("envy"));
  EXPECT_TRUE(logs.has("[envy] EE_PLUGIN_NAME=envy"));
  EXPECT_TRUE(logs.has("[envy] EE_PLUGIN_PORT=" + port));
  EXPECT_TRUE(logs.has("[envy] EE_PLUGIN_HOST=127.0.0.1"));
  EXPECT_TRUE(
      logs.has("[envy] EE_PUBLISH_PORT=" + std::to_string(b->publish_port())));
  EXPECT_TRUE(logs.has("[envy] EE_SUBSCRIBE_PORT=" +
                       std::to_string(b->subscribe_port())));
  EXPECT_TRUE(logs.has("[envy] EE_TEST_EXTRA=extra"));
  EXPECT_TRUE(logs.has("[envy] esc\\x1b[2J"));
  EXPECT_TRUE(logs.has("launched pid"));
  b->shutdown(std::chrono::steady_clock::now() + 1s);
}

TEST(Children, ALaunchFailureIsReported) {
  fake_engine engine;
  bridge_plugin p;
  p.id = 3_ep;
  p.name = "ghost";
  p.command = {"/no/such/program-ee"};
  auto opened = bridge::open(test_config(), {p});
  ASSERT_TRUE(opened);
  auto b = std::move(*opened);
  engine.link = b.get();
  b->start(engine, credit{10, 1 << 20});
  b->launch(3_ep);
  ASSERT_TRUE(engine.wait_for([&] { return !engine.exits.empty(); }));
  EXPECT_FALSE(engine.exits[0].normal);
  EXPECT_NE(engine.exits[0].text.find("program-ee"), std::string::npos);
}

TEST(Children, ARelaunchDoesNotBlockTheLoop) {
  log_capture logs;
  fake_engine engine;
  bridge_plugin other;
  other.id = 2_ep;
  other.name = "other";
  auto opened =
      bridge::open(test_config(), {child(1_ep, "stubborn", stubborn), other});
  ASSERT_TRUE(opened);
  auto b = std::move(*opened);
  engine.link = b.get();
  engine.auto_grant[2_ep] = true;
  b->start(engine, credit{100, 1 << 20});
  b->launch(1_ep);
  ASSERT_TRUE(logs.wait_for("[stubborn] stubborn ready"));
  zmq::context_t ctx{1};
  auto s = req_socket(ctx, b->plugin_ports().at("other"));
  EXPECT_EQ(request(s, "warm-up"), wire::published_reply);
  // The old process ignores SIGTERM: it is killed after a short grace, and
  // meanwhile the loop serves everyone.
  b->launch(1_ep);
  ASSERT_TRUE(logs.wait_for("stopping its process for a restart"));
  EXPECT_EQ(request(s, "during relaunch"), wire::published_reply);
  EXPECT_FALSE(logs.has("killed by signal 9"))
      << "the publish was answered only after the old process was killed";
  ASSERT_TRUE(logs.wait_for("killed by signal 9"));
  // The new process starts once the old one is reaped; the old one's exit
  // is not reported (the engine asked for it).
  auto launched = [&] {
    int n = 0;
    for (auto& l : logs.lines())
      n += l.find("launched pid") != std::string::npos ? 1 : 0;
    return n;
  };
  EXPECT_TRUE(ee::test::eventually([&] { return launched() >= 2; }, 10s));
  EXPECT_EQ(launched(), 2);
  {
    std::lock_guard<std::mutex> guard{engine.mtx};
    EXPECT_TRUE(engine.exits.empty());
  }
  auto start = std::chrono::steady_clock::now();
  b->shutdown(start + 300ms);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(Children, ShutdownReturnsByItsDeadline) {
  log_capture logs;
  fake_engine engine;
  auto opened =
      bridge::open(test_config(), {child(1_ep, "stubborn", stubborn)});
  ASSERT_TRUE(opened);
  auto b = std::move(*opened);
  engine.link = b.get();
  b->start(engine, credit{10, 1 << 20});
  b->launch(1_ep);
  ASSERT_TRUE(logs.wait_for("[stubborn] stubborn ready"));
  pid_t pid = 0;
  for (auto& l : logs.lines())
    if (auto at = l.find("launched pid "); at != std::string::npos)
      pid = std::stoi(l.substr(at + 13));
  ASSERT_GT(pid, 0);
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + 400ms;
  b->shutdown(deadline);
  auto end = std::chrono::steady_clock::now();
  EXPECT_GE(end, deadline - 50ms) << "SIGTERM is ignored: it waits";
  EXPECT_LT(end, deadline + 500ms) << "shutdown overran its deadline";
  EXPECT_TRUE(logs.has("killed by signal 9"));
  EXPECT_NE(::kill(pid, 0), 0) << "the process still exists";
}

TEST(Children, OutputReadTogetherWithEofIsSplitIntoLines) {
  // Several lines and the end of the pipe arrive in one read.
  auto k = keeper::start(1s);
  ASSERT_TRUE(k);
  process proc;
  ASSERT_FALSE(
      proc.launch(*k, {"/bin/sh", "-c", "printf 'one\\ntwo\\nthree'"}, {}, ""));
  bool normal = false;
  int sig = 0;
  std::string text;
  // (Once it exited, the pipe holds all its output and EOF.)
  ASSERT_TRUE(ee::test::eventually(
      [&] { return proc.poll_exit(normal, sig, text); }, 5s));
  std::vector<std::string> lines;
  for (int i = 0; i < 10 && proc.stdout_fd() >= 0; ++i)
    proc.drain(proc.stdout_fd(),
               [&](const std::string& l) { lines.push_back(l); });
  EXPECT_EQ(lines, (std::vector<std::string>{"one", "two", "three"}));
}

namespace {

// @returns the parent pid of `pid` (from /proc), or -1.
pid_t parent_of(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  auto end = text.rfind(')');
  if (end == std::string::npos)
    return -1;
  std::istringstream rest{text.substr(end + 1)};
  char state = 0;
  pid_t ppid = -1;
  rest >> state >> ppid;
  return ppid;
}

pid_t launched_pid(log_capture& logs) {
  for (auto& l : logs.lines())
    if (auto at = l.find("launched pid "); at != std::string::npos)
      return std::stoi(l.substr(at + 13));
  return 0;
}

} // namespace

TEST(Children, AKilledKeeperIsReportedAndItsPluginsStopped) {
  log_capture logs;
  fake_engine engine;
  auto opened =
      bridge::open(test_config(), {child(1_ep, "stubborn", stubborn)});
  ASSERT_TRUE(opened);
  auto b = std::move(*opened);
  engine.link = b.get();
  b->start(engine, credit{10, 1 << 20});
  b->launch(1_ep);
  ASSERT_TRUE(logs.wait_for("[stubborn] stubborn ready"));
  auto pid = launched_pid(logs);
  ASSERT_GT(pid, 0);
  auto keeper_pid = parent_of(pid);
  ASSERT_GT(keeper_pid, 0);
  ASSERT_NE(keeper_pid, ::getpid()) << "plugins are the keeper's children";
  ASSERT_EQ(::kill(keeper_pid, SIGKILL), 0);
  ASSERT_TRUE(logs.wait_for("process keeper"));
  ASSERT_TRUE(engine.wait_for([&] { return !engine.exits.empty(); }));
  EXPECT_FALSE(engine.exits[0].normal);
  EXPECT_NE(engine.exits[0].text.find("keeper"), std::string::npos)
      << engine.exits[0].text;
  // Reaped by whoever adopted it.
  EXPECT_TRUE(ee::test::eventually([&] { return ::kill(pid, 0) != 0; }))
      << "the plugin outlived its keeper";
  // A new launch starts a new keeper.
  b->launch(1_ep);
  EXPECT_TRUE(ee::test::eventually([&] {
    int n = 0;
    for (auto& l : logs.lines())
      n += l.find("[stubborn] stubborn ready") != std::string::npos ? 1 : 0;
    return n == 2;
  }));
  b->shutdown(std::chrono::steady_clock::now() + 300ms);
}
