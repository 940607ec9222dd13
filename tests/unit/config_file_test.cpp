#include "ee/config_file.hpp"

#include <cstdlib>
#include <fstream>

#include <gtest/gtest.h>

namespace {

ee::expected<ee::app_description> parse(const std::string& text) {
  return ee::read_config(text, "/base").result();
}

ee::config_report report(const std::string& text) {
  return ee::read_config(text, "/base", "app.toml");
}

std::vector<std::string> errors(const ee::config_report& r) {
  std::vector<std::string> result;
  for (auto& d : r.diagnostics)
    if (d.severity == ee::severity::error)
      result.push_back(d.to_string());
  return result;
}

std::vector<std::string> warnings(const ee::config_report& r) {
  std::vector<std::string> result;
  for (auto& d : r.diagnostics)
    if (d.severity == ee::severity::warning)
      result.push_back(d.to_string());
  return result;
}

// The one error of `text`, as "app.toml:LINE:COL: error: ...".
std::string only_error(const std::string& text) {
  auto r = report(text);
  auto errs = errors(r);
  EXPECT_EQ(errs.size(), 1u) << ::testing::PrintToString(errs);
  return errs.empty() ? std::string{} : errs.front();
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> to_strings(const std::vector<ee::diagnostic>& diags) {
  std::vector<std::string> result;
  for (auto& x : diags)
    result.push_back(x.to_string());
  return result;
}

} // namespace

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

TEST(ConfigFile, ReportsEveryErrorWithPositionAndFix) {
  auto r = report(R"([engine]
publsh_port = 1
subscribe_port = "x"
strategy = "one_for_al"

[types]
Ack = [2, 0x1b0]
Bad = { hex = "01z" }
Odd = { hex = "010" }
Empty = ""
Good = "Good"
[[plugin]]
name = "p"
port = 70000
subscriptions = ["Goood"]
factory = "f"
)");
  auto errs = errors(r);
  ASSERT_EQ(errs.size(), 10u) << ::testing::PrintToString(errs);
  EXPECT_EQ(errs[0], "app.toml:2:1: error: unknown key 'publsh_port' in "
                     "[engine]; did you mean 'publish_port'?");
  EXPECT_TRUE(has(errs[1], "app.toml:3:18: error: [engine] subscribe_port "
                           "must be an integer"));
  EXPECT_TRUE(has(errs[2], "app.toml:4:12:")) << errs[2];
  EXPECT_TRUE(has(errs[2], "did you mean 'one_for_all'?")) << errs[2];
  EXPECT_TRUE(has(errs[3], "app.toml:7:11:")) << errs[3];
  EXPECT_TRUE(has(errs[3], "0..255")) << errs[3];
  EXPECT_TRUE(has(errs[4], "app.toml:8:15:")) << errs[4];
  EXPECT_TRUE(has(errs[4], "'z' at position 3")) << errs[4];
  EXPECT_TRUE(has(errs[5], "odd number of hex digits")) << errs[5];
  EXPECT_TRUE(has(errs[6], "empty prefix")) << errs[6];
  EXPECT_TRUE(has(errs[7], "app.toml:14:8:")) << errs[7];
  EXPECT_TRUE(has(errs[7], "70000, out of range 0..65535")) << errs[7];
  EXPECT_TRUE(has(errs[8], "app.toml:15:18:")) << errs[8];
  EXPECT_TRUE(has(errs[8], "'Goood' names no type")) << errs[8];
  EXPECT_TRUE(has(errs[8], "did you mean 'Good'?")) << errs[8];
  EXPECT_TRUE(has(errs[8], "{ prefix = \"Goood\" }")) << errs[8];
  EXPECT_TRUE(has(errs[9], "app.toml:16:1: error: 'factory' belongs to"))
      << errs[9];
  EXPECT_FALSE(r.ok());
}

TEST(ConfigFile, KeysOfTheOtherPluginKindAreExplained) {
  auto e = only_error("[[plugin]]\nname = \"p\"\nport = 0\nfactory = \"f\"\n");
  EXPECT_TRUE(has(e, "app.toml:4:1:")) << e;
  EXPECT_TRUE(has(e, "'factory' belongs to a plugin from a shared library"))
      << e;
  e = only_error("[[plugin]]\nname = \"p\"\nlibrary = \"l.so\"\n"
                 "factory = \"f\"\nport = 0\n");
  EXPECT_TRUE(has(e, "'port' belongs to an external plugin")) << e;
  e = only_error("[[plugin]]\nname = \"p\"\nlibrary = \"l.so\"\n");
  EXPECT_TRUE(has(e, "needs factory")) << e;
}

TEST(ConfigFile, DuplicateNamesPointAtTheFirst) {
  auto e = only_error("[[plugin]]\nname = \"p\"\nport = 0\n\n"
                      "[[plugin]]\nname = \"p\"\nport = 0\n");
  EXPECT_TRUE(has(e, "app.toml:6:8:")) << e;
  EXPECT_TRUE(has(e, "'p' is used twice (first at line 2)")) << e;
}

TEST(ConfigFile, WarnsWhenATypePrefixStartsAnother) {
  auto r = report(R"(
[types]
Type = "Type"
TypeA = "TypeA"
Same = "TypeA"
Other = "X"
)");
  EXPECT_TRUE(r.ok()) << r.errors();
  auto w = warnings(r);
  ASSERT_EQ(w.size(), 3u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "app.toml:3:1: warning: the prefix of type 'Type'"))
      << w[0];
  EXPECT_TRUE(has(w[0], "subscribers of 'Type' also receive every 'TypeA'"))
      << w[0];
  EXPECT_TRUE(has(w[1], "every 'Same'")) << w[1];
  EXPECT_TRUE(has(w[2], "'TypeA' and 'Same' have the same prefix")) << w[2];
  EXPECT_EQ(r.description.warnings.size(), 3u);
}

