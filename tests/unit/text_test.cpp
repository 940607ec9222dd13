#include "util/text.hpp"

#include <gtest/gtest.h>

using namespace ee::util;

TEST(Text, HexRoundTripsEveryByte) {
  std::string all;
  for (int i = 0; i < 256; ++i)
    all += static_cast<char>(i);
  auto hex = to_hex(all);
  EXPECT_EQ(hex.substr(0, 6), "000102");
  EXPECT_EQ(hex.substr(hex.size() - 4), "feff");
  auto back = from_hex(hex);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, all);
  EXPECT_EQ(*from_hex("01 A0:ff_00"), std::string("\x01\xa0\xff\x00", 4));
}

TEST(Text, BadHexSaysWhatIsWrong) {
  auto odd = from_hex("010");
  ASSERT_FALSE(odd);
  EXPECT_NE(odd.error().message().find("odd number"), std::string::npos);
  auto bad = from_hex("0g");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message().find("'g' at position 2"), std::string::npos);
  // A separator between the two digits of a byte is not allowed.
  EXPECT_FALSE(from_hex("0 1"));
}

TEST(Text, PrintableMeansUtf8WithoutControls) {
  EXPECT_TRUE(is_printable("This is message 0"));
  EXPECT_TRUE(is_printable("caf\xC3\xA9\ttab"));
  EXPECT_TRUE(is_printable(""));
  EXPECT_FALSE(is_printable(std::string("\x01\x00", 2)));
  EXPECT_FALSE(is_printable("line\n"));
  EXPECT_FALSE(is_printable("\xFF"));
  EXPECT_FALSE(is_printable("\xC2\x80")); // C1 control
}

TEST(Text, JsonTextIsAlwaysValidJson) {
  EXPECT_EQ(to_json_text("a\"b\\c\n\t"), R"("a\"b\\c\n\t")");
  EXPECT_EQ(to_json_text(std::string("\x01", 1)), "\"\\u0001\"");
  EXPECT_EQ(to_json_text("caf\xC3\xA9"), "\"caf\xC3\xA9\"");
  EXPECT_EQ(to_json_text("\xFF"), "\"\xEF\xBF\xBD\""); // U+FFFD
  EXPECT_EQ(to_json_text({{"b", 1}, {"a", nullptr}}), R"({"b":1,"a":null})");
}

TEST(Text, CountsAndRangesReadAsWords) {
  EXPECT_EQ(count_of(1, "plugin"), "1 plugin");
  EXPECT_EQ(count_of(0, "type"), "0 types");
  EXPECT_EQ(show_range(0, 65535), "0..65535");
  EXPECT_EQ(show_range(1, 1LL << 40), "1..2^40");
}

TEST(Text, ClosestSuggestsLikelyTypos) {
  std::vector<std::string> keys{"publish_port", "subscribe_port", "strategy"};
  EXPECT_EQ(closest("publsh_port", keys), "publish_port");
  EXPECT_EQ(closest("strategy", keys), "strategy");
  EXPECT_EQ(closest("unrelated_thing", keys), "");
  EXPECT_EQ(join({"a", "", "b"}), "a, , b");
}
