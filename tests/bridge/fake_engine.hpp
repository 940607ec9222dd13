#pragma once

// A fake engine for the bridge tests: records every engine_link call and
// routes like a tiny router: per endpoint a source of events delivered
// within a window, more on each settlement. Every wait is bounded.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <zmq.hpp>

#include "bridge/bridge.hpp"
#include "bridge/seam.hpp"
#include "ee/log.hpp"

namespace ee {

/// `1_ep`: endpoint 1 (tests name endpoints by number).
constexpr endpoint_id operator""_ep(unsigned long long x) {
  return endpoint_id{x};
}

} // namespace ee

namespace ee::test {

using namespace std::chrono_literals;

class fake_engine : public engine_link {
public:
  struct totals {
    std::uint64_t handled = 0;
    std::uint64_t handled_bytes = 0;
    std::uint64_t discarded = 0;
    std::uint64_t discarded_bytes = 0;
    std::vector<event> dead_letters;
    std::uint64_t delivered = 0; // handed to the bridge
    std::uint64_t in_flight = 0; // delivered, not settled
    std::uint64_t settle_calls = 0;
  };

  struct exit_report {
    endpoint_id id;
    bool normal;
    std::string text;
  };

  mutable std::mutex mtx;
  std::condition_variable cv;
  bridge_link* link = nullptr;
  std::map<endpoint_id, std::vector<event>> published_events;
  std::map<endpoint_id, std::uint64_t> published_calls;
  std::map<endpoint_id, bool> auto_grant; // grant back what was published
  std::map<endpoint_id, totals> settled_totals;
  std::map<endpoint_id, std::deque<event>> sources;
  std::map<endpoint_id, std::size_t> windows;
  std::map<endpoint_id, int> first_requests;
  std::map<endpoint_id, int> quits;
  std::vector<exit_report> exits;
  std::vector<std::pair<std::string, bool>> raw_subs;
  std::vector<std::string> failures;

  /// Adds events for endpoint `id`, delivered within `window`.
  void feed(endpoint_id id, std::vector<event> events, std::size_t window) {
    std::lock_guard<std::mutex> guard{mtx};
    windows[id] = window;
    for (auto& ev : events)
      sources[id].push_back(std::move(ev));
    pump(id);
  }

  void published(endpoint_id pub, event_batch&& events) override {
    std::lock_guard<std::mutex> guard{mtx};
    ++published_calls[pub];
    credit c;
    for (auto& ev : events) {
      c.events += 1;
      c.bytes += ev.size();
      published_events[pub].push_back(std::move(ev));
    }
    if (auto_grant[pub])
      link->grant(pub, c);
    cv.notify_all();
  }

  void settled(endpoint_id id, settlement&& s) override {
    std::lock_guard<std::mutex> guard{mtx};
    auto& t = settled_totals[id];
    t.handled += s.handled.size();
    for (auto& ev : s.handled)
      t.handled_bytes += ev.size();
    t.discarded += s.discarded.size();
    for (auto& ev : s.discarded)
      t.discarded_bytes += ev.size();
    auto n = s.handled.size() + s.discarded.size() + s.dead_letters.size();
    t.in_flight -= n;
    ++t.settle_calls;
    for (auto& ev : s.dead_letters)
      t.dead_letters.push_back(std::move(ev));
    pump(id);
    cv.notify_all();
  }

  void first_request(endpoint_id id) override {
    std::lock_guard<std::mutex> guard{mtx};
    ++first_requests[id];
    cv.notify_all();
  }

  void quit(endpoint_id id) override {
    std::lock_guard<std::mutex> guard{mtx};
    ++quits[id];
    cv.notify_all();
  }

  void exited(endpoint_id id, bool normal, std::string text) override {
    std::lock_guard<std::mutex> guard{mtx};
    exits.push_back({id, normal, std::move(text)});
    cv.notify_all();
  }

  void raw_subscription(std::string filter, bool subscribed) override {
    std::lock_guard<std::mutex> guard{mtx};
    raw_subs.emplace_back(std::move(filter), subscribed);
    cv.notify_all();
  }

  void failed(std::string what) override {
    std::lock_guard<std::mutex> guard{mtx};
    failures.push_back(std::move(what));
    cv.notify_all();
  }

  /// Waits until `pred()` (called under the lock) or `timeout`.
  template <class Pred>
  bool wait_for(Pred pred, std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{mtx};
    return cv.wait_for(guard, timeout, pred);
  }

private:
  // Delivers within the window. Called under the lock.
  void pump(endpoint_id id) {
    auto& src = sources[id];
    auto& t = settled_totals[id];
    event_batch batch;
    while (!src.empty() && t.in_flight < windows[id]) {
      batch.push_back(std::move(src.front()));
      src.pop_front();
      ++t.in_flight;
      ++t.delivered;
    }
    if (!batch.empty())
      link->deliver(id, std::move(batch));
  }
};

/// Collects log lines (thread-safe) while alive.
class log_capture {
public:
  log_capture() {
    ee::set_log_sink([this](log_level, std::string_view line) {
      std::lock_guard<std::mutex> guard{mtx_};
      lines_.emplace_back(line);
      cv_.notify_all();
    });
  }

  ~log_capture() { ee::set_log_sink({}); }

  /// @returns true once a line contains `text` (bounded wait).
  bool wait_for(const std::string& text,
                std::chrono::milliseconds timeout = 10s) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, timeout, [&] { return has_locked(text); });
  }

  /// @returns true if a line contains `text`.
  bool has(const std::string& text) {
    std::lock_guard<std::mutex> guard{mtx_};
    return has_locked(text);
  }

  /// @returns every line so far.
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_;
  }

private:
  bool has_locked(const std::string& text) const {
    for (auto& l : lines_)
      if (l.find(text) != std::string::npos)
        return true;
    return false;
  }

  std::mutex mtx_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

/// An app_config with free ports everywhere.
inline app_config test_config() {
  app_config cfg;
  cfg.publish_port = 0;
  cfg.subscribe_port = 0;
  cfg.shutdown_grace = std::chrono::milliseconds{2000};
  return cfg;
}

/// A REQ client with linger 0 connected to `port` on the loopback.
inline zmq::socket_t req_socket(zmq::context_t& ctx, int port) {
  zmq::socket_t s{ctx, zmq::socket_type::req};
  s.set(zmq::sockopt::linger, 0);
  s.connect("tcp://127.0.0.1:" + std::to_string(port));
  return s;
}

/// Receives one message within `timeout`. @returns false on timeout.
inline bool recv_within(zmq::socket_t& s, std::string& out,
                        std::chrono::milliseconds timeout = 10s) {
  zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() < 0)
      return false;
    zmq::poll(&item, 1, left);
    if (item.revents & ZMQ_POLLIN) {
      zmq::message_t msg;
      if (s.recv(msg, zmq::recv_flags::dontwait)) {
        out = msg.to_string();
        return true;
      }
    }
  }
}

/// Sends `body` and returns the reply (or "<timeout>").
inline std::string request(zmq::socket_t& s, const std::string& body,
                           std::chrono::milliseconds timeout = 10s) {
  s.send(zmq::buffer(body), zmq::send_flags::none);
  std::string reply;
  return recv_within(s, reply, timeout) ? reply : "<timeout>";
}

} // namespace ee::test
