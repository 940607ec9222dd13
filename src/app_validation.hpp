#pragma once

#include <functional>
#include <string>
#include <vector>

#include "bridge/setting_problem.hpp"
#include "ee/app_config.hpp"
#include "ee/external_plugin.hpp"

namespace ee {

/// Says where another setting was written (e.g. `" (line 10)"`), for
/// messages that name two settings; empty if unknown.
using setting_locator = std::function<std::string(const std::string& field)>;

/// @returns what is wrong with a non-empty plugin `name` (a control
/// character; for an external plugin also white space or '=', as the name
/// is printed in the ready line), or an empty string.
std::string plugin_name_problem(const std::string& name, bool external);

/// The one validation of an app's settings, used by `app::run` (which
/// refuses the first error) and by the TOML loader's `check_environment`
/// (which reports each problem at its setting's position): port ranges,
/// ports used twice, the bind address, plugin names and environment
/// variable names, launch commands that are not found,
/// working directories that do not exist, and with CURVE every key
/// (`resolve_security`). Reads the file system (PATH, folders, key files)
/// but binds nothing. @returns every problem, in setting order.
std::vector<setting_problem>
validate_app(const app_config& cfg,
             const std::vector<const external_plugin_config*>& plugins,
             const setting_locator& where = {});

} // namespace ee
