#include "ee/log.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace {

// Restores the default sink and level after each test.
class LogTest : public ::testing::Test {
protected:
  void SetUp() override { level_ = ee::get_log_level(); }
  void TearDown() override {
    ee::set_log_sink(nullptr);
    ee::set_log_level(level_);
  }
  ee::log_level level_ = ee::log_level::info;
};

} // namespace

TEST_F(LogTest, RecordSinkGetsThePluginAsAField) {
  std::vector<std::string> got;
  ee::set_log_record_sink([&](const ee::log_record& rec) {
    got.push_back(std::string{ee::to_string(rec.level)} + "|" +
                  std::string{rec.plugin} + "|" + std::string{rec.text});
  });
  ee::set_log_level(ee::log_level::info);
  ee::log(ee::log_level::warning, "counter", "slow");
  ee::log(ee::log_level::info, "engine text");
  ee::log(ee::log_level::debug, "counter", "filtered out");
  EXPECT_EQ(got, (std::vector<std::string>{"warning|counter|slow",
                                           "info||engine text"}));
}

TEST_F(LogTest, LineSinkGetsThePluginAsAPrefix) {
  std::vector<std::string> got;
  ee::set_log_sink(
      [&](ee::log_level, std::string_view line) { got.emplace_back(line); });
  ee::log(ee::log_level::error, "py", "exited with 1");
  ee::log(ee::log_level::error, "plain");
  EXPECT_EQ(got, (std::vector<std::string>{"[py] exited with 1", "plain"}));
}

TEST_F(LogTest, ALineSinkReplacesARecordSinkAndBack) {
  int records = 0, lines = 0;
  ee::set_log_record_sink([&](const ee::log_record&) { ++records; });
  ee::set_log_sink([&](ee::log_level, std::string_view) { ++lines; });
  ee::log(ee::log_level::error, "x");
  ee::set_log_record_sink([&](const ee::log_record&) { ++records; });
  ee::log(ee::log_level::error, "x");
  EXPECT_EQ(lines, 1);
  EXPECT_EQ(records, 1);
  EXPECT_STREQ(ee::to_string(ee::log_level::warning), "warning");
}
