#pragma once

#include <memory>
#include <string>

#include "ee/app.hpp"
#include "ee/expected.hpp"

namespace ee::host {

/// The Prometheus endpoint of `event-engine run --metrics ADDR:PORT`: an HTTP
/// server (prometheus-cpp) whose `/metrics` page is built from `app::stats()`
/// at every scrape. docs/metrics.md lists the metrics.
class metrics_endpoint {
public:
  /// Listens on `address` (`PORT`, `HOST:PORT` or `[IPv6]:PORT`; a bare
  /// port means loopback; port 0 picks a free one). @returns an error that
  /// names the address and the fix if it cannot listen.
  static expected<std::unique_ptr<metrics_endpoint>> open(std::string address,
                                                          const app& a);

  ~metrics_endpoint();

  /// @returns the port it listens on.
  int port() const noexcept { return port_; }

  /// @returns true if it listens on loopback only.
  bool loopback() const noexcept { return loopback_; }

  struct impl;

private:
  metrics_endpoint() = default;
  std::unique_ptr<impl> impl_;
  int port_ = -1;
  bool loopback_ = true;
};

/// @returns `st` in the Prometheus text exposition format (what `/metrics`
/// serves), for tests and for `--stats prometheus`.
std::string to_prometheus(const engine_stats& st);

/// @returns `st` as a human-readable table (what `--stats` prints).
std::string to_table(const engine_stats& st);

} // namespace ee::host
