#include "ee/config_file.hpp"

#include <gtest/gtest.h>

namespace {

ee::error parse(const std::string& text, ee::app_description& out) {
  return ee::parse_config(text, "/base", out);
}

} // namespace

TEST(ConfigFile, ParsesEngineAndPlugins) {
  ee::app_description d;
  auto err = parse(R"(
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
)",
                   d);
  ASSERT_FALSE(err) << err.to_string();
  EXPECT_EQ(d.config.publish_port, 0);
  EXPECT_EQ(d.config.subscribe_port, 7001);
  EXPECT_EQ(d.config.strategy, ee::restart_strategy::rest_for_one);
  EXPECT_EQ(d.config.shutdown_grace.count(), 250);
  ASSERT_EQ(d.plugins.size(), 1u);
  auto& p = d.plugins[0];
  EXPECT_EQ(p.name, "py");
  EXPECT_EQ(p.port, 6000);
  ASSERT_EQ(p.subscriptions.size(), 2u);
  EXPECT_EQ(p.subscriptions[1].filter(), "TypeB");
  EXPECT_EQ(p.command.size(), 2u);
  EXPECT_EQ(p.env.at("K"), "v");
  EXPECT_EQ(p.working_dir, "/base");
  EXPECT_EQ(p.options.restart, ee::restart_policy::transient);
}

TEST(ConfigFile, ErrorsNameTheProblem) {
  ee::app_description d;
  auto err = parse("[engine]\npublish_port = 70000\n", d);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("publish_port"), std::string::npos);
  EXPECT_NE(err.message().find("70000"), std::string::npos);
  ee::app_description d2;
  err = parse("[engine]\npublsh_port = 1\n", d2);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("unknown key 'publsh_port'"), std::string::npos);
  ee::app_description d3;
  err = parse("[[plugin]]\nport = 1\n", d3);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("name"), std::string::npos);
  ee::app_description d4;
  err = parse("[engine\n", d4);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("line 1"), std::string::npos);
  ee::app_description d5;
  err = parse("[[plugin]]\nname = \"x\"\nport = 1\nrestart = \"always\"\n", d5);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("permanent, transient or temporary"),
            std::string::npos);
  ee::app_description d6;
  err = ee::load_config_file("/nonexistent/ee.toml", d6);
  ASSERT_TRUE(err);
  EXPECT_NE(err.message().find("/nonexistent/ee.toml"), std::string::npos);
}
