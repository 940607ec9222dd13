// docs/metrics.md lists every counter as `ee/stats.hpp` declares it: the
// tables between the markers are generated from the counter lists. After
// changing a list, regenerate them:
//   EE_UPDATE_DOCS=1 build/tests/ee_core_tests --gtest_filter='MetricsDoc.*'

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "ee/stats.hpp"

namespace {

const std::string begin_marker = "<!-- counters: generated from "
                                 "include/ee/stats.hpp, do not edit -->\n";
const std::string end_marker = "<!-- counters: end -->\n";

template <class Stats, std::size_t N>
void table(std::ostringstream& out, const char* title,
           const ee::stat_field<Stats> (&fields)[N]) {
  out << title << "\n\n| field | Prometheus | meaning |\n|---|---|---|\n";
  for (auto& f : fields) {
    out << "| `" << f.key << "` | ";
    if (f.kind == ee::stat_kind::sum)
      out << "(the sum of the `reason`s below)";
    else
      out << '`' << f.family;
    if (*f.reason != '\0')
      out << "{reason=\"" << f.reason << "\"}";
    if (f.kind != ee::stat_kind::sum)
      out << '`';
    if (f.kind == ee::stat_kind::gauge)
      out << " (gauge)";
    if (f.external_only)
      out << " (external plugins only)";
    out << " | " << f.help << " |\n";
  }
  out << '\n';
}

std::string generated() {
  std::ostringstream out;
  out << begin_marker;
  table(out, "Engine-wide (`engine_stats`, no labels):", ee::engine_fields);
  table(out,
        "Per plugin (`subscriber_stats`, labels `plugin` and `kind` = "
        "`actor`, `blocking`, `caf` or `external`):",
        ee::plugin_fields);
  table(out, "Per event type (`type_stats`, label `type`):", ee::type_fields);
  table(out,
        "The federation (`federation_stats`, no labels; only when "
        "`[federation]` is configured):",
        ee::federation_fields);
  table(out,
        "Per federation peer (`federation_peer_stats`, label `peer`; in "
        "JSON `up` is `\"state\": \"up\"` or `\"down\"`, and `rtt_us` is "
        "exported in seconds):",
        ee::peer_fields);
  out << end_marker;
  return out.str();
}

} // namespace

TEST(MetricsDoc, TheDocListsEveryCounterAsDeclared) {
  auto path = std::string{EE_SOURCE_DIR} + "/docs/metrics.md";
  std::ifstream in{path};
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  auto doc = buf.str();
  auto from = doc.find(begin_marker);
  auto to = doc.find(end_marker);
  ASSERT_NE(from, std::string::npos) << "no counter tables in " << path;
  ASSERT_NE(to, std::string::npos) << "no end of the counter tables";
  auto want = generated();
  auto have = doc.substr(from, to + end_marker.size() - from);
  if (have != want && std::getenv("EE_UPDATE_DOCS") != nullptr) {
    doc.replace(from, have.size(), want);
    std::ofstream{path} << doc;
    return;
  }
  EXPECT_EQ(have, want) << "regenerate: EE_UPDATE_DOCS=1 "
                           "ee_core_tests --gtest_filter='MetricsDoc.*'";
}
