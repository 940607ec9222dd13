#pragma once

#include <chrono>
#include <functional>
#include <vector>

#include <zmq.hpp>

namespace ee {

/// A `zmq_poll` over ZeroMQ sockets and file descriptors that owns its items
/// and calls one handler per ready item (the shape of cppzmq's
/// `active_poller_t`, which is draft API in Debian's build). An item may be
/// switched off and on (`enable`): it stays in place and is simply not
/// polled. Adding a socket is one `add`. Used by one thread.
class poller {
public:
  /// Called with the item's `revents`.
  using handler = std::function<void(short revents)>;

  /// Adds `sock`, polled for `events`. @returns its index (for `enable`).
  std::size_t add(zmq::socket_ref sock, handler h, short events = ZMQ_POLLIN);

  /// Adds file descriptor `fd`, polled for `events`.
  std::size_t add(int fd, handler h, short events = ZMQ_POLLIN);

  /// Removes every item added after the first `n`.
  void truncate(std::size_t n);

  /// Switches item `index` on or off.
  void enable(std::size_t index, bool on);

  /// @returns the number of items.
  std::size_t size() const noexcept { return items_.size(); }

  /// Waits at most `timeout` for an item to be ready (EINTR counts as none
  /// ready). @returns the number of ready items.
  /// @throws zmq::error_t if polling fails.
  int wait(std::chrono::milliseconds timeout);

  /// Calls the handler of every item that `wait` found ready, in the order
  /// they were added.
  void dispatch();

  /// `wait`, then `dispatch`. @returns the number of ready items.
  int poll(std::chrono::milliseconds timeout) {
    auto ready = wait(timeout);
    dispatch();
    return ready;
  }

private:
  std::vector<zmq::pollitem_t> items_;
  std::vector<short> events_; // what each item is polled for when on
  std::vector<handler> handlers_;
};

} // namespace ee