TEST(ConfigFile, WarningsAboutOverlappingTypesAreBounded) {
  // 1,200 types with one prefix (11 KB) gave a warning per pair: 719,400
  // of them, 6 s and 600 MB in a release build (a 10 s timeout of
  // fuzz_config). Now the first 100, and a count of the rest.
  std::string text = "[types]\n";
  for (int i = 0; i < 2000; ++i)
    text += "t" + std::to_string(i) + " = \"x\"\n";
  text += "Longer = \"xy\"\n";
  auto r = report(text);
  EXPECT_TRUE(r.ok()) << r.errors();
  auto w = warnings(r);
  ASSERT_EQ(w.size(), 101u);
  EXPECT_TRUE(has(w[0], "app.toml:2:1: warning: types 't0' and 't1' have "
                        "the same prefix \"x\""))
      << w[0];
  EXPECT_TRUE(has(w[99], "types 't0' and 't100' have the same prefix"))
      << w[99];
  auto pairs = 2000 * 1999 / 2 + 2000; // equal prefixes, then "x" < "xy"
  EXPECT_TRUE(
      has(w[100], "app.toml:2:1: warning: " + std::to_string(pairs - 100) +
                      " more pairs of types where one prefix starts "
                      "the other (the first 100 are listed)"))
      << w[100];
}

TEST(ConfigFile, MissingNameAndPortAreErrors) {
  auto r = report("[[plugin]]\nsubscriptions = []\n");
  auto errs = errors(r);
  ASSERT_EQ(errs.size(), 2u) << ::testing::PrintToString(errs);
  EXPECT_TRUE(has(errs[0], "needs a name")) << errs[0];
  EXPECT_TRUE(has(errs[1], "needs a port")) << errs[1];
}

TEST(ConfigFile, WrongShapesAreErrors) {
  EXPECT_TRUE(has(only_error("plugin = 1\n"), "array of tables"));
  EXPECT_TRUE(has(only_error("[plugin]\nname = \"x\"\n"),
                  "write [[plugin]] (two brackets)"));
  EXPECT_TRUE(has(only_error("engine = 1\n"), "'engine' must be a table"));
  EXPECT_TRUE(has(only_error("types = 2\n"), "'types' must be a table"));
  EXPECT_TRUE(has(only_error("[typez]\n"), "did you mean 'types'?"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "command = []\n"),
                  "non-empty array of strings"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "env = { A = 1 }\n"),
                  "env.A must be a string"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nlibrary = \"l\"\n"
                             "factory = \"f\"\nconfig = { d = 1979-05-27 }\n"),
                  "config.d is a date/time"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "delivery = \"exactly_once\"\n"),
                  "at_least_once or at_most_once"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "subscriptions = [{ hex = 1 }]\n"),
                  "hex must be a string"));
  EXPECT_TRUE(has(only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                             "subscriptions = [1]\n"),
                  "must be a type name, { prefix"));
}

