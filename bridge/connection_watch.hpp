#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <unordered_map>
#include <vector>

namespace ee {

/// Handshakes in progress on every CURVE port of one bridge, and their
/// limits (docs/security.md, "Connections"). Used by the bridge's thread.
class handshake_book {
public:
  struct limits {
    /// Pending handshakes in total.
    std::size_t max_pending = 64;
    /// Pending handshakes from one source address (but a loopback one, which
    /// every local client shares).
    std::size_t max_per_address = 8;
    /// Bytes a connection may send before its handshake completes.
    std::uint64_t max_bytes = 16 * 1024;
  };

  explicit handshake_book(limits lim) : lim_(lim) {}

  const limits& limit() const noexcept { return lim_; }

  /// Counts a handshake from `address`. @returns an empty string, or why it
  /// is over a limit (then it is not counted).
  std::string admit(const std::string& address);

  /// A handshake from `address` ended.
  void release(const std::string& address);

private:
  limits lim_;
  std::size_t total_ = 0;
  std::unordered_map<std::string, std::size_t> per_address_;
};

/// The TCP connections of one listening socket, by file descriptor, as its
/// socket monitor reports them (ACCEPTED, DISCONNECTED), with what each has
/// sent so far (the kernel's `tcpi_bytes_received`): the bridge ends those
/// that cost too much with `shutdown(fd, SHUT_RDWR)`, which libzmq sees as
/// the peer hanging up. A descriptor is ended only while its local port and
/// peer address are still those recorded when it was accepted (the kernel
/// reuses descriptors at once). With a `handshake_book` (CURVE ports) a
/// connection is *pending* until the engine has sent its READY command
/// (`handshake_done_bytes`), and limited by the book meanwhile. Used by the
/// bridge's thread only.
class connection_watch {
public:
  /// Bytes a CURVE server has sent once its handshake is complete: the
  /// greeting (64), WELCOME (2 + 168) and at least 40 bytes of READY
  /// (RFC 26), while a refusal sends at most a short ERROR (about 12).
  static constexpr std::uint64_t handshake_done_bytes = 64 + 170 + 40;

  /// Watches connections accepted on local port `port`, at most
  /// `max_connections` at a time (`app_config::max_connections`).
  explicit connection_watch(
      int port = 0, handshake_book* book = nullptr,
      std::size_t max_connections = std::numeric_limits<std::size_t>::max())
      : port_(port), book_(book), max_connections_(max_connections) {}

  /// A connection was accepted on `fd`. @returns an empty string, or why
  /// it was ended at once (the port's connection limit, a handshake limit).
  std::string accepted(int fd);

  /// The connection on `fd` closed.
  void closed(int fd);

  /// @returns the number of connections watched.
  std::size_t size() const noexcept { return conns_.size(); }

  /// @returns the number of pending handshakes.
  std::size_t pending() const noexcept { return pending_; }

  /// Ends every connection that sent more than `max_bytes`. @returns how
  /// many it ended.
  std::size_t end_over(std::uint64_t max_bytes);

  /// Ends the connection that sent the most bytes. @returns false if none.
  bool end_largest();

  /// Settles completed handshakes and ends pending connections that sent
  /// more than the book allows. @returns a line per connection ended.
  std::vector<std::string> check_handshakes();

  /// @returns the bytes received on `fd` so far (0 if it is no TCP socket).
  static std::uint64_t received(int fd);

private:
  struct conn {
    std::string peer;    // address:port, as accepted
    std::string address; // without the port
    bool pending = false;
  };

  // Local port and peer address of `fd` now ("" if not a connected socket).
  std::string describe(int fd) const;

  void end(int fd);

  void settle(conn& c);

  int port_;
  handshake_book* book_;
  std::size_t max_connections_;
  std::size_t pending_ = 0;
  std::unordered_map<int, conn> conns_;
};

} // namespace ee
