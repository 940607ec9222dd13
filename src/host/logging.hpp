#pragma once

#include <cstddef>
#include <string>

#include "ee/error.hpp"
#include "ee/log.hpp"

namespace ee::host {

/// Where and how the host writes its log.
struct log_options {
  /// A file to log to (rotated); empty: stderr.
  std::string file;
  /// "text" (`2026-01-02 15:04:05.123 info [plugin] text`) or "json" (one
  /// object per line: time, level, plugin, message).
  std::string format = "text";
  /// Rotate the file when it reaches this many bytes.
  std::size_t max_size = 10 * 1024 * 1024;
  /// How many rotated files to keep (FILE.1 ... FILE.N) besides FILE.
  std::size_t max_files = 5;
};

/// Installs spdlog as the sink of `ee::log`: every record with a timestamp,
/// its level and its plugin. @returns an error if the file cannot be
/// opened or its folder does not exist (no folder is created).
[[nodiscard]] error install_log_sink(const log_options& opts);

/// Writes a line of the host itself (a diagnostic, the ready line, how the
/// run ended), as the text mode shows it ("event-engine: ready ..."), at
/// any log level: to stderr, where a JSON log format makes it a JSON
/// record; and into the log file, if there is one.
void report(log_level lvl, const std::string& line);

/// Flushes and removes the sink installed by `install_log_sink` (the
/// default sink takes over).
void remove_log_sink();

} // namespace ee::host
