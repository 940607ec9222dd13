// The plain parts log what they decide (restarts, escalations); their tests
// check the decisions, so the log stays quiet unless EE_LOG_LEVEL asks.

#include <cstdlib>

#include "ee/log.hpp"

namespace {

const bool quiet = [] {
  if (std::getenv("EE_LOG_LEVEL") == nullptr)
    ee::set_log_level(ee::log_level::off);
  return true;
}();

} // namespace
