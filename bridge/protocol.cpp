#include "bridge/protocol.hpp"

#include <cstdint>
#include <cstring>

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

envelope_split split_envelope(const std::vector<std::string_view>& frames) {
  envelope_split result;
  for (std::size_t i = 1; i < frames.size(); ++i) {
    if (frames[i].empty()) {
      result.envelope_frames = i + 1;
      result.delimited = true;
      break;
    }
  }
  if (!result.delimited)
    result.envelope_frames = frames.empty() ? 0 : 1;
  result.body_frames = frames.size() - result.envelope_frames;
  return result;
}

parsed_request parse(const std::vector<std::string_view>& frames,
                     std::size_t max_size) {
  parsed_request result;
  result.split = split_envelope(frames);
  if (result.split.body_frames == 1)
    result.body = frames[result.split.envelope_frames];
  result.req = classify(result.split.body_frames, result.body, max_size);
  return result;
}

std::vector<std::string>
probe_frames(const std::vector<std::string_view>& envelope) {
  // A correlating REQ sends its request id (4 bytes) before the delimiter
  // and increments it per request: the previous id never matches again.
  std::uint32_t id = 0xffffffff;
  if (envelope.size() >= 3 && envelope[1].size() == sizeof(id)) {
    std::memcpy(&id, envelope[1].data(), sizeof(id));
    --id;
  }
  std::vector<std::string> result;
  result.emplace_back(envelope.front());
  result.emplace_back(reinterpret_cast<const char*>(&id), sizeof(id));
  result.emplace_back();
  result.emplace_back(probe_body);
  return result;
}

} // namespace ee::wire
