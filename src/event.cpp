#include "ee/event.hpp"

namespace ee {

namespace {

const std::shared_ptr<const std::string>& empty_buffer() {
  static const auto buf = std::make_shared<const std::string>();
  return buf;
}

} // namespace

event::event() : data_(empty_buffer()) {
  // nop
}

event::event(std::string_view bytes)
    : data_(std::make_shared<const std::string>(bytes)) {
  // nop
}

event::event(std::string&& bytes)
    : data_(std::make_shared<const std::string>(std::move(bytes))) {
  // nop
}

event event::concat(std::string_view filter, std::string_view payload) {
  std::string buf;
  buf.reserve(filter.size() + payload.size());
  buf.append(filter);
  buf.append(payload);
  return event{std::move(buf)};
}

} // namespace ee
