// The sections of ee_benchmark, one source file each: the parent's driver
// (`section_x`, which prints progress lines and reports figures and targets)
// and the child modes it runs (`child_...`, which print one CHILD line).

#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tests/benchmark/bench_common.hpp"

namespace ee::bench {

// -- a. load-test pipeline (section_pipeline.cpp) -----------------------------

/// Child mode: the engine pipeline of `n` events. @returns the exit code.
int child_engine_pipeline(std::uint64_t n);

/// Child mode: the raw libzmq pipeline (the original topology) of `n` events.
/// @returns the exit code.
int child_raw_pipeline(std::uint64_t n);

/// Child mode: the pipeline's physical floor (pipeline_floor.cpp): three
/// threads and two lock-free rings, `n` events. @returns the exit code.
int child_floor_pipeline(std::uint64_t n);

/// Section a: the pipeline on the engine, on raw libzmq and at the floor, in
/// interleaved rounds.
void section_a(const settings& cfg);

// -- b. one-hop fan-out (section_fanout.cpp) ----------------------------------

/// Child mode: the engine's fan-out to `k` subscribers of `n` events.
/// @returns the exit code.
int child_fanout(std::size_t k, std::uint64_t n);

/// Child mode: raw libzmq's fan-out to `k` subscribers of `n` events (for
/// single measurements; section b runs it in the parent).
/// @returns the exit code.
int child_fanout_raw(std::size_t k, std::uint64_t n);

/// Section b: fan-out to 1, 10, 100 and 1,000 subscribers, engine and raw
/// libzmq.
void section_b(const settings& cfg);

// -- c. external plugin round trips (section_round_trips.cpp) -----------------

/// Child mode: round trips of a Python client (`mode` "pyevents" or "bare")
/// through the engine. @returns the exit code.
int child_rt(const std::string& mode, std::uint64_t n);

/// Section c: pyevents round trips against a pyzmq REQ -> ROUTER echo.
void section_c(const settings& cfg);

// -- d. raw TCP subscribers (section_tcp_sub.cpp) -----------------------------

/// Child mode: a raw TCP SUB client on the engine's subscribe port, `n`
/// events. @returns the exit code.
int child_tcp(std::uint64_t n);

/// Section d: a TCP SUB client on the engine against TCP PUB -> SUB.
void section_d(const settings& cfg);

// -- e. barrier and restarts (section_barrier.cpp) ----------------------------

/// Child mode: `k` idle actor plugins through the start barrier, then a stop.
/// @returns the exit code.
int child_barrier(std::size_t k);

/// Child mode: the barrier's floor (barrier_floor.cpp): a bare CAF system
/// spawns `k` lazy_init actors and sends each one message.
/// @returns the exit code.
int child_caf_floor(std::size_t k);

/// Child mode: restart latency of a crashing plugin, `rounds` times.
/// @returns the exit code.
int child_restart(std::size_t rounds, bool verbose);

/// Section e: start-up, memory and stop of idle plugins; restart latency.
void section_e(const settings& cfg);

// -- f. federation (section_federation.cpp) -----------------------------------

/// Child mode: engines peered in a line of `hops` links in this process,
/// `n` events from the first to the last, then `pings` round trips.
/// @returns the exit code.
int child_fed(std::size_t hops, std::uint64_t n, std::uint64_t pings);

/// Section f: throughput and round trips over one link and two hops against
/// raw ZeroMQ TCP PUB -> SUB with HWM 0.
void section_f(const settings& cfg);

} // namespace ee::bench
