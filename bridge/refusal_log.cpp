#include "bridge/refusal_log.hpp"

#include "ee/log.hpp"

namespace ee {

refusal_log::refusal_log(std::size_t burst, std::chrono::milliseconds window)
    : burst_(burst), window_(window) {
  // nop
}

void refusal_log::refused(const std::string& line, clock_type::time_point now) {
  ++total_;
  tick(now);
  if (!started_) {
    started_ = true;
    window_start_ = now;
  }
  if (logged_in_window_ < burst_) {
    ++logged_in_window_;
    ee::log(log_level::warning, "security: " + line);
    return;
  }
  ++held_in_window_;
  ++unlogged_;
}

void refusal_log::tick(clock_type::time_point now) {
  if (!started_ || now - window_start_ < window_)
    return;
  summarize();
  started_ = false;
  logged_in_window_ = 0;
}

void refusal_log::summarize() {
  if (held_in_window_ == 0)
    return;
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(window_);
  ee::log(log_level::warning,
          "security: " + std::to_string(held_in_window_) +
              " more refused connections were not logged one by one (at "
              "most " +
              std::to_string(burst_) + " lines per " +
              std::to_string(secs.count()) + " s)");
  held_in_window_ = 0;
}

} // namespace ee
