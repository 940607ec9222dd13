#include "ee/plugin.hpp"

namespace ee {

context::~context() {
  // nop
}

plugin_base::~plugin_base() {
  // nop
}

void plugin::on_start(context&) {
  // nop
}

void plugin::on_stop(context&) {
  // nop
}

publisher::~publisher() {
  // nop
}

subscriber::~subscriber() {
  // nop
}

const char* stop_requested::what() const noexcept {
  return "the engine asked the plugin to stop";
}

} // namespace ee
