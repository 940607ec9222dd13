#pragma once

// What the config file tests share (config_file_test.cpp,
// config_errors_test.cpp, config_environment_test.cpp): reading a text as
// "app.toml" in the folder /base, and its diagnostics as text.

#include "ee/config_file.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace ee::test {

inline ee::expected<ee::app_description> parse(const std::string& text) {
  return ee::read_config(text, "/base").result();
}

inline ee::config_report report(const std::string& text) {
  return ee::read_config(text, "/base", "app.toml");
}

inline std::vector<std::string> errors(const ee::config_report& r) {
  std::vector<std::string> result;
  for (auto& d : r.diagnostics)
    if (d.severity == ee::severity::error)
      result.push_back(d.to_string());
  return result;
}

inline std::vector<std::string> warnings(const ee::config_report& r) {
  std::vector<std::string> result;
  for (auto& d : r.diagnostics)
    if (d.severity == ee::severity::warning)
      result.push_back(d.to_string());
  return result;
}

// The one error of `text`, as "app.toml:LINE:COL: error: ...".
inline std::string only_error(const std::string& text) {
  auto r = report(text);
  auto errs = errors(r);
  EXPECT_EQ(errs.size(), 1u) << ::testing::PrintToString(errs);
  return errs.empty() ? std::string{} : errs.front();
}

inline bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline std::vector<std::string>
to_strings(const std::vector<ee::diagnostic>& diags) {
  std::vector<std::string> result;
  for (auto& x : diags)
    result.push_back(x.to_string());
  return result;
}

} // namespace ee::test
