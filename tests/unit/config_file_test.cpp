// Reading a config file: the engine's and the plugins' keys, types and
// subscriptions, what each kind of plugin gets, paths relative to the file.
// Mistakes are in config_errors_test.cpp, the checks of the machine
// (ports, key files) in config_environment_test.cpp.

#include "ee/config_file.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "tests/unit/config_test_util.hpp"

using namespace ee::test;

TEST(ConfigFile, ParsesEngineAndPlugins) {
  auto d = parse(R"(
[engine]
publish_port = 0
subscribe_port = 7001
strategy = "rest_for_one"
shutdown_grace_ms = 250

[[plugin]]
name = "py"
port = 6000
subscriptions = ["TypeA", "TypeB"]
command = ["/usr/bin/python3", "plugin.py"]
env = { K = "v" }
restart = "transient"
)");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->config.publish_port, 0);
  EXPECT_EQ(d->config.subscribe_port, 7001);
  EXPECT_EQ(d->config.strategy, ee::restart_strategy::rest_for_one);
  EXPECT_EQ(d->config.shutdown_grace.count(), 250);
  ASSERT_EQ(d->plugins.size(), 1u);
  auto& p = d->plugins[0];
  EXPECT_EQ(p.name, "py");
  EXPECT_EQ(p.port, 6000);
  ASSERT_EQ(p.subscriptions.size(), 2u);
  EXPECT_EQ(p.subscriptions[1].filter(), "TypeB");
  EXPECT_EQ(p.command.size(), 2u);
  EXPECT_EQ(p.env.at("K"), "v");
  EXPECT_EQ(p.env.at("EE_TYPES"), "{}"); // no [types], but set
  EXPECT_EQ(p.working_dir, "/base");
  EXPECT_EQ(p.options.restart, ee::restart_policy::transient);
  EXPECT_EQ(d->plugin_order, std::vector<std::string>{"py"});
}

TEST(ConfigFile, ReadsEveryEngineKey) {
  auto d = parse(R"(
[engine]
bind_address = "*"
enable_tcp = false
max_message_size = 1000
queue_capacity = 11
queue_bytes = 12
delivery_window = 13
publish_window = 14
publish_window_bytes = 15
raw_subscriber_bytes = 16
max_restarts = 17
restart_period_ms = 18
scheduler_threads = 3
log_level = "debug"
)");
  ASSERT_TRUE(d) << d.error().to_string();
  auto& c = d->config;
  EXPECT_EQ(c.bind_address, "*");
  EXPECT_FALSE(c.enable_tcp);
  EXPECT_EQ(c.max_message_size, 1000u);
  EXPECT_EQ(c.queue_capacity, 11u);
  EXPECT_EQ(c.queue_bytes, 12u);
  EXPECT_EQ(c.delivery_window, 13u);
  EXPECT_EQ(c.publish_window, 14u);
  EXPECT_EQ(c.publish_window_bytes, 15u);
  EXPECT_EQ(c.raw_subscriber_bytes, 16u);
  EXPECT_EQ(c.max_restarts, 17u);
  EXPECT_EQ(c.restart_period.count(), 18);
  EXPECT_EQ(c.scheduler_threads, 3u);
  EXPECT_EQ(d->log_level, "debug");
}

TEST(ConfigFile, ReadsPerPluginDeliveryAndQueueKeys) {
  auto d = parse(R"(
[[plugin]]
name = "a"
port = 0
delivery = "at_most_once"
max_delivery_attempts = 7
queue_capacity = 5
queue_bytes = 4096
overflow = "drop_oldest"
backoff_initial_ms = 20
backoff_max_ms = 200
await_first_request = true
)");
  ASSERT_TRUE(d) << d.error().to_string();
  auto& p = d->plugins.at(0);
  EXPECT_EQ(p.delivery, ee::delivery_mode::at_most_once);
  EXPECT_EQ(p.max_delivery_attempts, 7u);
  EXPECT_EQ(p.options.queue_capacity, 5u);
  EXPECT_EQ(p.options.queue_bytes, 4096u);
  EXPECT_EQ(p.options.overflow, ee::overflow_policy::drop_oldest);
  EXPECT_EQ(p.options.backoff.initial.count(), 20);
  EXPECT_EQ(p.options.backoff.max.count(), 200);
  EXPECT_TRUE(p.await_first_request);
}