TEST(ConfigFile, SyntaxErrorsNameLineAndColumn) {
  auto e = only_error("[engine]\npublish_port = = 1\n");
  EXPECT_TRUE(has(e, "app.toml:2:")) << e;
  EXPECT_TRUE(has(e, "TOML syntax error")) << e;
}

TEST(ConfigFile, ErrorsNameTheProblem) {
  auto d = parse("[engine]\npublish_port = 70000\n");
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().code(), ee::ec::config_file);
  EXPECT_TRUE(has(d.error().message(), "publish_port"));
  EXPECT_TRUE(has(d.error().message(), "70000"));
  d = parse("[engine]\npublsh_port = 1\nsubscribe_port = -1\n");
  ASSERT_FALSE(d);
  // Every error, one per line.
  EXPECT_TRUE(has(d.error().message(), "unknown key 'publsh_port'"));
  EXPECT_TRUE(has(d.error().message(), "\n"));
  EXPECT_TRUE(has(d.error().message(), "subscribe_port is -1"));
  d = parse("[engine\n");
  ASSERT_FALSE(d);
  EXPECT_TRUE(has(d.error().message(), "1:8:")) << d.error().message();
  auto f = ee::read_config_file("/nonexistent/ee.toml").result();
  ASSERT_FALSE(f);
  EXPECT_TRUE(has(f.error().message(), "/nonexistent/ee.toml"));
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

TEST(ConfigFile, CheckEnvironmentFindsPortClashesAndMissingThings) {
  auto d = ee::read_config(R"([engine]
publish_port = 7000
subscribe_port = 7001

[[plugin]]
name = "a"
port = 7000
command = ["no-such-program-ee-test"]

[[plugin]]
name = "b"
port = 7100
working_dir = "/nonexistent-ee-dir"

[[plugin]]
name = "c"
port = 7100
)",
                           "/")
               .result();
  ASSERT_TRUE(d) << d.error().to_string();
  auto diags = ee::check_environment(*d);
  auto texts = to_strings(diags);
  ASSERT_EQ(texts.size(), 4u) << ::testing::PrintToString(texts);
  EXPECT_TRUE(has(texts[0], "7:8: error: port 7000 of plugin 'a' is already "
                            "used by the engine's publish_port (line 2)"))
      << texts[0];
  EXPECT_TRUE(has(texts[1], "8:11:")) << texts[1];
  EXPECT_TRUE(has(texts[1], "no-such-program-ee-test' not found")) << texts[1];
  EXPECT_TRUE(has(texts[2], "working directory '/nonexistent-ee-dir'"))
      << texts[2];
  EXPECT_TRUE(has(texts[3], "port 7100 of plugin 'c' is already used by "
                            "plugin 'b'"))
      << texts[3];
  d->config.publish_port = 7001; // e.g. from --publish-port
  diags = ee::check_environment(*d);
  EXPECT_TRUE(has(diags.at(0).message, "7001 of the engine's subscribe_port"))
      << diags.at(0).message;
}

// -- input that toml++ 3.3.0 must not see (undefined behaviour, asserts) ------

TEST(ConfigFile, RejectsBytesTheTomlParserMishandles) {
  // EF B9 BF (U+FE7F) where toml++ looks for white space: TOML_UNREACHABLE.
  auto e = only_error("a = 1 \xEF\xB9\xBF\n");
  EXPECT_TRUE(has(e, "app.toml:1:7:")) << e;
  EXPECT_TRUE(has(e, "U+FE7F outside quotes")) << e;
  e = only_error("\xEF\xB9\xBF = 1\n");
  EXPECT_TRUE(has(e, "app.toml:1:1:")) << e;
  e = only_error("a = 1 \xC3\xA9\n");
  EXPECT_TRUE(has(e, "U+00E9")) << e;
  e = only_error("[\xC3\xA9]\n");
  EXPECT_TRUE(has(e, "table header needs a name")) << e;
  e = only_error("a = \"\"\"\\\n  \xC3\xA9\"\"\"\n");
  EXPECT_TRUE(has(e, "after a backslash")) << e;
  e = only_error("b = 1'''y\xEF\xB9\xBF'''\n");
  EXPECT_TRUE(has(e, "U+FE7F")) << e;
  // `[?` asserts in toml++ builds without NDEBUG.
  e = only_error("a = 1\n[?\n");
  EXPECT_TRUE(has(e, "app.toml:2:1: error: a table header needs a name")) << e;
  EXPECT_TRUE(has(only_error("[ ?]\n"), "table header needs a name"));
  EXPECT_TRUE(has(only_error("[[?]]\n"), "table header needs a name"));
  EXPECT_TRUE(has(only_error("v = [}\n"), "'}' where an array element"));
  EXPECT_TRUE(has(only_error("v = [1,\n}\n"), "'}' where an array element"));
  EXPECT_TRUE(has(only_error("a = 1979-05-27 0\n"), "must go on with a time"));
  // Found by fuzz_config: what toml++ takes for a date is wider.
  EXPECT_TRUE(has(only_error("a = 197y-05-27 0\n"), "must go on with a time"));
  EXPECT_TRUE(has(only_error("a = 1_979-05-27 0\n"), "must go on with a time"));
  EXPECT_TRUE(
      has(only_error("d = 1979-05-27T@07:32:00Z\n"), "must go on with a time"));
  EXPECT_TRUE(has(only_error("a = 1 # 0 = any\nb=[}\n"),
                  "app.toml:2:4: error: '}' where an array element"));
  // Invalid UTF-8 and bytes >= 0x80: a clear error, with the fix.
  e = only_error("a = \"\xFF\"\n");
  EXPECT_TRUE(has(e, "invalid UTF-8 (byte 0xff)")) << e;
  EXPECT_TRUE(has(e, "{ hex = ")) << e;
}

