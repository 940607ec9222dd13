#pragma once

// The bridge's state and its poll thread, shared by bridge.cpp (opening,
// the public interface) and bridge_loop.cpp (the thread). Private to the
// bridge.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <variant>
#include <vector>

#include <zmq.hpp>

#include "bridge/bridge.hpp"
#include "bridge/children.hpp"
#include "bridge/connection_watch.hpp"
#include "bridge/endpoint.hpp"
#include "bridge/poller.hpp"
#include "bridge/raw_ports.hpp"
#include "bridge/refusal_log.hpp"
#include "bridge/zap_handler.hpp"

namespace ee {

// -- commands from the engine to the bridge's thread
// ----------------------------

struct deliver_cmd {
  endpoint_id id;
  event_batch events;
};

struct raw_cmd {
  event_batch events;
};

struct grant_cmd {
  endpoint_id pub;
  credit c;
};

struct launch_cmd {
  endpoint_id id;
};

struct retire_cmd {
  endpoint_id id;
};

using command =
    std::variant<deliver_cmd, raw_cmd, grant_cmd, launch_cmd, retire_cmd>;

/// Fault injection for tests, compiled in and off unless set: the bridge's
/// thread fails this many milliseconds after `start`.
inline constexpr const char* fault_variable = "EE_TEST_BRIDGE_FAULT_MS";

// -- the bridge's state
// ----------------------------------------------------------

struct bridge::impl {
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;

  // Declared before the context: libzmq releases raw events (and counts
  // their bytes here) until the context is destroyed.
  std::atomic<std::uint64_t> raw_released{0};
  app_config cfg;
  // One I/O thread: the connection tracker relies on a connection's
  // ACCEPTED event preceding its messages.
  zmq::context_t ctx{1};
  // Refused connections, rate-limited; used by the bridge's thread (its
  // counters by any thread). Declared before the sockets that report to it.
  refusal_log refusals;
  // With CURVE: the ZAP handler, bound before every TCP port and closed
  // after them (the destructor resets it last).
  std::unique_ptr<zap_handler> zap;
  // With CURVE: the pending handshakes on every port.
  std::unique_ptr<handshake_book> handshakes;
  std::unique_ptr<raw_ports> raw;
  std::vector<std::unique_ptr<endpoint>> endpoints;
  std::unordered_map<endpoint_id, endpoint*> by_id;
  std::unique_ptr<children> kids;
  int wake_fd = -1;
  // For tests: when the thread fails on purpose (fault_variable).
  time_point fault_at = time_point::max();

  engine_link* engine = nullptr;
  std::thread thread;

  // -- the command queue (any thread -> the bridge's thread) --
  std::mutex mtx;
  std::vector<command> commands;                // guarded by mtx
  bool stop_requested = false;                  // guarded by mtx
  time_point stop_deadline = time_point::max(); // guarded by mtx
  bool shut_down = false;                       // guarded by mtx

  // -- the poll loop's state (the bridge's thread only) --
  poller items;
  // Items after this many are the processes' output pipes of one round.
  std::size_t fixed_items = 0;
  // The publish port's SUB: polled only with credit.
  std::optional<std::size_t> sub_item;
  // Polled only while serving.
  std::vector<std::size_t> serving_items;
  std::vector<std::pair<int, endpoint_id>> child_fds;
  bool serving = true;
  time_point now{};
  time_point last_activity{};
  time_point next_timer = time_point::max();
  time_point deadline = time_point::max();
  std::size_t pending_handshakes = 0;

  ~impl();

  void push(command cmd);
  void wake();

  // -- the bridge's thread (bridge_loop.cpp)
  // --------------------------------------

  void run();
  void add_items();
  void prepare_items();
  std::chrono::milliseconds poll_timeout(bool hot) const;
  void on_wake();
  void check_stop();
  void after_reads();
  bool finished();
  void handle_commands();
  void handle(deliver_cmd& cmd);
  void handle(raw_cmd& cmd);
  void handle(grant_cmd& cmd);
  void handle(launch_cmd& cmd);
  void handle(retire_cmd& cmd);
  void flush();
  std::size_t check_handshakes();
};

} // namespace ee
