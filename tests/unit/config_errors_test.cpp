// Mistakes in a config file: every error with its position and fix,
// warnings, wrong shapes, and input the TOML parser must never see.

#include "ee/config_file.hpp"

#include <gtest/gtest.h>

#include "tests/unit/config_test_util.hpp"

using namespace ee::test;

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