TEST(ConfigFile, FloatsWhereIntegersGoAreErrorsWhateverTheirSize) {
  // Found by fuzz_config: asking toml++ for an integer from a float beyond
  // 64 bits was undefined behaviour (a cast inside toml++).
  for (const char* value : {"7E200", "-1e19", "0.5", "inf", "nan"}) {
    auto e = only_error(std::string{"[[plugin]]\nname = \"a\"\nport = "} +
                        value + "\n");
    EXPECT_TRUE(has(e, "port must be an integer (0..65535), not a float")) << e;
    e = only_error(std::string{"[types]\nAck = [2, "} + value + "]\n");
    EXPECT_TRUE(has(e, "a byte must be an integer 0..255 (e.g. 0x80), not "
                       "a float"))
        << e;
  }
  EXPECT_TRUE(has(only_error("[engine]\nqueue_bytes = 1e300\n"),
                  "queue_bytes must be an integer"));
}

TEST(ConfigFile, AcceptsNonAsciiWhereTomlAllowsIt) {
  auto d = parse("# caf\xC3\xA9 \xEF\xB9\xBF\n"
                 "[types]\n"
                 "\"Caf\xC3\xA9\" = \"\xEF\xB9\xBF\xE2\xB4\x80\"\n"
                 "Lit = '\xC3\xA9'\n"
                 "Ml = \"\"\"x\xC3\xA9\"\"\"\n"
                 "Esc = \"\\uFE7F\"\n"
                 "[[plugin]]\n"
                 "name = \"n\"\nport = 0\n"
                 "subscriptions = [\"Caf\xC3\xA9\", \"Esc\"]\n");
  ASSERT_TRUE(d) << d.error().to_string();
  EXPECT_EQ(d->types.at(0).filter(), "\xEF\xB9\xBF\xE2\xB4\x80");
  EXPECT_EQ(d->types.at(3).filter(), "\xEF\xB9\xBF");
  EXPECT_EQ(d->plugins.at(0).subscriptions.at(0).name(), "Caf\xC3\xA9");
  // A byte order mark is fine.
  EXPECT_TRUE(parse("\xEF\xBB\xBF[engine]\npublish_port = 0\n"));
}

// -- [engine.security] and the plugins' keys --------------------------------

namespace {

// A folder with key files for the key checks of check_environment, removed at
// the end.
struct key_folder {
  std::string path;
  key_folder() {
    std::string tmpl = ::testing::TempDir() + "/ee-keys-XXXXXX";
    path = ::mkdtemp(tmpl.data());
  }
  ~key_folder() { std::system(("rm -rf '" + path + "'").c_str()); }
  void write(const std::string& name, const std::string& text) {
    std::system(
        ("mkdir -p \"$(dirname '" + path + "/" + name + "')\"").c_str());
    std::ofstream{path + "/" + name} << text;
  }
};

std::string public_cert(const std::string& z85) {
  return "metadata\ncurve\n    public-key = \"" + z85 + "\"\n";
}

// A valid pair (from pyzmq's own test vectors).
const std::string pub_key = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
const std::string sec_key = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";

std::string secret_cert() {
  return "curve\n    public-key = \"" + pub_key + "\"\n    secret-key = \"" +
         sec_key + "\"\n";
}

} // namespace

