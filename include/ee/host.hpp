#pragma once

#include <functional>

#include "ee/app.hpp"

namespace ee {

/// The `event-engine` host program as a function: parses the command line
/// (`CONFIG.toml [--publish-port N] [--subscribe-port N] [--bind ADDR]
/// [--log-level L] [--check]`), runs the app described by the file and
/// prints `event-engine: ready publish_port=N subscribe_port=N
/// plugin.NAME=N ...` on stdout once the ports are bound.
///
/// @param customize called with the app before the file's plugins are
///        registered, to add internal plugins (may be empty).
/// @returns the process exit code: 0 success, 1 the app failed, 2 bad usage
///          or configuration.
int run_host(int argc, char** argv, const std::function<void(app&)>& customize);

} // namespace ee
