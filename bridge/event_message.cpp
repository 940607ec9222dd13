#include "bridge/event_message.hpp"

namespace ee {

namespace {

struct held_event {
  event ev;
  std::atomic<std::uint64_t>* released;
};

// Called by libzmq, from whichever thread drops the last reference.
void release_event(void*, void* hint) noexcept {
  auto* held = static_cast<held_event*>(hint);
  if (held->released != nullptr)
    held->released->fetch_add(held->ev.size(), std::memory_order_relaxed);
  delete held;
}

} // namespace

zmq::message_t event_message(const event& ev,
                             std::atomic<std::uint64_t>* released) {
  auto* held = new held_event{ev, released};
  // libzmq does not write through the pointer.
  auto* data = const_cast<char*>(held->ev.data());
  return zmq::message_t{data, held->ev.size(), release_event, held};
}

} // namespace ee
