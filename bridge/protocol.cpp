#include "bridge/protocol.hpp"

namespace ee::wire {

request classify(std::size_t body_frames, std::string_view body,
                 std::size_t max_size) {
  request result;
  if (body_frames == 0) {
    result.error = "empty request: a request is exactly one frame";
    return result;
  }
  if (body_frames > 1) {
    result.error = "multi-frame request (" + std::to_string(body_frames) +
                   " frames): a request is exactly one frame; nothing was "
                   "published";
    return result;
  }
  if (body == next_msg_command) {
    result.kind = request_kind::next_msg;
  } else if (body == quit_command) {
    result.kind = request_kind::quit;
  } else if (body.size() > max_size) {
    result.error = "message of " + std::to_string(body.size()) +
                   " bytes exceeds the maximum of " + std::to_string(max_size) +
                   " bytes (app_config::max_message_size); nothing was "
                   "published";
  } else {
    result.kind = request_kind::publish;
  }
  return result;
}

std::string make_bad_msg_reply(std::string_view why) {
  std::string result{bad_msg_reply};
  result += ": ";
  result += why;
  return result;
}

} // namespace ee::wire
