// The bridge's poll thread: one poller over every socket, a handler per
// socket, the engine's commands and the launched processes.

#include <algorithm>
#include <stdexcept>
#include <unistd.h>

#include "bridge/bridge_impl.hpp"

namespace ee {

namespace {

// How long the loop keeps polling without sleeping after activity: the
// engine's answer to a request usually follows within microseconds, and a
// sleeping thread would need a wake-up for it.
constexpr auto spin_period = std::chrono::microseconds{50};

// Longest sleep in poll while processes run (reaping) or not.
constexpr auto child_tick = std::chrono::milliseconds{50};
constexpr auto idle_tick = std::chrono::milliseconds{500};

// Longest sleep in poll while CURVE handshakes are pending: how often their
// received bytes are checked (docs/security.md, "Memory before
// authentication").
constexpr auto handshake_tick = std::chrono::milliseconds{1};

} // namespace

bridge::impl::~impl() {
  endpoints.clear();
  raw.reset();
  zap.reset();
  if (wake_fd >= 0)
    ::close(wake_fd);
}

void bridge::impl::push(command cmd) {
  bool was_empty;
  {
    std::lock_guard<std::mutex> guard{mtx};
    was_empty = commands.empty();
    commands.push_back(std::move(cmd));
  }
  if (was_empty)
    wake();
}

void bridge::impl::wake() {
  std::uint64_t one = 1;
  (void)!::write(wake_fd, &one, sizeof(one));
}

// -- the engine's commands
// -------------------------------------------------------

void bridge::impl::handle_commands() {
  std::vector<command> cmds;
  {
    std::lock_guard<std::mutex> guard{mtx};
    cmds.swap(commands);
  }
  for (auto& cmd : cmds)
    std::visit([this](auto& x) { handle(x); }, cmd);
}

void bridge::impl::handle(deliver_cmd& cmd) {
  if (auto i = by_id.find(cmd.id); i != by_id.end())
    i->second->deliver(std::move(cmd.events));
}

void bridge::impl::handle(raw_cmd& cmd) {
  if (raw) {
    raw->send(std::move(cmd.events));
    return;
  }
  std::uint64_t bytes = 0;
  for (auto& ev : cmd.events)
    bytes += ev.size();
  raw_released += bytes;
}

void bridge::impl::handle(grant_cmd& cmd) {
  if (cmd.pub == raw_publish_port) {
    if (raw)
      raw->grant(cmd.c);
  } else if (auto i = by_id.find(cmd.pub); i != by_id.end()) {
    i->second->grant(cmd.c);
  }
}

void bridge::impl::handle(launch_cmd& cmd) {
  auto i = by_id.find(cmd.id);
  if (i == by_id.end())
    return;
  i->second->relaunched();
  kids->launch(cmd.id, now);
}

void bridge::impl::handle(retire_cmd& cmd) {
  auto i = by_id.find(cmd.id);
  if (i == by_id.end())
    return;
  i->second->retire();
  kids->retire(cmd.id, i->second->quit(), now);
}

void bridge::impl::flush() {
  if (raw)
    raw->flush(*engine);
  for (auto& ep : endpoints)
    ep->flush(*engine);
}

std::size_t bridge::impl::check_handshakes() {
  if (!handshakes)
    return 0;
  std::size_t pending = raw ? raw->check_handshakes() : 0;
  for (auto& ep : endpoints)
    pending += ep->check_handshakes();
  return pending;
}

// -- the loop
// --------------------------------------------------------------------

void bridge::impl::add_items() {
  // The doorbell first: the engine's commands and a stop request come
  // before the reads of the same round.
  items.add(wake_fd, [this](short) { on_wake(); });
  // Handshakes are answered while the bridge stops, too: none waits.
  if (zap)
    items.add(zap->socket(), [this](short) { zap->read(refusals, now); });
  auto serve = [this](std::size_t index) { serving_items.push_back(index); };
  if (raw) {
    sub_item = items.add(raw->sub(), [this](short) {
      if (serving)
        raw->read_sub();
    });
    serve(*sub_item);
    serve(items.add(raw->xpub(), [this](short) {
      if (serving)
        raw->read_xpub(*engine);
    }));
    for (auto* mon : {raw->sub_monitor(), raw->xpub_monitor()})
      if (mon != nullptr)
        serve(items.add(*mon, [this](short) {
          if (serving)
            raw->read_monitors();
        }));
  }
  for (auto& ep : endpoints) {
    auto read = [this, e = ep.get()](short) {
      if (serving)
        e->read(now);
    };
    serve(items.add(ep->router(), read));
    serve(items.add(ep->monitor(), read));
  }
  fixed_items = items.size();
}

void bridge::impl::prepare_items() {
  for (auto index : serving_items)
    items.enable(index, serving);
  if (sub_item)
    items.enable(*sub_item, serving && raw->sub_to_poll() != nullptr);
  items.truncate(fixed_items);
  child_fds.clear();
  kids->watch(child_fds);
  for (auto& [fd, id] : child_fds)
    items.add(
        fd,
        [this, fd = fd, id = id](short revents) {
          if (revents & (ZMQ_POLLIN | ZMQ_POLLERR))
            kids->forward(id, fd);
        },
        ZMQ_POLLIN);
}

std::chrono::milliseconds bridge::impl::poll_timeout(bool hot) const {
  if (hot)
    return std::chrono::milliseconds{0};
  auto timeout = kids->any_running() ? child_tick : idle_tick;
  if (pending_handshakes > 0)
    timeout = handshake_tick;
  if (next_timer != time_point::max()) {
    auto until = std::chrono::ceil<std::chrono::milliseconds>(next_timer - now);
    timeout = std::clamp(until, std::chrono::milliseconds{0}, timeout);
  }
  return timeout;
}

void bridge::impl::on_wake() {
  std::uint64_t n;
  (void)!::read(wake_fd, &n, sizeof(n));
  handle_commands();
  check_stop();
}

void bridge::impl::check_stop() {
  bool stop = false;
  {
    std::lock_guard<std::mutex> guard{mtx};
    stop = stop_requested;
    deadline = stop_deadline;
  }
  if (!stop || !serving)
    return;
  // Stop serving; a process whose plugin quit may exit by itself.
  serving = false;
  std::vector<endpoint_id> quitted;
  for (auto& ep : endpoints)
    if (ep->quit())
      quitted.push_back(ep->id());
  kids->shutdown(quitted, now, deadline);
}

void bridge::impl::after_reads() {
  if (serving)
    pending_handshakes = check_handshakes();
  refusals.tick(now);
  next_timer = kids->tick(now, engine);
  if (serving)
    for (auto& ep : endpoints)
      next_timer = std::min(next_timer, ep->on_timer(now));
  flush();
}

bool bridge::impl::finished() {
  if (serving)
    return false;
  if (!kids->any_running())
    return true;
  next_timer = std::min(next_timer, deadline);
  return now >= deadline;
}

void bridge::impl::run() {
  add_items();
  for (;;) {
    prepare_items();
    now = clock_type::now();
    next_timer = std::min(next_timer, fault_at);
    bool hot = now - last_activity < spin_period;
    int ready = 0;
    try {
      ready = items.wait(poll_timeout(hot));
    } catch (const zmq::error_t& e) {
      throw std::runtime_error{std::string{"poll failed: "} + e.what()};
    }
    now = clock_type::now();
    if (now >= fault_at)
      throw std::runtime_error{"a fault injected by " +
                               std::string{fault_variable}};
    if (ready > 0)
      last_activity = now;
    else if (hot)
      std::this_thread::yield();
    items.dispatch();
    after_reads();
    if (finished())
      break;
  }
  kids->kill_all();
}

} // namespace ee
