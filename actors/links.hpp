#pragma once

// The ways into the engine actor from outside CAF: the bridge's engine_link
// and a blocking plugin's blocking_link, both as CAF messages.

#include <cstdint>
#include <memory>

#include <caf/actor.hpp>

#include "actors/blocking_host.hpp"
#include "actors/messages.hpp"
#include "bridge/seam.hpp"

namespace ee {

/// @returns the bridge's way to the engine: messages to `engine`.
std::unique_ptr<engine_link> make_engine_link(engine_handle engine);

/// @returns the way of incarnation `incarnation` of the blocking plugin in
/// slot `slot` to the engine: messages to `engine`.
std::unique_ptr<blocking_link> make_blocking_link(engine_handle engine,
                                                  slot_id slot,
                                                  std::uint32_t incarnation);

} // namespace ee
