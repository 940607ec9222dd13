#include "ee/log.hpp"

#include "ee/names.hpp"

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
    if (auto lvl = from_name<log_level>(env))
      return *lvl;
  }
  return log_level::info;
}

std::atomic<int> level{static_cast<int>(initial_level())};
std::mutex sink_mtx;
log_sink sink; // guarded by sink_mtx

} // namespace

const char* to_string(log_level lvl) noexcept {
  // The names are string literals: their data() is NUL-terminated.
  return name_of(lvl).data();
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
