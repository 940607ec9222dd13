#include "ee/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace ee {

namespace {

log_level initial_level() {
  if (auto env = std::getenv("EE_LOG_LEVEL")) {
    for (int i = 0; i <= static_cast<int>(log_level::off); ++i)
      if (std::strcmp(env, to_string(static_cast<log_level>(i))) == 0)
        return static_cast<log_level>(i);
  }
  return log_level::info;
}

std::atomic<int> level{static_cast<int>(initial_level())};
std::mutex sink_mtx;
log_sink sink; // guarded by sink_mtx

} // namespace

const char* to_string(log_level lvl) noexcept {
  switch (lvl) {
  case log_level::debug:
    return "debug";
  case log_level::info:
    return "info";
  case log_level::warning:
    return "warning";
  case log_level::error:
    return "error";
  default:
    return "off";
  }
}

void set_log_level(log_level lvl) {
  level = static_cast<int>(lvl);
}

log_level get_log_level() noexcept {
  return static_cast<log_level>(level.load());
}

void set_log_sink(log_sink fn) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  sink = std::move(fn);
}

void log(log_level lvl, std::string_view line) {
  if (static_cast<int>(lvl) < level.load() || lvl == log_level::off)
    return;
  std::lock_guard<std::mutex> guard{sink_mtx};
  if (sink) {
    sink(lvl, line);
    return;
  }
  std::string buf = "[event-engine] ";
  buf += to_string(lvl);
  buf += ": ";
  buf += line;
  buf += '\n';
  std::fwrite(buf.data(), 1, buf.size(), stderr);
  std::fflush(stderr);
}

} // namespace ee
