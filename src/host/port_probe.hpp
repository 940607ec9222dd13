#pragma once

#include <vector>

#include "ee/config_file.hpp"

namespace ee::host {

/// Binds, and closes at once, every TCP port the app would bind (with
/// libzmq, as the engine binds them): the bind address alone (port 0),
/// then each fixed port. `check` and `run` both call it before anything
/// starts, so a bind address that does not resolve, or a port in use now,
/// is one error at its key with the text the engine's bind would give.
/// @returns the errors (one for a bad address, else one per port).
std::vector<diagnostic> probe_ports(const app_description& d);

} // namespace ee::host