TEST(ConfigFile, TypesAsTextEscapesHexAndByteArrays) {
  auto d = parse(R"(
[types]
TypeA = "TypeA"
Escaped = "\u0001\u0000"
Reading = { hex = "01A0" }
Ack = [0x02, 0xb0, 255]
Spaced = { hex = "01 ff" }
)");
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d->types.size(), 5u);
  // File order, not the TOML table's (sorted) order.
  EXPECT_EQ(d->types[0], ee::event_type("TypeA", "TypeA"));
  EXPECT_EQ(d->types[1], ee::event_type("Escaped", std::string("\x01\x00", 2)));
  EXPECT_EQ(d->types[2], ee::event_type("Reading", "\x01\xa0"));
  EXPECT_EQ(d->types[3], ee::event_type("Ack", "\x02\xb0\xff"));
  EXPECT_EQ(d->types[4], ee::event_type("Spaced", "\x01\xff"));
  EXPECT_TRUE(d->warnings.empty());
}

TEST(ConfigFile, SubscriptionsNameTypesOrGiveLiterals) {
  auto d = parse(R"(
[types]
Reading = { hex = "01a0" }

[[plugin]]
name = "p"
port = 0
subscriptions = ["Reading", { prefix = "Log" }, { hex = "ff00" }, [3, 4],
                 { prefix = "" }]
)");
  ASSERT_TRUE(d) << d.error().to_string();
  auto& subs = d->plugins.at(0).subscriptions;
  ASSERT_EQ(subs.size(), 5u);
  EXPECT_EQ(subs[0], ee::event_type("Reading", "\x01\xa0"));
  EXPECT_EQ(subs[1].filter(), "Log");
  EXPECT_EQ(subs[2].filter(), std::string("\xff\x00", 2));
  EXPECT_EQ(subs[3].filter(), "\x03\x04");
  EXPECT_EQ(subs[4].filter(), "");
}

TEST(ConfigFile, WithoutTypesAStringIsALiteralPrefix) {
  auto d = parse("[[plugin]]\nname = \"p\"\nport = 0\n"
                 "subscriptions = [\"Anything\", \"\"]\n");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->plugins.at(0).subscriptions.at(0).filter(), "Anything");
  EXPECT_EQ(d->plugins.at(0).subscriptions.at(1).filter(), "");
}

TEST(ConfigFile, LaunchedPluginsGetTheTypesAsJsonHex) {
  auto d = parse(R"(
[types]
A = "A"
"Quote\"d" = [0x80]

[[plugin]]
name = "p"
port = 0
command = ["/bin/true"]

[[plugin]]
name = "q"
port = 0
env = { EE_TYPES = "mine" }
)");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->plugins.at(0).env.at("EE_TYPES"),
            R"({"A":"41","Quote\"d":"80"})");
  EXPECT_EQ(d->plugins.at(1).env.at("EE_TYPES"), "mine");
}

