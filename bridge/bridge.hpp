#pragma once
// TEMPORARY STUB (replaced by the bridge split)
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>
#include "bridge/seam.hpp"
#include "ee/app_config.hpp"
#include "ee/expected.hpp"
#include "ee/external_plugin.hpp"
namespace ee {
struct bridge_plugin {
  endpoint_id slot = 0;
  std::string name;
  int port = 0;
  std::vector<std::string> filters;
  bool await_first_request = false;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::string working_dir;
  delivery_mode delivery = delivery_mode::at_least_once;
  std::uint32_t max_delivery_attempts = 3;
};
struct bridge_stats {
  std::uint64_t rejected = 0;
  std::uint64_t raw_published = 0;
  std::uint64_t raw_dropped = 0;
};
class bridge final : public bridge_link {
public:
  static expected<std::unique_ptr<bridge>> open(const app_config&, std::vector<bridge_plugin>);
  void start(engine_link&, credit) {}
  void shutdown(std::chrono::steady_clock::time_point) {}
  int publish_port() const { return -1; }
  int subscribe_port() const { return -1; }
  std::map<std::string, int> plugin_ports() const { return {}; }
  bridge_stats stats() const { return {}; }
  void deliver(endpoint_id, event_batch&&) override {}
  void deliver_raw(event_batch&&) override {}
  void grant(endpoint_id, credit) override {}
  void launch(endpoint_id) override {}
  void retire(endpoint_id) override {}
  std::uint64_t take_raw_released() override { return 0; }
};
}
