// What every run of the load-test pipeline (section a) shares: the events
// (their types and sizes), the expected total and the child's report line.

#pragma once

#include <cstddef>
#include <cstdint>
#include <iomanip>
#include <iostream>
#include <string_view>

#include "tests/benchmark/bench_common.hpp"

namespace ee::bench {

inline constexpr std::string_view initial_type = "InitialMsgString";
inline constexpr std::string_view operator_type = "OperatorMsg";

/// @returns the payload size of the event after one of `size` bytes.
inline std::size_t next_size(std::size_t size) {
  return size >= max_size ? min_size : size + 1;
}

/// @returns the sum of the payload sizes of `n` events.
inline std::uint64_t expected_total(std::uint64_t n) {
  std::uint64_t total = 0;
  std::size_t size = min_size;
  for (std::uint64_t i = 0; i < n; ++i) {
    total += size;
    size = next_size(size);
  }
  return total;
}

/// What one pipeline run measured, from the producer's first event to the
/// accumulator's last: wall clock and the whole process's CPU time.
struct pipeline_shared {
  std::uint64_t n = 0;
  clock_type::time_point start;
  clock_type::time_point end;
  double cpu_start = 0;
  double cpu_end = 0;
  std::uint64_t seen = 0;
  std::uint64_t total = 0;

  void started() {
    cpu_start = process_cpu_seconds();
    start = clock_type::now();
  }

  void ended() {
    end = clock_type::now();
    cpu_end = process_cpu_seconds();
  }
};

/// Prints a pipeline child's CHILD line. @returns 0, the exit code.
inline int print_pipeline_child(const pipeline_shared& s, long start_kb,
                                std::uint64_t dropped, bool forced) {
  double secs = seconds(s.start, s.end);
  double cpu_us = s.seen ? (s.cpu_end - s.cpu_start) * 1e6 / s.seen : 0;
  std::cout << std::setprecision(10) << "CHILD eps=" << (s.seen / secs)
            << " secs=" << secs << " cpu_us=" << cpu_us
            << " start_kb=" << start_kb << " peak_kb=" << status_kb("VmHWM")
            << " seen=" << s.seen << " total=" << s.total
            << " expected=" << expected_total(s.n) << " dropped=" << dropped
            << " forced=" << forced << std::endl;
  return 0;
}

} // namespace ee::bench
