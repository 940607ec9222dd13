#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace ee::wire {

/// Request of an external plugin asking for its next event.
inline constexpr std::string_view next_msg_command = "plugin_command: next_msg";

/// Request of an external plugin that has finished (gets no reply).
inline constexpr std::string_view quit_command = "plugin_command: quit";

/// Reply to a published event.
inline constexpr std::string_view published_reply =
    "event-engine: msg published";

/// Prefix of every error reply; the text after it says what was wrong.
inline constexpr std::string_view bad_msg_reply = "event-engine: bad msg";

/// What an external plugin's request asks for.
enum class request_kind {
  /// `plugin_command: next_msg`.
  next_msg,
  /// `plugin_command: quit`.
  quit,
  /// Anything else: publish these bytes.
  publish,
  /// Not acceptable: answer with `bad_msg_reply` + `error`.
  bad,
};

/// A classified request.
struct request {
  request_kind kind = request_kind::bad;
  /// Why a `bad` request is bad.
  std::string error;
};

/// Classifies a request of `body_frames` frames whose first body frame is
/// `body` (ignored unless there is exactly one), given `max_size` bytes as
/// the largest acceptable event.
request classify(std::size_t body_frames, std::string_view body,
                 std::size_t max_size);

/// @returns `"event-engine: bad msg: " + why`.
std::string make_bad_msg_reply(std::string_view why);

} // namespace ee::wire
