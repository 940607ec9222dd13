// docs/configuration.md lists every key of an app file with its default:
// these tests read it and compare each row with what the code declares
// (the loader's result for a file that sets nothing), and check that every
// key the loader knows has a row.

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <gtest/gtest.h>

#include "ee/config_file.hpp"
#include "ee/names.hpp"

namespace {

// Section ("[engine]", ...) -> key -> the default as written in the doc.
using doc_table = std::map<std::string, std::map<std::string, std::string>>;

doc_table read_doc() {
  std::ifstream in{EE_SOURCE_DIR "/docs/configuration.md"};
  EXPECT_TRUE(in) << "docs/configuration.md not found";
  doc_table result;
  std::string section;
  std::regex heading{R"(^## `([^`]+)`(, .*)?$)"};
  std::regex row{R"(^\| `([a-z_]+)` \| (.+?) \|)"};
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, heading))
      section = m[1].str() + m[2].str();
    else if (std::regex_search(line, m, row))
      result[section][m[1]] = m[2];
  }
  return result;
}

std::string in_quotes(std::string_view text) {
  return "`\"" + std::string{text} + "\"`";
}

std::string quoted_list(const std::vector<std::string>& xs) {
  std::string out = "`[";
  for (auto& x : xs)
    out += (out.size() > 2 ? ", \"" : "\"") + x + "\"";
  return out + "]`";
}

std::string number(long long n) {
  return "`" + std::to_string(n) + "`";
}

std::string flag(bool b) {
  return b ? "`true`" : "`false`";
}

ee::app_description defaults() {
  auto r = ee::read_config("[[plugin]]\nname = \"by_hand\"\nport = 0\n"
                           "[[plugin]]\nname = \"launched\"\nport = 0\n"
                           "command = [\"/bin/true\"]\n",
                           "/base", "app.toml");
  EXPECT_TRUE(r.ok()) << r.errors();
  return r.description;
}

// The keys the loader knows in a section: its "unknown key" message lists
// them.
std::vector<std::string> known_keys(const std::string& text) {
  auto r = ee::read_config(text, "/base", "app.toml");
  auto errors = r.errors();
  auto at = errors.find("known keys: ");
  EXPECT_NE(at, std::string::npos) << errors;
  std::vector<std::string> keys;
  std::stringstream list{errors.substr(at + 12)};
  std::string key;
  while (std::getline(list, key, ',')) {
    key.erase(0, key.find_first_not_of(' '));
    key = key.substr(0, key.find_first_of(" \n"));
    keys.push_back(key);
  }
  return keys;
}

TEST(ConfigDefaults, EveryEngineDefaultIsDocumented) {
  auto doc = read_doc()["[engine]"];
  auto c = defaults().config;
  std::map<std::string, std::string> code{
      {"publish_port", number(c.publish_port)},
      {"subscribe_port", number(c.subscribe_port)},
      {"bind_address", in_quotes(c.bind_address)},
      {"enable_tcp", flag(c.enable_tcp)},
      {"max_message_size", number(c.max_message_size)},
      {"queue_capacity", number(c.queue_capacity)},
      {"queue_bytes", number(c.queue_bytes)},
      {"delivery_window", number(c.delivery_window)},
      {"publish_window", number(c.publish_window)},
      {"publish_window_bytes", number(c.publish_window_bytes)},
      {"raw_subscriber_bytes", number(c.raw_subscriber_bytes)},
      {"max_subscriptions", number(c.max_subscriptions)},
      {"max_subscription_bytes", number(c.max_subscription_bytes)},
      {"max_subscriber_bytes", number(c.max_subscriber_bytes)},
      {"max_connections", number(c.max_connections)},
      {"strategy", in_quotes(ee::name_of(c.strategy))},
      {"max_restarts", number(c.max_restarts)},
      {"restart_period_ms", number(c.restart_period.count())},
      {"shutdown_grace_ms", number(c.shutdown_grace.count())},
      {"scheduler_threads", number(c.scheduler_threads)},
      {"stats_interval_ms", number(c.stats_interval.count())},
      {"log_level", in_quotes(ee::name_of(ee::log_level::info))},
      {"inherit_env", quoted_list(c.inherit_env)},
  };
  for (auto& [key, value] : code)
    EXPECT_EQ(doc[key], value) << "[engine] " << key;
  for (auto& key : known_keys("[engine]\nzzzzzzzzzzzzzzzzzzzzzz = 1\n"))
    if (key != "security")
      EXPECT_EQ(doc.count(key), 1u) << "[engine] " << key << " is not in "
                                    << "docs/configuration.md";
}

TEST(ConfigDefaults, EverySecurityDefaultIsDocumented) {
  auto doc = read_doc()["[engine.security]"];
  auto s = defaults().config.security;
  EXPECT_EQ(doc["curve"], flag(s.curve));
  EXPECT_TRUE(s.secret_key_file.empty() && s.allowed_clients_dir.empty());
  EXPECT_EQ(doc["secret_key_file"], "none");
  EXPECT_EQ(doc["allowed_clients_dir"], "none");
  EXPECT_EQ(doc["allowed_keys"], "`[]`");
  for (auto& key :
       known_keys("[engine.security]\nzzzzzzzzzzzzzzzzzzzzzz = 1\n"))
    EXPECT_EQ(doc.count(key), 1u) << key;
}

TEST(ConfigDefaults, EveryPluginDefaultIsDocumented) {
  auto all = read_doc();
  auto common = all["[[plugin]], every kind"];
  auto external = all["[[plugin]], external (another process)"];
  auto library = all["[[plugin]], from a shared library"];
  auto d = defaults();
  auto& by_hand = d.plugins.at(0);
  auto& launched = d.plugins.at(1);
  auto& o = by_hand.options;
  EXPECT_EQ(common["restart"],
            in_quotes(ee::name_of(launched.options.restart)) +
                " if the engine starts it, else " +
                in_quotes(ee::name_of(o.restart)));
  EXPECT_EQ(common["backoff_initial_ms"], number(o.backoff.initial.count()));
  EXPECT_EQ(common["backoff_max_ms"], number(o.backoff.max.count()));
  EXPECT_EQ(common["queue_capacity"], number(o.queue_capacity));
  EXPECT_EQ(common["queue_bytes"], number(o.queue_bytes));
  EXPECT_EQ(common["overflow"], in_quotes(ee::name_of(o.overflow)));
  EXPECT_EQ(external["await_first_request"], flag(by_hand.await_first_request));
  EXPECT_EQ(external["delivery"], in_quotes(ee::name_of(by_hand.delivery)));
  EXPECT_EQ(external["stderr_level"],
            in_quotes(ee::name_of(by_hand.stderr_level)));
  EXPECT_EQ(external["max_delivery_attempts"],
            number(by_hand.max_delivery_attempts));
  EXPECT_EQ(by_hand.working_dir, "/base");
  EXPECT_EQ(external["working_dir"], "the file's folder");
  auto ext_keys = known_keys("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "zzzzzzzzzzzzzzzzzzzzzz = 1\n");
  auto lib_keys = known_keys("[[plugin]]\nname = \"p\"\nlibrary = \"x.so\"\n"
                             "factory = \"f\"\nzzzzzzzzzzzzzzzzzzzzzz = 1\n");
  ext_keys.insert(ext_keys.end(), lib_keys.begin(), lib_keys.end());
  for (auto& key : ext_keys)
    EXPECT_EQ(common.count(key) + external.count(key) + library.count(key), 1u)
        << "plugin key " << key;
}

} // namespace
