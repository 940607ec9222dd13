#pragma once

#include <string>

#include "ee/error.hpp"

namespace ee {

/// One problem with an app's settings, tied to the setting it is about:
/// what `app::run` refuses (or warns about) before it starts anything, and
/// what `event-engine check` reports at the setting's TOML position.
struct setting_problem {
  /// The setting, named as the keys of `app_description::positions`:
  /// `"engine.publish_port"`, `"plugin.NAME.port"`,
  /// `"engine.security.allowed_keys.0"`, ...
  std::string field;
  /// The error code `app::run` returns for it.
  ec code = ec::invalid_config;
  /// If true, a warning: the app runs, probably not as meant.
  bool warning = false;
  /// What is wrong and the fix (names the setting, no position).
  std::string message;
};

} // namespace ee
