#pragma once

// The CAF scheduler settings of the engine's actor system, in one place: the
// app uses them, and so does the benchmark's bare-CAF floor (section e), so
// that the floor runs on the same scheduler.

#include <algorithm>
#include <cstddef>
#include <thread>

#include <caf/actor_system_config.hpp>

namespace ee {

/// Sets the scheduler of `cfg`: `threads` workers (0: the cores, at least 2)
/// that block on their queue when idle instead of polling or stealing.
inline void configure_scheduler(caf::actor_system_config& cfg,
                                std::size_t threads) {
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  // Idle workers block on their queue instead of polling it: on few cores
  // the polling workers steal the CPU from the threads doing the work (ZeroMQ
  // I/O, blocking plugins), which halves request/reply throughput.
  cfg.set("work-stealing.moderate-poll-attempts", std::size_t{0});
  // Nor do they spin trying to steal work: with many short jobs (100,000
  // plugins starting at the barrier) the spinning thieves fight over the
  // victims' queue locks; without it the barrier passes 7x faster and the
  // pipelines lose nothing (docs/performance.md).
  cfg.set("work-stealing.aggressive-poll-attempts", std::size_t{0});
}

} // namespace ee