TEST(ConfigFile, LibraryPluginsGetConfigTypesAndSubscriptions) {
  setenv("EE_PLUGIN_PATH", "/x:/y", 1);
  auto d = parse(R"(
[types]
TypeA = "TypeA"

[[plugin]]
name = "counter"
library = "libc.so"
factory = "make_counter"
subscriptions = ["TypeA"]
restart = "permanent"
queue_capacity = 3
config = { limit = 5, ratio = 0.5, on = true, tags = ["a", "b"], nested = { deep = "x" } }

[[plugin]]
name = "rel"
library = "lib/librel.so"
factory = "f"
)");
  unsetenv("EE_PLUGIN_PATH");
  ASSERT_TRUE(d) << d.error().to_string();
  ASSERT_EQ(d->library_plugins.size(), 2u);
  auto& p = d->library_plugins[0];
  EXPECT_EQ(p.name, "counter");
  EXPECT_EQ(p.library, "libc.so");
  EXPECT_EQ(p.search_path, (std::vector<std::string>{"/base", "/x", "/y"}));
  EXPECT_EQ(p.factory, "make_counter");
  EXPECT_EQ(p.options.restart, ee::restart_policy::permanent);
  EXPECT_EQ(p.options.queue_capacity, 3u);
  auto& cfg = p.config;
  EXPECT_EQ(cfg.name(), "counter");
  EXPECT_EQ(cfg.get_int("limit"), 5);
  EXPECT_EQ(cfg.get_double("ratio"), 0.5);
  EXPECT_TRUE(cfg.get_bool("on"));
  EXPECT_EQ(cfg.get_strings("tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(cfg.get_string("nested.deep"), "x");
  EXPECT_EQ(cfg.type("TypeA").filter(), "TypeA");
  ASSERT_EQ(cfg.subscriptions().size(), 1u);
  EXPECT_EQ(d->library_plugins[1].library, "/base/lib/librel.so");
  EXPECT_EQ(d->plugin_order, (std::vector<std::string>{"counter", "rel"}));
  EXPECT_EQ(d->position("plugin.counter.library").line, 7u);
}

TEST(ConfigFile, LoadsAFileAndResolvesPathsFromItsFolder) {
  auto dir = ::testing::TempDir();
  auto path = dir + "/ee_config_test.toml";
  {
    std::ofstream out{path};
    out << "[[plugin]]\nname = \"p\"\nport = 0\n"
           "command = [\"./run.sh\"]\nworking_dir = \"sub\"\n";
  }
  auto d = ee::read_config_file(path).result();
  ASSERT_TRUE(d) << d.error().to_string();
  auto& p = d->plugins.at(0);
  EXPECT_EQ(p.command[0].substr(p.command[0].size() - 9), "/./run.sh");
  EXPECT_EQ(p.command[0][0], '/');
  EXPECT_EQ(p.working_dir.substr(p.working_dir.size() - 4), "/sub");
  EXPECT_EQ(d->file, path);
}

TEST(ConfigFile, ReadsWhatLaunchedProcessesGet) {
  auto d = parse("[engine]\n"
                 "inherit_env = [\"PATH\", \"LC_*\"]\n"
                 "[[plugin]]\n"
                 "name = \"p\"\n"
                 "port = 0\n"
                 "subscriptions = [\"X\"]\n"
                 "stderr_level = \"error\"\n");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->config.inherit_env, (std::vector<std::string>{"PATH", "LC_*"}));
  ASSERT_EQ(d->plugins.size(), 1u);
  EXPECT_EQ(d->plugins[0].stderr_level, ee::log_level::error);
  // The defaults: app_config's list, stderr at warning.
  auto dflt = parse("[[plugin]]\nname = \"p\"\nport = 0\nsubscriptions = "
                    "[\"X\"]\n");
  ASSERT_TRUE(dflt);
  EXPECT_EQ(dflt->config.inherit_env, ee::app_config{}.inherit_env);
  EXPECT_EQ(dflt->plugins[0].stderr_level, ee::log_level::warning);
  EXPECT_NE(only_error("[engine]\ninherit_env = \"PATH\"\n")
                .find("app.toml:2:15: error: [engine] inherit_env must be an "
                      "array of variable names"),
            std::string::npos);
  EXPECT_NE(only_error("[[plugin]]\nname = \"p\"\nport = 0\nsubscriptions = "
                       "[\"X\"]\nstderr_level = \"loud\"\n")
                .find("stderr_level is 'loud'"),
            std::string::npos);
}
