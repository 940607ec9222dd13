// The README's table of exit codes is the one the code uses.

#include "host/commands.hpp"

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

namespace {

// @returns the rows `| code | meaning |` of the README's "Exit codes".
std::map<int, std::string> documented() {
  std::ifstream in{EE_SOURCE_DIR "/README.md"};
  std::map<int, std::string> rows;
  std::string line;
  bool inside = false;
  while (std::getline(in, line)) {
    if (line.rfind("#", 0) == 0)
      inside = line == "### Exit codes";
    if (!inside || line.rfind("| ", 0) != 0 || line == "| code | meaning |")
      continue;
    auto bar = line.find(" | ", 2);
    if (bar == std::string::npos || line.size() < bar + 5)
      continue;
    rows[std::stoi(line.substr(2, bar - 2))] =
        line.substr(bar + 3, line.size() - bar - 5);
  }
  return rows;
}

} // namespace

TEST(ExitCodes, TheReadmeListsEveryCodeAsTheCodeDeclaresIt) {
  std::map<int, std::string> declared;
  for (auto& row : ee::host::exit_codes)
    declared[row.code] = row.meaning;
  EXPECT_EQ(documented(), declared);
  EXPECT_EQ(declared.count(ee::interrupted_exit_code), 1u);
}

TEST(ExitCodes, RunResultsMapToTheirCodes) {
  using namespace ee;
  using namespace ee::host;
  EXPECT_EQ(exit_code_of(error{}), exit_ok);
  EXPECT_EQ(exit_code_of(error{ec::shutdown_timeout, "x"}), exit_killed);
  EXPECT_EQ(exit_code_of(error{ec::restart_limit, "x"}), exit_plugin_failed);
  EXPECT_EQ(exit_code_of(error{ec::bind_failed, "x"}), exit_failed);
}