TEST(ConfigFile, ReadsSecurityKeysRelativeToTheFile) {
  auto d = parse(R"([engine]
bind_address = "0.0.0.0"
[engine.security]
curve = true
secret_key_file = "server.key_secret"
allowed_clients_dir = "clients/"
allowed_keys = ["ops/tap.key", "/etc/ee/admin.key"]

[[plugin]]
name = "py1"
port = 0
allowed_keys = ["clients/py1.key"]
client_key_file = "clients/py1.key_secret"
)");
  ASSERT_TRUE(d) << d.error().to_string();
  auto& sec = d->config.security;
  EXPECT_TRUE(sec.curve);
  EXPECT_EQ(sec.secret_key_file, "/base/server.key_secret");
  EXPECT_EQ(sec.allowed_clients_dir, "/base/clients/");
  EXPECT_EQ(
      sec.allowed_key_files,
      (std::vector<std::string>{"/base/ops/tap.key", "/etc/ee/admin.key"}));
  auto& p = d->plugins.at(0);
  EXPECT_EQ(p.allowed_key_files,
            std::vector<std::string>{"/base/clients/py1.key"});
  EXPECT_EQ(p.client_key_file, "/base/clients/py1.key_secret");
  EXPECT_EQ(d->position("engine.security.allowed_keys.1").line, 7u);
  EXPECT_EQ(d->position("plugin.py1.allowed_keys.0").line, 12u);
}

TEST(ConfigFile, SecurityMistakesAreErrorsAndWarnings) {
  // Found by the one validation (check_environment), as app::run finds it.
  auto no_pair = report("[engine.security]\ncurve = true\n"
                        "[[plugin]]\nname = \"p\"\nport = 0\n");
  ASSERT_TRUE(no_pair.ok());
  auto env = to_strings(ee::check_environment(no_pair.description));
  std::string no_secret;
  for (auto& x : env)
    if (has(x, "key pair"))
      no_secret = x;
  EXPECT_TRUE(has(no_secret, "app.toml:2:9: error: [engine.security] curve = "
                             "true: the engine has no key pair: set "
                             "secret_key_file"))
      << no_secret;
  EXPECT_TRUE(has(no_secret, "event-engine keygen server")) << no_secret;
  auto typo =
      only_error("[engine.security]\ncurve = true\n"
                 "secret_key_file = \"s\"\nallowed_client_dir = \"c\"\n");
  EXPECT_TRUE(has(typo, "4:1: error: unknown key 'allowed_client_dir' in "
                        "[engine.security]; did you mean "
                        "'allowed_clients_dir'?"))
      << typo;
  auto shape =
      only_error("[engine.security]\ncurve = true\n"
                 "secret_key_file = \"s\"\nallowed_keys = \"a.key\"\n");
  EXPECT_TRUE(has(shape, "allowed_keys must be an array of public "
                         "certificate files"))
      << shape;
  auto entry = only_error("[[plugin]]\nname = \"p\"\nport = 0\n"
                          "allowed_keys = [\"a.key\", 3]\n");
  EXPECT_TRUE(has(entry, "4:26: error: plugin 'p' allowed_keys: each entry is "
                         "the path of a public certificate file (NAME.key), "
                         "not an integer"))
      << entry;
  auto r = report("[engine.security]\nsecret_key_file = \"s\"\n"
                  "[[plugin]]\nname = \"p\"\nport = 0\n"
                  "client_key_file = \"p.key_secret\"\n");
  auto w = warnings(r);
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "2:19: warning: [engine.security] secret_key_file has "
                        "no effect while curve is not true"))
      << w[0];
  EXPECT_TRUE(has(w[1], "6:19: warning: plugin 'p' client_key_file has no "
                        "effect"))
      << w[1];
  auto launched = report("[engine.security]\ncurve = true\n"
                         "secret_key_file = \"s\"\n"
                         "[[plugin]]\nname = \"py\"\nport = 0\n"
                         "command = [\"/usr/bin/python3\", \"p.py\"]\n");
  w = warnings(launched);
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "allows no client on the publish and subscribe ports"))
      << w[0];
  EXPECT_TRUE(has(w[1], "plugin 'py' is launched under CURVE without "
                        "client_key_file"))
      << w[1];
}

