#include "ee/log.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

#include "ee/names.hpp"

namespace ee {

namespace {

log_level initial_level() {
  if (auto env = std::getenv("EE_LOG_LEVEL"))
    if (auto lvl = from_name<log_level>(env))
      return *lvl;
  return log_level::info;
}

std::string line_of(const log_record& rec) {
  std::string line;
  if (!rec.plugin.empty()) {
    line += '[';
    line += rec.plugin;
    line += "] ";
  }
  line += rec.text;
  return line;
}

std::atomic<int> level{static_cast<int>(initial_level())};
std::mutex sink_mtx;
// At most one of the two is set; guarded by sink_mtx.
log_sink line_sink;
log_record_sink record_sink;

} // namespace

const char* to_string(log_level lvl) noexcept {
  // Every name in the table is a literal, hence NUL-terminated.
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
  line_sink = std::move(fn);
  record_sink = nullptr;
}

void set_log_record_sink(log_record_sink fn) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  record_sink = std::move(fn);
  line_sink = nullptr;
}

void log(log_level lvl, std::string_view line) {
  log(lvl, std::string_view{}, line);
}

void log(log_level lvl, std::string_view plugin, std::string_view text) {
  if (static_cast<int>(lvl) < level.load() || lvl == log_level::off)
    return;
  log_record rec{lvl, plugin, text};
  std::lock_guard<std::mutex> guard{sink_mtx};
  if (record_sink) {
    record_sink(rec);
    return;
  }
  if (line_sink) {
    line_sink(lvl, line_of(rec));
    return;
  }
  std::string buf = "[event-engine] ";
  buf += to_string(lvl);
  buf += ": ";
  buf += line_of(rec);
  buf += '\n';
  std::fwrite(buf.data(), 1, buf.size(), stderr);
  std::fflush(stderr);
}

} // namespace ee
