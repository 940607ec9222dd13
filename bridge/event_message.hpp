#pragma once

#include <atomic>
#include <cstdint>

#include <zmq.hpp>

#include "ee/event.hpp"

namespace ee {

/// @returns a ZeroMQ message that shares the bytes of `ev` without copying
/// them: it holds a copy of the event (a reference) until libzmq releases
/// the message (sent, dropped or closed), then adds `ev.size()` to
/// `*released` (if not null). `released` must outlive every libzmq thread
/// that may still hold the message (destroy the context first).
zmq::message_t event_message(const event& ev,
                             std::atomic<std::uint64_t>* released = nullptr);

} // namespace ee
