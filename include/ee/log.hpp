#pragma once

#include <functional>
#include <string_view>

namespace ee {

/// Severity of a log line.
enum class log_level { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

/// Receives every log line at or above the current level. Must be
/// thread-safe: it is called from any thread of the engine.
using log_sink = std::function<void(log_level, std::string_view line)>;

/// Sets the lowest level that is logged (default: `info`, or the value of the
/// environment variable `EE_LOG_LEVEL`: debug, info, warning, error, off).
void set_log_level(log_level lvl);

/// @returns the lowest level that is logged.
log_level get_log_level() noexcept;

/// Replaces the sink (default: one line per entry on stderr). An empty
/// function restores the default.
void set_log_sink(log_sink sink);

/// Logs `line` at `lvl` (used by the engine; available to plugins).
void log(log_level lvl, std::string_view line);

/// @returns "debug", "info", ...
const char* to_string(log_level lvl) noexcept;

} // namespace ee
