#include "util/toml_guard.hpp"

#include <string>

#include <gtest/gtest.h>

using ee::util::check_toml_input;
using namespace std::string_literals;

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
           "1979-05-27T07:32:00Z\ng = 1979-05-27 # 0\n",
           "\"k\xC3\xA9y\" = 1\na.\"b\xC3\xA9\" = 2\n",
           "e = \"\\u00E9\"\n",
       })
    EXPECT_EQ(problem(text), "none") << text;
}

TEST(TomlGuard, RejectsNonAsciiOutsideQuotes) {
  EXPECT_EQ(problem("a = 1 \xEF\xB9\xBF\n").substr(0, 4), "1:7 ");
  for (const char* text : {
           "\xC3\xA9 = 1\n",
           "[\xC3\xA9]\n",
           "[ \xC3\xA9]\n",
           "a = [1,\xC3\xA9]\n",
           "a = 1\xC2\xA0\n",
       })
    EXPECT_NE(problem(text), "none") << text;
  // A quote inside a bare value does not open a string for toml++ (cases
  // found by fuzzing toml++ with -fsanitize=undefined behind the guard).
  for (const char* text : {
           "b = 1'''y\xEF\xB9\xBF'''\n",
           "a = 1\"\xE2\xB4\x80\"\n",
           "a = +\"\"=\"\xEF\xB9\xBF\"\n",
           "b = 0x'''y''='\xE2\xB4\x80\n",
           "a = -[\"\xC3\xA9\"]\n",
       })
    EXPECT_NE(problem(text), "none") << text;
}

TEST(TomlGuard, RejectsNonAsciiAfterABackslash) {
  for (const char* text : {
           "a = \"\"\"\\\n \xC3\xA9\"\"\"\n",
           "a = \"\"\"\\\n\xEF\xB9\xBF\"\"\"\n",
           "a = \"\"\"\\ \xE2\xB4\x80 x\"\"\"\n",
           "a = \"\"\"\\\xEF\xB9\xBF\n\"\"\"\n",
           "a = \"\\\xC3\xA9\"\n",
       })
    EXPECT_NE(problem(text), "none") << text;
}

TEST(TomlGuard, RejectsHeadersWithoutAName) {
  EXPECT_EQ(problem("a = 1\n[?\n").substr(0, 4), "2:1 ");
  for (const char* text : {
           "[?]\n",
           "[ ?]\n",
           "[\t?]\n",
           "[[?]]\n",
           "[[ ?]]\n",
           "[",
       })
    EXPECT_NE(problem(text), "none") << text;
  // Inside an array value a '[' at the start of a line is an element.
  EXPECT_EQ(problem("v = [\n[1]\n]\n"), "none");
}

TEST(TomlGuard, RejectsInputThatTripsParserAssertions) {
  for (const char* text : {
           "v = [}\n",
           "v = [1, }\n",
           "v = [\n # c\n}\n",
           "a = 1979-05-27 0\n",
           "a = [1979-05-27 0]\n",
       })
    EXPECT_NE(problem(text), "none") << text;
}

TEST(TomlGuard, RejectsEveryDateShapeThatMakesTheParserReadOnForATime) {
  // Found by fuzz_config: toml++ leaves '_' out of a value and looks only at
  // the '-' before it reads on after a space; after a 'T' it needs a digit.
  for (const std::string& text : {
           "a = 197y-05-27 0\n"s,
           "a = 1_979-05-27 0\n"s,
           "a = 1979-05-27__ 0,\n"s,
           "a = [1979-0x-27 0]\n"s,
           "d = 0989-05-27T@07:32:00Z\n"s,
           "d = 1979-05-27T\0"
           "7:32:00Z\n"s,
           "d = [1979-05-27t:]\n"s,
       })
    EXPECT_NE(problem(text), "none") << text;
  // A time follows: left to toml++ (which reports the bad year).
  EXPECT_EQ(problem("a = 1_979-05-27 07:32:00\n"), "none");
}

TEST(TomlGuard, ALineAfterACommentStartsWithAKey) {
  // Found by fuzz_config: the line end that closed a comment did not start
  // a key, so `b=` after it read as one bare value, and what follows went
  // unchecked into toml++.
  EXPECT_EQ(problem("a = 1 # c\nb=[}\n").substr(0, 4), "2:4 ");
  EXPECT_EQ(problem("a = 1 # c\nb=1979-05-27 0\n").substr(0, 4), "2:3 ");
  EXPECT_EQ(problem("a = 1 # c\r\nb=[}\n").substr(0, 4), "2:4 ");
  EXPECT_EQ(problem("# c\n[?]\n").substr(0, 4), "2:1 ");
  EXPECT_EQ(problem("a = [ # c\n1, # d\n]\nb = 2 # e\nc=3\n"), "none");
}

TEST(TomlGuard, RejectsInvalidUtf8WithItsPosition) {
  EXPECT_EQ(problem("a = 1\nb = \"\xFF\"\n").substr(0, 4), "2:6 ");
  for (const char* text : {
           "a = \"\xC0\xAF\"\n",         // overlong
           "a = \"\xED\xA0\x80\"\n",     // surrogate
           "a = \"\xF4\x90\x80\x80\"\n", // > U+10FFFF
           "# \xE2\x82\n",               // truncated
       })
    EXPECT_NE(problem(text), "none") << text;
}
