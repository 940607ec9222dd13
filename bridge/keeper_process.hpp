#pragma once

// The keeper process's side (see keeper.hpp) and the messages on its socket.

#include <cstdint>

namespace ee::keeper_wire {

/// Every message on the keeper's socket (SOCK_SEQPACKET) starts with this;
/// a spawn request is followed by its strings (path, dir, argv..., env...,
/// each NUL-terminated) and carries the stdout and stderr fds.
struct header {
  char kind;
  std::int32_t a;
  std::int32_t b;
  std::int32_t c;
};

// Engine -> keeper.
/// Spawn: a = argc, b = number of environment entries.
constexpr char spawn = 'S';
/// The engine ends normally: a = the grace for what is left, in ms.
constexpr char end = 'E';
/// Kill everything now (a second Ctrl-C).
constexpr char kill_now = 'K';

// Keeper -> engine.
/// The answer to a spawn: a = pid (0 on failure), b = what failed
/// (0, 'c' chdir, 'e' exec, 'f' fork or pipe), c = errno.
constexpr char spawned = 'P';
/// A spawned process was reaped: a = pid, b = wait status.
constexpr char exited = 'X';

/// The largest spawn request (its strings) the keeper accepts.
constexpr std::size_t max_request = 192 * 1024;

/// The keeper's life after the fork: serves `fd` and never returns.
/// @param grace_ms the grace when the engine dies.
[[noreturn]] void keeper_main(int fd, int grace_ms);

} // namespace ee::keeper_wire
