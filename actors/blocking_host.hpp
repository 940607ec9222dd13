#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bridge/seam.hpp"
#include "ee/plugin.hpp"
#include "src/core/publish_credit.hpp"
#include "src/core/publish_queue.hpp"

namespace ee {

/// How a blocking plugin's thread reaches the engine. Implemented by the
/// engine (with CAF messages); the port calls it under its lock, so after
/// `blocking_port::abandon` returns it is never called again.
class blocking_link {
public:
  virtual ~blocking_link();
  virtual void ready(std::vector<std::string> filters,
                     std::vector<std::string> type_names) = 0;
  virtual void drain() = 0;
  virtual void ack(std::uint64_t n) = 0;
  virtual void failure(std::uint64_t handled, bool poisoned,
                       std::string what) = 0;
  virtual void ended(bool abnormal, std::string reason) = 0;
};

/// The meeting point of a blocking plugin's thread and the engine: the
/// engine pushes (barrier ok, deliveries, credit, stop) from its thread;
/// the plugin's thread publishes and receives through it. No actor: the
/// engine hands events over directly, and a plugin stuck in its own code can
/// be abandoned (its thread left running) without anything it can still
/// touch being freed: the thread shares ownership of the port, its plugin
/// instance and its outbox. Thread-safe, but `publish` is for the plugin's
/// own thread (the one `run` runs on): publishing takes no lock (the outbox
/// is a single-producer ring, the credit a running total).
class blocking_port final : public publisher, public subscriber {
public:
  blocking_port(std::string name, std::string uuid,
                std::shared_ptr<publish_queue> outbox, credit window,
                std::unique_ptr<blocking_link> link);

  ~blocking_port() override;

  // -- engine side
  // --------------------------------------------------------------

  /// The start barrier passed.
  void ok();

  /// Events for the plugin.
  void deliver(event_batch&& events);

  /// More publish credit.
  void grant(credit c);

  /// Asks the plugin to stop: `recv`, `publish` and `stopping` tell it.
  void stop();

  /// Stops talking to the engine for good (the plugin did not stop in time):
  /// every later call of the plugin throws `stop_requested`, nothing reaches
  /// the engine any more. The thread is left to end when it can.
  void abandon();

  /// @returns true once the thread has left the plugin's code for good.
  bool finished() const;

  /// @returns true if `abandon` was called.
  bool abandoned() const;

  // -- plugin side (its thread)
  // -------------------------------------------------

  void publish(event ev) override;
  event recv() override;
  std::optional<event> recv(std::chrono::milliseconds timeout) override;
  bool stopping() const noexcept override;
  const std::string& name() const noexcept override { return name_; }
  const std::string& id() const noexcept override { return uuid_; }

  // -- the host thread
  // ----------------------------------------------------------

  /// Runs the plugin: announces its subscriptions, waits for the barrier,
  /// calls `run`, reports how it ended. The body of the plugin's thread.
  void run_plugin(std::unique_ptr<plugin_base> instance);

private:
  using lock = std::unique_lock<std::mutex>;

  std::optional<event> next(lock& guard);
  void await_credit();
  void ring_doorbell();
  void ack_all(lock& guard);
  [[noreturn]] void stop_inside_publish(lock& guard);
  void report_failure(const std::string& what);
  bool await_ok();
  void notify_ended(bool abnormal, std::string reason);

  const std::string name_;
  const std::string uuid_;
  const std::shared_ptr<publish_queue> outbox_;

  mutable std::mutex mtx_;
  std::condition_variable cv_;
  // -- guarded by mtx_ --
  std::unique_ptr<blocking_link> link_;
  std::deque<event> inbox_;
  // Events `recv` returned and the engine has not been told about.
  std::uint64_t returned_ = 0;
  bool ok_ = false;
  // -- written under mtx_, read without it by `publish` --
  std::atomic<bool> stop_{false};
  // -- lock-free --
  // The thread that runs the plugin: the outbox's one producer. Set before
  // `run` starts (threads the plugin makes see it).
  std::thread::id owner_;
  shared_publish_credit credit_;
  // The plugin's thread waits for credit (a grant must wake it).
  std::atomic<bool> credit_wait_{false};
  // -- guarded by mtx_ --
  bool abandoned_ = false;
  bool finished_ = false;
};

/// The threads of blocking plugins, so the app can join them (or leave the
/// abandoned ones behind) before it tears the runtime down. Thread-safe.
class blocking_threads {
public:
  /// Starts a thread that runs `instance` through `port`.
  void start(std::shared_ptr<blocking_port> port,
             std::unique_ptr<plugin_base> instance);

  /// Joins every thread whose plugin finished, detaches abandoned ones and
  /// cuts every port off from the engine. Call before the actor system
  /// goes away.
  void join_all();

  ~blocking_threads();

private:
  struct entry {
    std::shared_ptr<blocking_port> port;
    std::thread thread;
  };

  void reap(std::vector<entry>& done);

  std::mutex mtx_;
  std::vector<entry> entries_; // guarded by mtx_
};

} // namespace ee
