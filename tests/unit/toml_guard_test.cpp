#include "util/toml_guard.hpp"

#include <gtest/gtest.h>

using ee::util::check_toml_input;

namespace {

std::string problem(std::string_view text) {
  auto p = check_toml_input(text);
  if (!p)
    return "none";
  return std::to_string(p->line) + ":" + std::to_string(p->column) + " " +
         p->message;
}

} // namespace

TEST(TomlGuard, AcceptsValidToml) {
  for (const char* text : {
           "",
           "a = 1\n",
           "\xEF\xBB\xBF"
           "a = 1\n", // byte order mark
           "[engine]\npublish_port = 0 # caf\xC3\xA9\n",
           "[ a . b ]\n[[c]]\n[ \"q\xC3\xA9\" ]\n['lit']\n",
           "v = [\n  [1, 2],\n  [3],\n]\n",
           "v = [ # c\n  1, # d\n]\n",
           "t = { a = [1, { b = 2 }], c = \"}\" }\n",
           "s = \"a\\\"b\xC3\xA9\"\nl = 'x\xEF\xB9\xBF'\n",
           "m = \"\"\"x\n\xC3\xA9\"\"\"\"\"\nn = '''\xC3\xA9'''''\n",
           "m = \"\"\"a \\\n   b\"\"\"\n",
           "d = 1979-05-27 07:32:00\ne = 1979-05-27\nf = "
           "1979-05-27T07:32:00Z\n",
           "\"k\xC3\xA9y\" = 1\na.\"b\xC3\xA9\" = 2\n",
           "e = \"\\u00E9\"\n",
       })
    EXPECT_EQ(problem(text), "none") << text;
}

TEST(TomlGuard, RejectsNonAsciiOutsideQuotes) {
  EXPECT_EQ(problem("a = 1 \xEF\xB9\xBF\n").substr(0, 4), "1:7 ");
  EXPECT_NE(problem("\xC3\xA9 = 1\n"), "none");
  EXPECT_NE(problem("[\xC3\xA9]\n"), "none");
  EXPECT_NE(problem("[ \xC3\xA9]\n"), "none");
  EXPECT_NE(problem("a = [1,\xC3\xA9]\n"), "none");
  EXPECT_NE(problem("a = 1\xC2\xA0\n"), "none");
  // A quote inside a bare value does not open a string for toml++.
  EXPECT_NE(problem("b = 1'''y\xEF\xB9\xBF'''\n"), "none");
  EXPECT_NE(problem("a = 1\"\xE2\xB4\x80\"\n"), "none");
}

TEST(TomlGuard, RejectsNonAsciiAfterABackslash) {
  EXPECT_NE(problem("a = \"\"\"\\\n \xC3\xA9\"\"\"\n"), "none");
  EXPECT_NE(problem("a = \"\"\"\\\n\xEF\xB9\xBF\"\"\"\n"), "none");
  EXPECT_NE(problem("a = \"\"\"\\ \xE2\xB4\x80 x\"\"\"\n"), "none");
  EXPECT_NE(problem("a = \"\"\"\\\xEF\xB9\xBF\n\"\"\"\n"), "none");
  EXPECT_NE(problem("a = \"\\\xC3\xA9\"\n"), "none");
}

TEST(TomlGuard, RejectsHeadersWithoutAName) {
  EXPECT_EQ(problem("a = 1\n[?\n").substr(0, 4), "2:1 ");
  EXPECT_NE(problem("[?]\n"), "none");
  EXPECT_NE(problem("[ ?]\n"), "none");
  EXPECT_NE(problem("[\t?]\n"), "none");
  EXPECT_NE(problem("[[?]]\n"), "none");
  EXPECT_NE(problem("[[ ?]]\n"), "none");
  EXPECT_NE(problem("["), "none");
  // Inside an array value a '[' at the start of a line is an element.
  EXPECT_EQ(problem("v = [\n[1]\n]\n"), "none");
}

TEST(TomlGuard, RejectsInputThatTripsParserAssertions) {
  EXPECT_NE(problem("v = [}\n"), "none");
  EXPECT_NE(problem("v = [1, }\n"), "none");
  EXPECT_NE(problem("v = [\n # c\n}\n"), "none");
  EXPECT_NE(problem("a = 1979-05-27 0\n"), "none");
  EXPECT_NE(problem("a = [1979-05-27 0]\n"), "none");
}

TEST(TomlGuard, RejectsInvalidUtf8WithItsPosition) {
  EXPECT_EQ(problem("a = 1\nb = \"\xFF\"\n").substr(0, 4), "2:6 ");
  EXPECT_NE(problem("a = \"\xC0\xAF\"\n"), "none");         // overlong
  EXPECT_NE(problem("a = \"\xED\xA0\x80\"\n"), "none");     // surrogate
  EXPECT_NE(problem("a = \"\xF4\x90\x80\x80\"\n"), "none"); // > U+10FFFF
  EXPECT_NE(problem("# \xE2\x82\n"), "none");               // truncated
}
