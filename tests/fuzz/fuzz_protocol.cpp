// Fuzz target: the wire protocol's envelope handling and request classifier
// (bridge/protocol.hpp), on any sequence of frames a ROUTER socket can read.
//
// Input: the last byte is the largest acceptable event (0..255 bytes); the
// rest is a sequence of frames, each ended by a backslash and one more
// character ("\\\n" in the seeds; "\\\\" is a backslash inside a frame), as
// FuzzedDataProvider::ConsumeRandomLengthString reads them. The first frame
// is the peer's routing identity.
//
// Checks: the envelope is every frame up to the first empty delimiter after
// the identity (or the identity alone), the body the rest; a request is
// next_msg, quit, publish or bad exactly as SPEC.md says (one body frame, the
// two commands, the size limit), a bad one says why; a probe to a REQ peer
// is a message the peer discards (never its current request id, never a
// bare delimiter) and reaches the same identity.

#include "bridge/protocol.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include "fuzz_input.hpp"

using namespace ee::wire;

namespace {

request_kind expected_kind(std::size_t body_frames, std::string_view body,
                           std::size_t max_size) {
  if (body_frames != 1)
    return request_kind::bad;
  if (body == next_msg_command)
    return request_kind::next_msg;
  if (body == quit_command)
    return request_kind::quit;
  return body.size() > max_size ? request_kind::bad : request_kind::publish;
}

bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  FuzzedDataProvider in{data, size};
  auto max_size = in.ConsumeIntegral<std::uint8_t>();
  std::vector<std::string> storage;
  while (in.remaining_bytes() > 0 && storage.size() < 64)
    storage.push_back(in.ConsumeRandomLengthString());
  std::vector<std::string_view> frames(storage.begin(), storage.end());

  auto split = split_envelope(frames);
  EE_FUZZ_CHECK(split.envelope_frames + split.body_frames == frames.size(),
                "envelope and body cover every frame");
  EE_FUZZ_CHECK(frames.empty() == (split.envelope_frames == 0),
                "only no frames give no envelope");
  if (split.delimited) {
    EE_FUZZ_CHECK(split.envelope_frames >= 2 &&
                      frames[split.envelope_frames - 1].empty(),
                  "a delimited envelope ends with the empty delimiter");
    for (std::size_t i = 1; i + 1 < split.envelope_frames; ++i)
      EE_FUZZ_CHECK(!frames[i].empty(), "the delimiter is the first empty "
                                        "frame after the identity");
  } else {
    EE_FUZZ_CHECK(split.envelope_frames == (frames.empty() ? 0 : 1),
                  "without a delimiter the identity alone");
    for (std::size_t i = 1; i < frames.size(); ++i)
      EE_FUZZ_CHECK(!frames[i].empty(), "an empty frame after the identity "
                                        "is a delimiter");
  }

  auto parsed = parse(frames, max_size);
  EE_FUZZ_CHECK(parsed.split.envelope_frames == split.envelope_frames &&
                    parsed.split.body_frames == split.body_frames &&
                    parsed.split.delimited == split.delimited,
                "parse splits as split_envelope does");
  if (split.body_frames == 1)
    EE_FUZZ_CHECK(parsed.body == frames[split.envelope_frames],
                  "the body is the frame after the envelope");
  else
    EE_FUZZ_CHECK(parsed.body.empty(), "no body unless exactly one frame");
  auto kind = expected_kind(split.body_frames, parsed.body, max_size);
  EE_FUZZ_CHECK(parsed.req.kind == kind, "classified as SPEC.md says");
  EE_FUZZ_CHECK(parsed.req.error.empty() == (kind != request_kind::bad),
                "a bad request, and only a bad one, says why");
  if (kind == request_kind::bad) {
    auto& why = parsed.req.error;
    if (split.body_frames == 1)
      EE_FUZZ_CHECK(contains(why, std::to_string(parsed.body.size())) &&
                        contains(why, std::to_string(max_size)),
                    "a message too big names its size and the limit: " + why);
    else
      EE_FUZZ_CHECK(contains(why, "exactly one frame"),
                    "a request without one body frame says so: " + why);
    auto reply = make_bad_msg_reply(why);
    EE_FUZZ_CHECK(
        reply.size() == bad_msg_reply.size() + 2 + why.size() &&
            reply.compare(0, bad_msg_reply.size(), bad_msg_reply) == 0 &&
            reply.compare(bad_msg_reply.size() + 2, why.size(), why) == 0,
        "the reply is the prefix, ': ' and the reason");
  }
  auto again = classify(split.body_frames, parsed.body, max_size);
  EE_FUZZ_CHECK(again.kind == parsed.req.kind &&
                    again.error == parsed.req.error,
                "classify agrees with parse");

  if (split.delimited) {
    std::vector<std::string_view> envelope(
        frames.begin(), frames.begin() + split.envelope_frames);
    auto probe = probe_frames(envelope);
    EE_FUZZ_CHECK(probe.size() == 4, "identity, id, delimiter, body");
    EE_FUZZ_CHECK(probe[0] == envelope[0], "the probe goes to the identity");
    EE_FUZZ_CHECK(probe[1].size() == 4, "a 4-byte request id");
    EE_FUZZ_CHECK(probe[2].empty(), "then the delimiter");
    EE_FUZZ_CHECK(probe[3] == probe_body, "then the probe's body");
    // A correlating REQ's envelope: identity, its request id, delimiter.
    if (envelope.size() >= 3 && envelope[1].size() == 4)
      EE_FUZZ_CHECK(probe[1] != envelope[1],
                    "never the peer's current request id");
    // The probe as a ROUTER would read it back: the same identity, and a
    // request that is not a command.
    std::vector<std::string_view> echoed(probe.begin(), probe.end());
    auto back = parse(echoed, max_size);
    EE_FUZZ_CHECK(back.split.delimited && back.split.envelope_frames == 3 &&
                      back.body == probe_body,
                  "the probe splits as a REQ message");
  }
  return 0;
}
