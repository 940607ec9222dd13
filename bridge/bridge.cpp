// TEMPORARY STUB
#include "bridge/bridge.hpp"
namespace ee {
bridge_link::~bridge_link() = default;
engine_link::~engine_link() = default;
expected<std::unique_ptr<bridge>> bridge::open(const app_config&, std::vector<bridge_plugin>) {
  return error{ec::internal, "bridge stub"};
}
}
