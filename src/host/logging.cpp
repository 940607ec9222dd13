#include "host/logging.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <memory>

#include <spdlog/logger.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "ee/log.hpp"
#include "ee/names.hpp"
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

// Only the host installs and removes them, on its main thread.
std::shared_ptr<spdlog::logger> logger;
bool json_format = false;
bool to_file = false;

// The local time now in ISO 8601 with milliseconds and the UTC offset
// ("2026-01-02T15:04:05.123+01:00").
std::string local_time() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  auto secs = system_clock::to_time_t(now);
  std::tm tm{};
  ::localtime_r(&secs, &tm);
  char date[32];
  char zone[8];
  std::strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
  std::strftime(zone, sizeof(zone), "%z", &tm); // +0100
  char out[48];
  std::snprintf(out, sizeof(out), "%s.%03d%.3s:%s", date, static_cast<int>(ms),
                zone, zone + 3);
  return out;
}

// The record as the logger writes it (its pattern is "%v" for JSON).
std::string message(log_level lvl, std::string_view plugin,
                    std::string_view text) {
  if (json_format) {
    nlohmann::ordered_json record;
    record["time"] = local_time();
    record["level"] = std::string{name_of(lvl)};
    record["plugin"] =
        plugin.empty() ? nullptr : nlohmann::ordered_json(std::string{plugin});
    record["message"] = std::string{text};
    return util::to_json_text(record);
  }
  std::string out;
  if (!plugin.empty())
    out.append("[").append(plugin).append("] ");
  return out.append(text);
}

// spdlog would create the missing folders of a log file's path.
error missing_folder(const std::string& file) {
  auto dir = std::filesystem::path{file}.parent_path();
  std::error_code code;
  if (dir.empty() || std::filesystem::is_directory(dir, code))
    return {};
  return error{ec::invalid_config, "cannot open the log file '" + file +
                                       "': the folder " + dir.string() +
                                       " does not exist; create it first"};
}

} // namespace

error install_log_sink(const log_options& opts) {
  if (auto err = missing_folder(opts.file))
    return err;
  spdlog::sink_ptr sink;
  try {
    if (opts.file.empty())
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    else {
      // Every file the engine opens is close-on-exec (docs/security.md):
      // spdlog opens with fopen, so mark each file it opens, rotation too.
      spdlog::file_event_handlers handlers;
      handlers.after_open = [](const spdlog::filename_t&, std::FILE* f) {
        int fd = ::fileno(f);
        ::fcntl(fd, F_SETFD, ::fcntl(fd, F_GETFD) | FD_CLOEXEC);
      };
      sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(
          opts.file, opts.max_size, opts.max_files, false, handlers);
    }
  } catch (const spdlog::spdlog_ex& e) {
    return error{ec::invalid_config,
                 "cannot open the log file '" + opts.file + "': " + e.what()};
  }
  bool json = opts.format == "json";
  json_format = json;
  to_file = !opts.file.empty();
  auto lg = std::make_shared<spdlog::logger>("event-engine", std::move(sink));
  // A JSON record is built whole by message(); text: time, level, message.
  lg->set_pattern(json ? "%v" : "%Y-%m-%d %H:%M:%S.%e %l %v");
  lg->set_level(spdlog::level::trace); // ee::log filters by level
  lg->flush_on(spdlog::level::trace);  // lines are visible at once
  logger = lg;
  set_log_record_sink([lg](const log_record& rec) {
    auto msg = message(rec.level, rec.plugin, rec.text);
    lg->log(to_spdlog(rec.level), spdlog::string_view_t{msg});
  });
  return {};
}

void report(log_level lvl, const std::string& line) {
  if (!logger || !json_format || to_file) {
    auto text = line + '\n';
    std::fwrite(text.data(), 1, text.size(), stderr); // one write per line
    std::fflush(stderr);
  }
  if (logger && (json_format || to_file)) {
    auto msg = message(lvl, {}, line);
    logger->log(to_spdlog(lvl), spdlog::string_view_t{msg});
  }
}

void remove_log_sink() {
  set_log_record_sink(nullptr);
  if (logger)
    logger->flush();
  logger.reset();
  json_format = to_file = false;
}

} // namespace ee::host
