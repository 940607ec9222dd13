#include "host/logging.hpp"

#include <memory>

#include <spdlog/logger.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "ee/log.hpp"
#include "util/text.hpp"

namespace ee::host {

namespace {

spdlog::level::level_enum to_spdlog(log_level lvl) {
  switch (lvl) {
  case log_level::debug:
    return spdlog::level::debug;
  case log_level::info:
    return spdlog::level::info;
  case log_level::warning:
    return spdlog::level::warn;
  case log_level::error:
    return spdlog::level::err;
  default:
    return spdlog::level::off;
  }
}

// Only the host installs and removes it, on its main thread.
std::shared_ptr<spdlog::logger> logger;

} // namespace

error install_log_sink(const log_options& opts) {
  spdlog::sink_ptr sink;
  try {
    if (opts.file.empty())
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          opts.file, opts.max_size, opts.max_files);
  } catch (const spdlog::spdlog_ex& e) {
    return error{ec::invalid_config,
                 "cannot open the log file '" + opts.file + "': " + e.what()};
  }
  bool json = opts.format == "json";
  auto lg = std::make_shared<spdlog::logger>("event-engine", std::move(sink));
  // The message (%v) is built below: the plugin and the text.
  lg->set_pattern(
      json ? "{\"time\":\"%Y-%m-%dT%H:%M:%S.%e%z\",\"level\":\"%l\",%v}"
           : "%Y-%m-%d %H:%M:%S.%e %l %v");
  lg->set_level(spdlog::level::trace); // ee::log filters by level
  lg->flush_on(spdlog::level::trace);  // lines are visible at once
  logger = lg;
  set_log_record_sink([lg, json](const log_record& rec) {
    std::string msg;
    if (json) {
      msg = "\"plugin\":";
      msg += rec.plugin.empty() ? std::string{"null"}
                                : util::json_string(rec.plugin);
      msg += ",\"message\":" + util::json_string(rec.text);
    } else {
      if (!rec.plugin.empty()) {
        msg += '[';
        msg += rec.plugin;
        msg += "] ";
      }
      msg += rec.text;
    }
    lg->log(to_spdlog(rec.level), spdlog::string_view_t{msg});
  });
  return {};
}

void remove_log_sink() {
  set_log_record_sink(nullptr);
  if (logger)
    logger->flush();
  logger.reset();
}

} // namespace ee::host
