#include "ee/plugin_library.hpp"

#include <gtest/gtest.h>

namespace {

ee::plugin_config make() {
  ee::config_value::table nested{{"deep", std::string{"x"}}};
  ee::config_value::table values{
      {"limit", std::int64_t{5}},
      {"ratio", 0.5},
      {"on", true},
      {"name", std::string{"n"}},
      {"tags", ee::config_value::array{std::string{"a"}, std::string{"b"}}},
      {"mixed", ee::config_value::array{std::string{"a"}, std::int64_t{1}}},
      {"nested", nested}};
  return ee::plugin_config{
      "counter",
      values,
      {ee::event_type{"TypeA"}, ee::event_type{"Bin", "\x01\x80"}},
      {ee::event_type{"TypeA"}}};
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ee::config_error& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(PluginConfig, TypedGettersReturnValues) {
  auto cfg = make();
  EXPECT_EQ(cfg.name(), "counter");
  EXPECT_EQ(cfg.get_int("limit"), 5);
  EXPECT_EQ(cfg.get_int("absent", 7), 7);
  EXPECT_EQ(cfg.get_double("ratio"), 0.5);
  EXPECT_EQ(cfg.get_double("limit"), 5.0); // integers convert
  EXPECT_EQ(cfg.get_double("absent", 1.5), 1.5);
  EXPECT_TRUE(cfg.get_bool("on"));
  EXPECT_FALSE(cfg.get_bool("absent", false));
  EXPECT_EQ(cfg.get_string("name"), "n");
  EXPECT_EQ(cfg.get_string("absent", "d"), "d");
  EXPECT_EQ(cfg.get_strings("tags"), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(cfg.get_strings("absent").empty());
  EXPECT_EQ(cfg.get_string("nested.deep"), "x");
  EXPECT_TRUE(cfg.has("nested.deep"));
  EXPECT_FALSE(cfg.has("nested.shallow"));
  EXPECT_FALSE(cfg.has("limit.x"));
  EXPECT_EQ(cfg.type("Bin").filter(), "\x01\x80");
  EXPECT_EQ(cfg.subscriptions().size(), 1u);
  EXPECT_EQ(cfg.types().size(), 2u);
  EXPECT_STREQ(cfg.find("tags")->type_name(), "array");
}

TEST(PluginConfig, ErrorsNameThePluginTheKeyAndTheFix) {
  auto cfg = make();
  EXPECT_EQ(error_of([&] { cfg.get_int("absent"); }),
            "plugin 'counter': config.absent is missing: add absent = "
            "<integer> to the [[plugin]]'s config table");
  EXPECT_EQ(error_of([&] { cfg.get_int("name"); }),
            "plugin 'counter': config.name must be an integer, not string");
  EXPECT_EQ(error_of([&] { cfg.get_string("limit", "x"); }),
            "plugin 'counter': config.limit must be a string, not integer");
  EXPECT_EQ(error_of([&] { cfg.get_bool("ratio"); }),
            "plugin 'counter': config.ratio must be true or false, not float");
  EXPECT_EQ(error_of([&] { cfg.get_strings("mixed"); }),
            "plugin 'counter': config.mixed must be an array of strings, but "
            "holds a integer");
  EXPECT_EQ(error_of([&] { cfg.type("TypeZ"); }),
            "plugin 'counter': the app defines no event type 'TypeZ': add it "
            "to the [types] table (it has TypeA, Bin)");
  EXPECT_EQ(error_of([&] { cfg.fail("limit must be positive"); }),
            "plugin 'counter': limit must be positive");
}
