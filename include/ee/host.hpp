#pragma once

#include <functional>

#include "ee/app.hpp"

namespace ee {

/// The `event-engine` host program as a function (link `ee::host`):
///
/// ~~~
/// event-engine run APP.toml [--publish-port N] [--subscribe-port N]
///              [--bind ADDR] [--log-level L] [--log-file PATH]
///              [--log-format text|json] [--log-max-size BYTES]
///              [--log-max-files N]
/// event-engine check APP.toml [same options]
/// event-engine tap [--host H] [--port P] [--types APP.toml] [--count N]
///              [--json | --raw] [--server-key K --client-key F] [FILTER...]
/// event-engine pub [--host H] [--port P] [--type NAME --types APP.toml]
///              [--hex] [--file F] [--timeout S]
///              [--server-key K --client-key F] [DATA...]
/// event-engine keygen NAME [--dir DIR] [--force]
/// event-engine --version | --help | SUBCOMMAND --help
/// ~~~
///
/// `event-engine APP.toml [options]` (the older form) means `run`, and with
/// `--check` means `check`. `run` prints `event-engine: ready
/// publish_port=N subscribe_port=N plugin.NAME=N ...` on stdout once the
/// ports are bound (one `plugin.NAME` per external plugin). See
/// `ee/config_file.hpp` for APP.toml.
///
/// @param customize called with the app before the file's plugins are
///        registered, to add internal plugins (may be empty; if set, a file
///        without plugins is accepted).
/// @returns the process exit code: 0 success, 1 the app failed (or `pub`
///          found no engine), 2 bad usage or configuration.
int run_host(int argc, char** argv, const std::function<void(app&)>& customize);

} // namespace ee
