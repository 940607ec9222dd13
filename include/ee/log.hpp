#pragma once

#include <functional>
#include <string_view>

namespace ee {

/// Severity of a log line.
enum class log_level { debug = 0, info = 1, warning = 2, error = 3, off = 4 };

/// One log entry, as handed to a `log_record_sink`. The views are valid only
/// during the sink's call.
struct log_record {
  /// The entry's severity.
  log_level level = log_level::info;
  /// The name of the plugin the entry is about, or empty for the engine.
  std::string_view plugin;
  /// The message, without the plugin's name.
  std::string_view text;
};

/// Receives every log line at or above the current level. Must be
/// thread-safe: it is called from any thread of the engine. An entry about a
/// plugin arrives as `"[plugin] text"`.
using log_sink = std::function<void(log_level, std::string_view line)>;

/// Receives every log entry at or above the current level, with the plugin
/// name as a field of its own. Must be thread-safe: it is called from any
/// thread of the engine (never concurrently: calls are serialized).
using log_record_sink = std::function<void(const log_record&)>;

/// Sets the lowest level that is logged (default: `info`, or the value of the
/// environment variable `EE_LOG_LEVEL`: debug, info, warning, error, off).
/// Thread-safe.
void set_log_level(log_level lvl);

/// @returns the lowest level that is logged. Thread-safe.
log_level get_log_level() noexcept;

/// Replaces the sink (default: one line per entry on stderr). An empty
/// function restores the default. Replaces a `log_record_sink` too.
/// Thread-safe.
void set_log_sink(log_sink sink);

/// Replaces the sink with one that receives structured records. An empty
/// function restores the default. Replaces a `log_sink` too. Thread-safe.
void set_log_record_sink(log_record_sink sink);

/// Logs `line` at `lvl` (used by the engine; available to plugins).
/// Thread-safe.
void log(log_level lvl, std::string_view line);

/// Logs `text` about the plugin named `plugin` at `lvl`; every sink shows
/// the plugin's name with the line. Thread-safe.
void log(log_level lvl, std::string_view plugin, std::string_view text);

/// @returns "debug", "info", ...
const char* to_string(log_level lvl) noexcept;

} // namespace ee
