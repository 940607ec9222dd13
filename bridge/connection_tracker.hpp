#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace ee {

/// Maps the socket-monitor events of a ROUTER to the routing identities of
/// its peers, so that a closed connection is reported by identity and never
/// by a file descriptor the kernel may have reused. A plain class: no
/// ZeroMQ, no clock, no threads.
///
/// The caller feeds, in the order it observes them:
/// * `accepted(fd)` / `disconnected(fd)`: the monitor's ACCEPTED and
///   DISCONNECTED events;
/// * `message(identity, fd)`: every message read from the ROUTER with its
///   ZMQ_SRCFD, after draining the monitor (so the ACCEPTED of the message's
///   connection has been fed);
/// * `drained()`: the ROUTER was read to EAGAIN.
///
/// Facts of libzmq 4.3.4 (one I/O thread) this relies on: a connection's
/// ACCEPTED precedes its messages; its DISCONNECTED is emitted before its fd
/// is closed, hence before the fd can be reused.
///
/// Each fd has a sequence of connection *generations*. A new identity is
/// bound to the fd's open generation when no other generation could be its
/// connection; if a generation of that fd closed during the current drain
/// and is not bound yet (its first message may still be queued), or the
/// open generation already has an identity (a contradiction), the identity
/// is *uncertain*: it may belong to the open generation or to one that is
/// already closed. An identity is reported gone (by `take_gone`) only when
/// its connection is closed for certain (the open generation it may belong
/// to has closed too), and only at the `drained()` after that, when every
/// message of the connection has been read. An uncertain identity whose
/// generation is still open must be verified otherwise (a probe); the
/// caller reports the outcome with `forget`.
class connection_tracker {
public:
  using identity = std::string;

  /// How many recently gone identities are remembered (so that a late
  /// message of one is not taken for a new peer).
  static constexpr std::size_t gone_memory = 65536;

  /// The monitor reported a connection accepted on `fd`.
  void accepted(int fd);

  /// The monitor reported the connection on `fd` closed.
  void disconnected(int fd);

  /// A message from `id` was read; `fd` is its ZMQ_SRCFD (-1 if unknown).
  void message(const identity& id, int fd);

  /// The ROUTER was read until it had no message.
  void drained();

  /// @returns the identities whose connection closed for certain, each
  /// once, since the last call.
  std::vector<identity> take_gone();

  /// @returns true if the connection of `id` is closed for certain (a reply
  /// cannot reach it).
  bool closed(const identity& id) const;

  /// @returns true if `id` is tracked but not known to belong to its fd's
  /// open generation (it may already be gone: verify with a probe).
  bool uncertain(const identity& id) const;

  /// Stops tracking `id` (the caller learned that it is gone). It is not
  /// reported by `take_gone` afterwards.
  void forget(const identity& id);

  /// @returns how many identities are tracked (live or not yet reported).
  std::size_t tracked() const noexcept { return peers_.size(); }

  /// @returns how many identities were uncertain when first seen.
  std::uint64_t ambiguous_count() const noexcept { return ambiguous_; }

private:
  struct generation {
    int fd = -1;
    bool open = true;
    // The epoch (number of drains) when it closed.
    std::uint64_t closed_epoch = 0;
    // The identity bound to it for certain (empty: none).
    identity bound;
    bool has_bound = false;
    // True once two identities claimed it: no certain binding any more.
    bool contested = false;
    // Identities that may belong to it (the bound one included).
    std::vector<identity> claimants;
  };

  struct peer {
    // The generation it may belong to (0: none).
    std::uint64_t gen = 0;
    bool certain = false;
    // True if its connection is closed for certain.
    bool dead = false;
  };

  void close_generation(std::uint64_t g);
  void remember_gone(const identity& id);

  std::uint64_t epoch_ = 0;
  std::uint64_t next_gen_ = 1;
  std::unordered_map<std::uint64_t, generation> gens_;
  // The generations of each fd still known, oldest first.
  std::unordered_map<int, std::vector<std::uint64_t>> by_fd_;
  std::unordered_map<identity, peer> peers_;
  // Identities whose connection closed, reported at the next `drained()`.
  std::vector<identity> closing_;
  std::vector<identity> gone_;
  std::deque<identity> gone_order_;
  std::unordered_set<identity> gone_set_;
  std::uint64_t ambiguous_ = 0;
};

} // namespace ee
