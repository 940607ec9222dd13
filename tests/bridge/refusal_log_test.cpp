// The refusal log: a hostile client cannot flood the log, and nothing is
// lost from the counts.

#include "bridge/refusal_log.hpp"

#include <gtest/gtest.h>

#include "fake_engine.hpp"

using namespace ee;
using namespace ee::test;

namespace {

std::size_t count_lines(log_capture& logs, const std::string& part) {
  std::size_t n = 0;
  for (auto& l : logs.lines())
    if (l.find(part) != std::string::npos)
      ++n;
  return n;
}

} // namespace

TEST(RefusalLog, LogsABurstPerWindowAndSummarizesTheRest) {
  log_capture logs;
  refusal_log log{3, std::chrono::milliseconds{1000}};
  auto t0 = refusal_log::clock_type::time_point{} + std::chrono::hours{1};
  for (int i = 0; i < 1000; ++i)
    log.refused("refused client " + std::to_string(i),
                t0 + std::chrono::microseconds{i});
  EXPECT_EQ(log.total(), 1000u);
  EXPECT_EQ(log.unlogged(), 997u);
  EXPECT_EQ(count_lines(logs, "security: refused client"), 3u);
  EXPECT_EQ(count_lines(logs, "more refused connections"), 0u);
  log.tick(t0 + std::chrono::milliseconds{999});
  EXPECT_EQ(count_lines(logs, "more refused connections"), 0u);
  log.tick(t0 + std::chrono::milliseconds{1000});
  EXPECT_TRUE(logs.has("security: 997 more refused connections were not "
                       "logged one by one (at most 3 lines per 1 s)"));
  // A new window logs again, and the summary is not repeated.
  log.refused("refused client late", t0 + std::chrono::seconds{5});
  log.tick(t0 + std::chrono::seconds{7});
  EXPECT_TRUE(logs.has("security: refused client late"));
  EXPECT_EQ(count_lines(logs, "more refused connections"), 1u);
  EXPECT_EQ(log.total(), 1001u);
}
