#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

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

/// Body of a probe message (see `probe_frames`).
inline constexpr std::string_view probe_body = "event-engine: probe";

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

/// How the frames of a message read from a ROUTER divide into envelope and
/// body.
struct envelope_split {
  /// Frames `[0, envelope_frames)` are the envelope, echoed before a reply:
  /// every frame up to and including the first empty delimiter after the
  /// identity; a peer without a delimiter (a raw DEALER) gets its identity
  /// frame alone.
  std::size_t envelope_frames = 0;
  /// True if the envelope ends with an empty delimiter (a REQ peer).
  bool delimited = false;
  /// Frames after the envelope (a valid request has exactly one).
  std::size_t body_frames = 0;
};

/// Splits the `frames` of a ROUTER message (identity first).
envelope_split split_envelope(const std::vector<std::string_view>& frames);

/// A request parsed from the frames of a ROUTER message.
struct parsed_request {
  envelope_split split;
  request req;
  /// The body (empty unless exactly one body frame).
  std::string_view body;
};

/// Splits and classifies the `frames` of a ROUTER message.
parsed_request parse(const std::vector<std::string_view>& frames,
                     std::size_t max_size);

/// The frames of a probe to the peer whose last request had the delimited
/// `envelope` (identity first): the identity, a 4-byte frame that is never
/// the peer's current request id, an empty delimiter and `probe_body`.
/// REQ sockets discard it inside libzmq, with or without ZMQ_REQ_CORRELATE
/// (their first frame must be the delimiter or the current request id),
/// while ROUTER_MANDATORY reports EHOSTUNREACH if the peer is gone. (A
/// message without a delimiter is a protocol error for a REQ session: it
/// would drop the connection.) @pre `envelope` is not empty.
std::vector<std::string>
probe_frames(const std::vector<std::string_view>& envelope);

} // namespace ee::wire
