#include "host/wire.hpp"

#include <chrono>
#include <csignal>
#include <ctime>
#include <iostream>

#include "util/text.hpp"

namespace ee::host {

std::atomic<bool> stop_requested{false};

namespace {

extern "C" void ee_host_on_signal(int) {
  stop_requested = true;
}

} // namespace

std::string endpoint(const std::string& host, int port) {
  return "tcp://" + host + ":" + std::to_string(port);
}

bool connect(zmq::socket_t& socket, const std::string& ep,
             const char* command) {
  try {
    socket.connect(ep);
    return true;
  } catch (const zmq::error_t& e) {
    std::cerr << "event-engine " << command << ": cannot connect to " << ep
              << ": " << e.what() << '\n';
    return false;
  }
}

std::optional<std::string>
resolve_prefix(const std::string& text, const std::vector<event_type>& types) {
  for (auto& t : types)
    if (t.name() == text)
      return t.filter();
  if (text.rfind("hex:", 0) == 0) {
    auto bytes = util::from_hex(std::string_view{text}.substr(4));
    if (!bytes) {
      std::cerr << "event-engine: " << bytes.error().message() << '\n';
      return std::nullopt;
    }
    return *bytes;
  }
  return text;
}

const event_type* type_of(std::string_view bytes,
                          const std::vector<event_type>& types) {
  const event_type* best = nullptr;
  for (auto& t : types)
    if (bytes.substr(0, t.filter().size()) == t.filter() &&
        (!best || t.filter().size() > best->filter().size()))
      best = &t;
  return best;
}

std::string timestamp(bool utc) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  auto secs = system_clock::to_time_t(now);
  std::tm tm{};
  if (utc)
    ::gmtime_r(&secs, &tm);
  else
    ::localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf),
                utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms));
  return std::string{buf} + frac + (utc ? "Z" : "");
}

void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = ee_host_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

} // namespace ee::host
