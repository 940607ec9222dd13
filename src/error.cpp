#include "ee/error.hpp"

namespace ee {

const char* to_string(ec code) noexcept {
  switch (code) {
  case ec::none:
    return "none";
  case ec::invalid_config:
    return "invalid_config";
  case ec::duplicate_name:
    return "duplicate_name";
  case ec::duplicate_port:
    return "duplicate_port";
  case ec::already_running:
    return "already_running";
  case ec::bind_failed:
    return "bind_failed";
  case ec::plugin_failed:
    return "plugin_failed";
  case ec::launch_failed:
    return "launch_failed";
  case ec::restart_limit:
    return "restart_limit";
  case ec::stopped:
    return "stopped";
  case ec::config_file:
    return "config_file";
  case ec::internal:
    return "internal";
  }
  return "unknown";
}

std::string error::to_string() const {
  if (code_ == ec::none)
    return "ok";
  std::string result = ee::to_string(code_);
  result += ": ";
  result += message_;
  return result;
}

} // namespace ee
