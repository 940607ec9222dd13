// The plain parts log what they decide (restarts, escalations); their tests
// check the decisions, so the log stays quiet unless EE_LOG_LEVEL asks. (A
// test environment, not a static initializer: the log's own level is set
// during static initialization too, in an order nobody controls.)

#include <cstdlib>

#include <gtest/gtest.h>

#include "ee/log.hpp"

namespace {

class quiet_log : public ::testing::Environment {
public:
  void SetUp() override {
    if (std::getenv("EE_LOG_LEVEL") == nullptr)
      ee::set_log_level(ee::log_level::off);
  }
};

const auto* registered = ::testing::AddGlobalTestEnvironment(new quiet_log);

} // namespace
