#pragma once

// What the supervision tests share (supervision_test.cpp,
// supervision_redelivery_test.cpp, supervision_shutdown_test.cpp): a
// journal of plugin starts and stops, a plugin that fails or quits when
// told, and an app config with quick restarts.

#include "ee/app.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace ee::test::supervision_fixture {

using namespace std::chrono_literals;

/// A log of (plugin name, incarnation) starts and stops, shared by plugins.
class journal {
public:
  void add(std::string line) {
    std::lock_guard<std::mutex> guard{mtx_};
    lines_.push_back(std::move(line));
  }

  std::vector<std::string> lines() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_;
  }

  std::size_t count(const std::string& line) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<std::size_t>(
        std::count(lines_.begin(), lines_.end(), line));
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

inline ee::app_config local_config() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  cfg.shutdown_grace = 2s;
  return cfg;
}

inline ee::plugin_options restart_opts(ee::restart_policy p) {
  ee::plugin_options opts;
  opts.restart = p;
  opts.backoff.initial = 1ms;
  opts.backoff.max = 5ms;
  opts.backoff.jitter = 0;
  return opts;
}

/// Records its starts; on "fail:<name>" throws, on "quit:<name>" stops
/// normally; stays otherwise.
class member : public ee::plugin {
public:
  member(std::string name, std::shared_ptr<journal> j)
      : name_(std::move(name)), j_(std::move(j)) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"fail:" + name_}, ee::event_type{"quit:" + name_}};
  }

  void on_start(ee::context& ctx) override {
    j_->add("start " + name_ + " " + std::to_string(ctx.restarts()));
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (ev.starts_with("fail:")) {
      j_->add("fail " + name_);
      throw std::runtime_error("told to fail");
    }
    ctx.stop();
  }

  void on_stop(ee::context&) override { j_->add("stop " + name_); }

private:
  std::string name_;
  std::shared_ptr<journal> j_;
};

inline ee::plugin_factory member_factory(std::string name,
                                         std::shared_ptr<journal> j) {
  return [name, j] { return std::make_unique<member>(name, j); };
}

} // namespace ee::test::supervision_fixture