TEST(ConfigFile, CheckKeysReportsEveryBadKeyFileAtItsLine) {
  key_folder k;
  k.write("server.key_secret", secret_cert());
  k.write("clients/readme.txt", "no keys");
  k.write("ops/short.key", "curve\n    public-key = \"abc\"\n");
  k.write("p.key", public_cert(pub_key));
  auto text = R"([engine.security]
curve = true
secret_key_file = "p.key"
allowed_clients_dir = "clients"
allowed_keys = ["ops/short.key", "ops/missing.key"]

[[plugin]]
name = "p"
port = 0
allowed_keys = ["p.key"]
client_key_file = "server.key_secret"
)";
  auto d = ee::read_config(text, k.path).result();
  ASSERT_TRUE(d) << d.error().to_string();
  auto texts = to_strings(ee::check_environment(*d));
  ASSERT_EQ(texts.size(), 5u) << ::testing::PrintToString(texts);
  EXPECT_TRUE(has(texts[0], "3:19: error: [engine.security] secret_key_file: "
                            "key file '" +
                                k.path + "/p.key' has no secret-key"))
      << texts[0];
  EXPECT_TRUE(has(texts[1], "4:23: error: [engine.security] "
                            "allowed_clients_dir: allowed clients folder '" +
                                k.path + "/clients' has no *.key file"))
      << texts[1];
  EXPECT_TRUE(has(texts[2], "5:17: error: [engine.security] allowed_keys: key "
                            "file '" +
                                k.path +
                                "/ops/short.key' line 2: its "
                                "public-key has 3 characters"))
      << texts[2];
  EXPECT_TRUE(has(texts[3], "5:34: error:")) << texts[3];
  EXPECT_TRUE(has(texts[3], "ops/missing.key' does not exist")) << texts[3];
  // The secret file was written with the default umask (0644): readable.
  EXPECT_TRUE(has(texts[4], "11:19: warning: secret key file")) << texts[4];
  EXPECT_TRUE(has(texts[4], "chmod 600")) << texts[4];
  // Without CURVE the files are not looked at.
  d->config.security.curve = false;
  EXPECT_TRUE(ee::check_environment(*d).empty());
}

TEST(ConfigFile, NonAsciiTextPrefixesWarnAndShowTheHexForms) {
  auto r = report("[types]\nLatin = \"\\u00ff\"\nEuro = \"\\u20ac\"\n"
                  "Plain = \"TypeA\"\nBytes = { hex = \"ff\" }\n"
                  "[[plugin]]\nname = \"p\"\nport = 0\n");
  ASSERT_TRUE(r.ok()) << r.errors();
  auto w = warnings(r);
  ASSERT_EQ(w.size(), 2u) << ::testing::PrintToString(w);
  EXPECT_TRUE(has(w[0], "app.toml:2:9: warning: [types] Latin is text with "
                        "non-ASCII characters, which TOML stores as UTF-8: "
                        "its prefix is the bytes c3bf; to say the bytes, "
                        "write { hex = \"c3bf\" }, or { hex = \"ff\" } for one "
                        "byte per character"))
      << w[0];
  EXPECT_TRUE(has(w[1], "[types] Euro is text with non-ASCII characters"))
      << w[1];
  EXPECT_FALSE(has(w[1], "one byte per character")) << w[1];
  EXPECT_EQ(r.description.find_type("Latin")->filter(), "\xc3\xbf");
}

TEST(ConfigFile, ATypeWithABadPrefixIsReportedOnce) {
  auto r = report("[types]\nA = { hex = \"zz\" }\nB = \"\"\n"
                  "[[plugin]]\nname = \"p\"\nport = 0\n"
                  "subscriptions = [\"A\", \"B\"]\n");
  auto e = errors(r);
  ASSERT_EQ(e.size(), 2u) << ::testing::PrintToString(e);
  EXPECT_TRUE(has(e[0], "2:13: error: [types] A: hex")) << e[0];
  EXPECT_TRUE(has(e[1], "3:5: error: [types] B has an empty prefix")) << e[1];
}

TEST(ConfigFile, WithoutTcpTheEnginePortsAreNotClaimed) {
  // enable_tcp = false opens no raw port, so a plugin may use 5559 (as
  // app::run agrees: the one validation decides both).
  auto r = report("[engine]\nenable_tcp = false\n"
                  "[[plugin]]\nname = \"p\"\nport = 5559\n");
  ASSERT_TRUE(r.ok()) << r.errors();
  auto env = to_strings(ee::check_environment(r.description));
  for (auto& x : env)
    EXPECT_FALSE(has(x, "already used")) << x;
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
