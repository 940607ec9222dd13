#pragma once

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include "ee/app.hpp"
#include "ee/event.hpp"

namespace ee::test {

/// Thread-safe list of received events.
class collector {
public:
  void add(const event& ev) {
    std::lock_guard<std::mutex> guard{mtx_};
    events_.push_back(ev);
  }

  std::vector<std::string> strings() const {
    std::lock_guard<std::mutex> guard{mtx_};
    std::vector<std::string> result;
    for (auto& ev : events_)
      result.push_back(ev.str());
    return result;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return events_.size();
  }

private:
  mutable std::mutex mtx_;
  std::vector<event> events_;
};

/// Runs `app`; if it has not returned after `timeout`, stops it and returns
/// an error that says so (so a broken engine fails the test, never hangs it).
inline error run_bounded(app& a, std::chrono::seconds timeout) {
  auto fut = std::async(std::launch::async, [&] { return a.run(); });
  if (fut.wait_for(timeout) == std::future_status::ready)
    return fut.get();
  a.stop();
  if (fut.wait_for(std::chrono::seconds{10}) != std::future_status::ready)
    std::abort(); // cannot recover: leave a core rather than hang CI
  (void)fut.get();
  return error{ec::internal, "test: app did not finish within " +
                                 std::to_string(timeout.count()) + " s"};
}

} // namespace ee::test
