#include "bridge/bridge.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstring>
#include <deque>
#include <mutex>
#include <sys/eventfd.h>
#include <thread>
#include <unistd.h>
#include <unordered_map>
#include <variant>

#include <caf/all.hpp>
#include <zmq.hpp>

#include "bridge/process.hpp"
#include "bridge/protocol.hpp"
#include "ee/log.hpp"

namespace ee {

namespace {

using clock_type = std::chrono::steady_clock;

// -- commands from actors to the I/O thread
// ------------------------------------

struct deliver_cmd {
  slot_id slot;
  event_batch events;
};

struct raw_cmd {
  event_batch events;
};

struct launch_cmd {
  slot_id slot;
};

struct stop_cmd {
  slot_id slot;
};

struct credit_cmd {
  std::uint64_t n;
};

using command =
    std::variant<deliver_cmd, raw_cmd, launch_cmd, stop_cmd, credit_cmd>;

// The address without IPv6 brackets; "localhost" means the IPv4 loopback.
std::string plain_address(const std::string& address) {
  std::string addr = address;
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  if (addr == "localhost")
    addr = "127.0.0.1";
  return addr;
}

bool is_ipv6(const std::string& address) {
  return plain_address(address).find(':') != std::string::npos;
}

std::string endpoint(const std::string& address, int port) {
  auto addr = plain_address(address);
  if (addr == "0.0.0.0")
    addr = "*";
  if (is_ipv6(address))
    addr = "[" + addr + "]";
  return "tcp://" + addr + ":" + std::to_string(port);
}

int bound_port(zmq::socket_t& sock) {
  auto ep = sock.get(zmq::sockopt::last_endpoint);
  auto colon = ep.rfind(':');
  if (colon == std::string::npos)
    return -1;
  return std::stoi(ep.substr(colon + 1));
}

// One REQ peer's outstanding request: its envelope, and the identity (first
// frame) that names the connection.
struct envelope {
  std::vector<zmq::message_t> frames;

  std::string identity() const {
    return frames.empty() ? std::string{} : frames.front().to_string();
  }
};

// A publish request held back until the engine gives credit.
struct held_publish {
  envelope env;
  std::string body;
};

// Most publish requests held back at once (beyond: an error reply).
constexpr std::size_t max_held_publishes = 10000;

} // namespace

// -- the bridge's state, owned by the I/O thread after start
// -------------------

struct bridge::impl {
  struct plugin_io {
    bridge_plugin cfg;
    std::unique_ptr<zmq::socket_t> router;
    int port = -1;
    // Events from the engine, not yet sent to the plugin.
    std::deque<event> queue;
    // Events sent to a connection, not confirmed by its next request yet,
    // with a sequence number that keeps their order when they come back.
    std::unordered_map<std::string, std::pair<std::uint64_t, event>> in_flight;
    std::uint64_t next_seq = 0;
    // Socket monitor of the ROUTER (disconnects) and the last identity seen
    // on each connection's file descriptor.
    std::unique_ptr<zmq::socket_t> monitor;
    std::unordered_map<int, std::string> fd_identity;
    // next_msg requests waiting for an event, oldest first.
    std::deque<envelope> waiting;
    // Publish requests waiting for credit, oldest first.
    std::deque<held_publish> held;
    bool first_request_seen = false;
    bool quit = false;
    bool stopped = false;
    process proc;
    // When a stopped plugin's process gets SIGTERM if still running.
    std::optional<clock_type::time_point> term_at;
    // When a process that got SIGTERM gets SIGKILL if still running.
    std::optional<clock_type::time_point> kill_at;
  };

  app_config cfg;
  zmq::context_t ctx{1};
  std::unique_ptr<zmq::socket_t> sub;  // publish port
  std::unique_ptr<zmq::socket_t> xpub; // subscribe port
  std::vector<std::unique_ptr<plugin_io>> plugins;
  std::unordered_map<slot_id, plugin_io*> by_slot;
  int pub_port = -1;
  int sub_port = -1;
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> raw_dropped{0};
  // Events the bridge may still hand to the engine before it must wait for
  // credit (flow control). I/O thread only.
  std::int64_t credit = 0;
  std::size_t held_total = 0;

  caf::actor engine;
  std::thread thread;
  std::atomic<bool> running{false};
  bool shut_down = false;

  // -- the command queue (any thread -> I/O thread) --
  std::mutex mtx;
  std::deque<command> commands; // guarded by mtx
  bool stop_flag = false;       // guarded by mtx
  int wake_fd = -1;

  ~impl() {
    if (wake_fd >= 0)
      ::close(wake_fd);
  }

  void push(command cmd) {
    {
      std::lock_guard<std::mutex> guard{mtx};
      commands.push_back(std::move(cmd));
    }
    wake();
  }

  void wake() {
    std::uint64_t one = 1;
    (void)!::write(wake_fd, &one, sizeof(one));
  }

  // -- I/O thread
  // ----------------------------------------------------------------

  void run() {
    // How long the loop keeps polling without sleeping after activity.
    constexpr auto spin_period = std::chrono::microseconds{50};
    auto last_activity = clock_type::time_point{};
    std::vector<zmq::pollitem_t> items;
    // Layout: [wake, sub?, xpub?, routers..., process fds...]
    std::vector<std::pair<plugin_io*, int>> fd_owner;
    std::vector<zmq::message_t> frames;
    for (;;) {
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (stop_flag)
          break;
      }
      items.clear();
      fd_owner.clear();
      items.push_back({nullptr, wake_fd, ZMQ_POLLIN, 0});
      std::size_t sub_idx = 0, xpub_idx = 0, router_base = 0;
      // Without credit the publish port is not read: TCP pushes back on
      // raw publishers.
      if (sub && credit > 0) {
        sub_idx = items.size();
        items.push_back({sub->handle(), 0, ZMQ_POLLIN, 0});
      }
      if (xpub) {
        xpub_idx = items.size();
        items.push_back({xpub->handle(), 0, ZMQ_POLLIN, 0});
      }
      router_base = items.size();
      for (auto& p : plugins)
        items.push_back({p->router->handle(), 0, ZMQ_POLLIN, 0});
      auto monitor_base = items.size();
      for (auto& p : plugins)
        items.push_back({p->monitor->handle(), 0, ZMQ_POLLIN, 0});
      auto fd_base = items.size();
      bool any_process = false;
      for (auto& p : plugins) {
        for (int fd : {p->proc.stdout_fd(), p->proc.stderr_fd()}) {
          if (fd >= 0) {
            items.push_back({nullptr, fd, ZMQ_POLLIN, 0});
            fd_owner.emplace_back(p.get(), fd);
          }
        }
        any_process =
            any_process || p->proc.running() || p->term_at || p->kill_at;
      }
      // Right after activity, poll without sleeping for a short while: the
      // answer to a request (an event the engine routes back) usually
      // follows within microseconds, and a sleeping thread would need a
      // wake-up for it.
      bool hot = clock_type::now() - last_activity < spin_period;
      auto timeout = hot ? std::chrono::milliseconds{0}
                         : std::chrono::milliseconds{any_process ? 50 : 500};
      int ready = 0;
      try {
        ready = zmq::poll(items.data(), items.size(), timeout);
      } catch (const zmq::error_t& e) {
        if (e.num() == EINTR)
          continue;
        ee::log(log_level::error,
                std::string{"bridge: poll failed: "} + e.what());
        break;
      }
      if (ready > 0)
        last_activity = clock_type::now();
      else if (hot)
        std::this_thread::yield();
      if (items[0].revents & ZMQ_POLLIN) {
        std::uint64_t n;
        (void)!::read(wake_fd, &n, sizeof(n));
      }
      handle_commands();
      if (sub_idx != 0 && (items[sub_idx].revents & ZMQ_POLLIN))
        read_sub(frames);
      if (xpub && (items[xpub_idx].revents & ZMQ_POLLIN))
        read_xpub();
      for (std::size_t i = 0; i < plugins.size(); ++i)
        if (items[monitor_base + i].revents & ZMQ_POLLIN)
          read_monitor(*plugins[i]);
      for (std::size_t i = 0; i < plugins.size(); ++i)
        if (items[router_base + i].revents & ZMQ_POLLIN)
          read_router(*plugins[i], frames);
      for (std::size_t i = 0; i < fd_owner.size(); ++i)
        if (items[fd_base + i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
          forward_output(*fd_owner[i].first, fd_owner[i].second);
      watch_processes();
    }
  }

  void handle_commands() {
    std::deque<command> cmds;
    {
      std::lock_guard<std::mutex> guard{mtx};
      cmds.swap(commands);
    }
    for (auto& cmd : cmds)
      std::visit([this](auto& x) { handle(x); }, cmd);
  }

  void handle(deliver_cmd& cmd) {
    auto i = by_slot.find(cmd.slot);
    if (i == by_slot.end())
      return;
    auto& p = *i->second;
    if (p.stopped)
      return;
    for (auto& ev : cmd.events)
      p.queue.push_back(std::move(ev));
    serve_waiting(p);
  }

  void handle(raw_cmd& cmd) {
    if (!xpub)
      return;
    for (auto& ev : cmd.events) {
      zmq::message_t msg{ev.data(), ev.size()};
      auto res = xpub->send(msg, zmq::send_flags::dontwait);
      if (!res)
        ++raw_dropped; // a slow raw subscriber: ZeroMQ semantics, counted
    }
  }

  void handle(credit_cmd& cmd) {
    credit += static_cast<std::int64_t>(cmd.n);
    // Publish held requests, oldest first, plugin by plugin.
    bool progress = true;
    while (credit > 0 && held_total > 0 && progress) {
      progress = false;
      for (auto& p : plugins) {
        if (credit <= 0)
          break;
        if (p->held.empty())
          continue;
        auto h = std::move(p->held.front());
        p->held.pop_front();
        --held_total;
        progress = true;
        publish_to_engine(event{std::move(h.body)});
        reply(*p, h.env, wire::published_reply);
      }
    }
  }

  void publish_to_engine(event ev) {
    --credit;
    caf::anon_send(engine, publish_atom::value, std::move(ev));
  }

  void handle(launch_cmd& cmd) {
    auto i = by_slot.find(cmd.slot);
    if (i == by_slot.end())
      return;
    launch(*i->second);
  }

  void handle(stop_cmd& cmd) {
    auto i = by_slot.find(cmd.slot);
    if (i == by_slot.end())
      return;
    auto& p = *i->second;
    p.stopped = true;
    p.queue.clear();
    p.in_flight.clear();
    p.waiting.clear();
    // Publishes still waiting for room get an answer, not silence.
    for (auto& h : p.held)
      reply(p, h.env,
            wire::make_bad_msg_reply("plugin '" + p.cfg.name +
                                     "' has stopped; nothing was published"));
    held_total -= p.held.size();
    p.held.clear();
    if (p.proc.running() && !p.term_at)
      p.term_at = clock_type::now() + cfg.shutdown_grace;
  }

  void launch(plugin_io& p) {
    if (p.cfg.command.empty())
      return;
    if (p.proc.running()) {
      // Bounded: SIGTERM, at most 200 ms, then SIGKILL (this thread serves
      // every socket meanwhile).
      ee::log(log_level::info, "external plugin '" + p.cfg.name +
                                   "': stopping its process for a restart");
      p.proc.terminate(
          std::min(cfg.shutdown_grace, std::chrono::milliseconds{200}));
    }
    p.kill_at.reset();
    restore_in_flight(p);
    p.quit = false;
    p.stopped = false;
    p.term_at.reset();
    auto env = p.cfg.env;
    env["EE_PLUGIN_NAME"] = p.cfg.name;
    env["EE_PLUGIN_PORT"] = std::to_string(p.port);
    env["EE_PLUGIN_HOST"] = connect_host();
    if (pub_port > 0)
      env["EE_PUBLISH_PORT"] = std::to_string(pub_port);
    if (sub_port > 0)
      env["EE_SUBSCRIBE_PORT"] = std::to_string(sub_port);
    if (auto err = p.proc.launch(p.cfg.command, env, p.cfg.working_dir)) {
      auto text = "external plugin '" + p.cfg.name +
                  "': launch failed: " + err.message();
      ee::log(log_level::error, text);
      caf::anon_send(engine, exited_atom::value, p.cfg.slot, false, text);
      return;
    }
    ee::log(log_level::info, "external plugin '" + p.cfg.name +
                                 "': launched pid " +
                                 std::to_string(p.proc.pid()));
  }

  // The host a launched plugin connects to (EE_PLUGIN_HOST).
  std::string connect_host() const {
    auto a = plain_address(cfg.bind_address);
    if (a == "*" || a == "0.0.0.0")
      return "127.0.0.1";
    if (a == "::")
      return "[::1]";
    if (is_ipv6(a))
      return "[" + a + "]";
    return a;
  }

  void forward_output(plugin_io& p, int fd) {
    p.proc.drain(fd, [&](const std::string& line) {
      // Control bytes are escaped: a plugin cannot forge log lines or
      // terminal sequences.
      std::string text = "[" + p.cfg.name + "] ";
      for (unsigned char c : line) {
        if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
          text += static_cast<char>(c);
        } else {
          static constexpr char hex[] = "0123456789abcdef";
          text += "\\x";
          text += hex[c >> 4];
          text += hex[c & 0xf];
        }
      }
      ee::log(log_level::info, text);
    });
  }

  void watch_processes() {
    auto now = clock_type::now();
    for (auto& p : plugins) {
      // Never block here: this thread serves every socket.
      if (p->term_at && now >= *p->term_at) {
        if (p->proc.running()) {
          ee::log(log_level::info, "external plugin '" + p->cfg.name +
                                       "': terminating its process");
          p->proc.signal(SIGTERM);
          p->kill_at = now + cfg.shutdown_grace;
        }
        p->term_at.reset();
      }
      if (p->kill_at && now >= *p->kill_at) {
        if (p->proc.running()) {
          ee::log(log_level::warning, "external plugin '" + p->cfg.name +
                                          "': killing its process (SIGKILL)");
          p->proc.signal(SIGKILL);
        }
        p->kill_at.reset();
      }
      bool normal = false;
      std::string text;
      if (p->proc.poll_exit(normal, text)) {
        // Flush what it said last.
        for (int fd : {p->proc.stdout_fd(), p->proc.stderr_fd()})
          if (fd >= 0)
            forward_output(*p, fd);
        ee::log(normal ? log_level::info : log_level::warning,
                "external plugin '" + p->cfg.name + "': process " + text);
        // What its dead process was working on goes to the next one.
        restore_in_flight(*p);
        p->waiting.clear();
        if (!p->stopped)
          caf::anon_send(engine, exited_atom::value, p->cfg.slot, normal,
                         "process " + text);
      }
    }
  }

  void restore_in_flight(plugin_io& p) {
    std::vector<std::pair<std::uint64_t, event>> back;
    for (auto& [id, entry] : p.in_flight)
      back.push_back(std::move(entry));
    p.in_flight.clear();
    requeue(p, back);
  }

  // Puts events back at the front of the queue, oldest first.
  void requeue(plugin_io& p,
               std::vector<std::pair<std::uint64_t, event>>& back) {
    std::sort(back.begin(), back.end(),
              [](auto& x, auto& y) { return x.first > y.first; });
    for (auto& entry : back)
      p.queue.push_front(std::move(entry.second));
  }

  // -- raw PUB clients
  // -----------------------------------------------------------

  void read_sub(std::vector<zmq::message_t>& frames) {
    for (int budget = 0; budget < 1024 && credit > 0; ++budget) {
      frames.clear();
      if (!recv_all(*sub, frames))
        return;
      if (frames.size() != 1) {
        ++rejected;
        ee::log(log_level::warning,
                "publish port: dropped a multi-frame message (" +
                    std::to_string(frames.size()) +
                    " frames): events are single frames");
        continue;
      }
      if (frames[0].size() > cfg.max_message_size) {
        ++rejected;
        ee::log(log_level::warning, "publish port: dropped a message of " +
                                        std::to_string(frames[0].size()) +
                                        " bytes (max_message_size is " +
                                        std::to_string(cfg.max_message_size) +
                                        ")");
        continue;
      }
      publish_to_engine(event{frames[0].to_string()});
    }
  }

  // -- raw SUB clients (XPUB subscriptions)
  // ----------------------------------------

  void read_xpub() {
    for (;;) {
      zmq::message_t msg;
      auto res = xpub->recv(msg, zmq::recv_flags::dontwait);
      if (!res)
        return;
      if (msg.size() == 0)
        continue;
      auto data = static_cast<const char*>(msg.data());
      if (data[0] != 0 && data[0] != 1)
        continue;
      caf::anon_send(engine, raw_sub_atom::value,
                     std::string{data + 1, msg.size() - 1}, data[0] == 1);
    }
  }

  // -- external plugins (REQ-compatible ROUTER)
  // ---------------------------------

  bool recv_all(zmq::socket_t& sock, std::vector<zmq::message_t>& frames) {
    zmq::message_t msg;
    if (!sock.recv(msg, zmq::recv_flags::dontwait))
      return false;
    bool more = msg.more();
    frames.push_back(std::move(msg));
    while (more) {
      zmq::message_t part;
      if (!sock.recv(part, zmq::recv_flags::none))
        break;
      more = part.more();
      frames.push_back(std::move(part));
    }
    return true;
  }

  static int source_fd(zmq::message_t& msg) {
    return zmq_msg_get(msg.handle(), ZMQ_SRCFD);
  }

  // A connection went away: the event it got last (never confirmed) goes
  // back to the front of the queue, and its waiting request is dropped. (A
  // client that closed its socket, or a fresh socket after a timeout.)
  void read_monitor(plugin_io& p) {
    for (int budget = 0; budget < 256; ++budget) {
      zmq::message_t head;
      if (!p.monitor->recv(head, zmq::recv_flags::dontwait))
        return;
      bool more = head.more();
      while (more) {
        zmq::message_t rest;
        if (!p.monitor->recv(rest, zmq::recv_flags::none))
          break;
        more = rest.more();
      }
      if (head.size() < 6)
        continue;
      std::uint16_t ev;
      std::int32_t fd;
      std::memcpy(&ev, head.data(), sizeof(ev));
      std::memcpy(&fd, static_cast<const char*>(head.data()) + 2, sizeof(fd));
      if (ev != ZMQ_EVENT_DISCONNECTED)
        continue;
      auto i = p.fd_identity.find(fd);
      if (i == p.fd_identity.end())
        continue;
      auto identity = std::move(i->second);
      p.fd_identity.erase(i);
      if (auto f = p.in_flight.find(identity); f != p.in_flight.end()) {
        std::vector<std::pair<std::uint64_t, event>> back;
        back.push_back(std::move(f->second));
        p.in_flight.erase(f);
        requeue(p, back);
        ee::log(log_level::debug, "external plugin '" + p.cfg.name +
                                      "': a connection closed before "
                                      "confirming its event; it goes to the "
                                      "next request");
      }
      for (auto w = p.waiting.begin(); w != p.waiting.end();)
        w = w->identity() == identity ? p.waiting.erase(w) : std::next(w);
      serve_waiting(p);
    }
  }

  void read_router(plugin_io& p, std::vector<zmq::message_t>& frames) {
    for (int budget = 0; budget < 1024; ++budget) {
      frames.clear();
      if (!recv_all(*p.router, frames))
        return;
      handle_request(p, frames);
    }
  }

  void handle_request(plugin_io& p, std::vector<zmq::message_t>& frames) {
    // Envelope: every frame up to and including the empty delimiter. A peer
    // without one (a raw DEALER) gets its identity frame as envelope.
    envelope env;
    std::size_t body_start = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      if (frames[i].size() == 0 && i > 0) {
        body_start = i + 1;
        break;
      }
    }
    if (body_start == 0)
      body_start = 1;
    for (std::size_t i = 0; i < body_start && i < frames.size(); ++i)
      env.frames.push_back(std::move(frames[i]));
    auto body_frames =
        frames.size() > body_start ? frames.size() - body_start : 0;
    std::string_view body;
    if (body_frames == 1)
      body =
          std::string_view{static_cast<const char*>(frames[body_start].data()),
                           frames[body_start].size()};
    auto identity = env.identity();
    // Any request from a connection confirms the event it got last, and
    // supersedes a next_msg it left waiting (REQ_RELAXED resend).
    confirm(p, identity);
    if (int fd = frames.empty() ? -1 : source_fd(frames.back()); fd >= 0)
      p.fd_identity[fd] = identity;
    for (auto i = p.waiting.begin(); i != p.waiting.end();) {
      if (i->identity() == identity)
        i = p.waiting.erase(i);
      else
        ++i;
    }
    if (!p.first_request_seen) {
      p.first_request_seen = true;
      if (p.cfg.await_first_request)
        caf::anon_send(engine, ready_atom::value, p.cfg.slot);
    }
    auto req = wire::classify(body_frames, body, cfg.max_message_size);
    if (p.stopped && req.kind != wire::request_kind::quit) {
      reply(
          p, env,
          wire::make_bad_msg_reply("plugin '" + p.cfg.name + "' has stopped"));
      return;
    }
    switch (req.kind) {
    case wire::request_kind::next_msg:
      if (p.quit) {
        reply(p, env,
              wire::make_bad_msg_reply("plugin '" + p.cfg.name + "' has quit"));
        return;
      }
      p.waiting.push_back(std::move(env));
      serve_waiting(p);
      return;
    case wire::request_kind::quit:
      if (!p.quit && !p.stopped) {
        p.quit = true;
        caf::anon_send(engine, quit_atom::value, p.cfg.slot);
      }
      return; // no reply, as in the original
    case wire::request_kind::publish:
      if (credit > 0 && p.held.empty()) {
        // Reply first: the client's next request overlaps the hand-off.
        event ev{std::string{body}};
        reply(p, env, wire::published_reply);
        publish_to_engine(std::move(ev));
      } else if (held_total < max_held_publishes) {
        // Flow control: the reply (and so the client) waits for credit.
        p.held.push_back(held_publish{std::move(env), std::string{body}});
        ++held_total;
      } else {
        ++rejected;
        reply(p, env,
              wire::make_bad_msg_reply("the engine is overloaded (" +
                                       std::to_string(held_total) +
                                       " publishes wait for room); "
                                       "nothing was published"));
      }
      return;
    case wire::request_kind::bad:
      ++rejected;
      ee::log(log_level::warning, "external plugin '" + p.cfg.name +
                                      "': bad request: " + req.error);
      reply(p, env, wire::make_bad_msg_reply(req.error));
      return;
    }
  }

  void confirm(plugin_io& p, const std::string& identity) {
    auto i = p.in_flight.find(identity);
    if (i == p.in_flight.end())
      return;
    p.in_flight.erase(i);
    caf::anon_send(engine, ack_atom::value, p.cfg.slot, std::uint64_t{1});
  }

  // Answers waiting next_msg requests while there are events.
  void serve_waiting(plugin_io& p) {
    while (!p.waiting.empty() && !p.queue.empty()) {
      auto env = std::move(p.waiting.front());
      p.waiting.pop_front();
      auto identity = env.identity();
      auto& ev = p.queue.front();
      if (!send_reply(p, env, ev.bytes()))
        continue; // that connection is gone: the event waits for the next
      p.in_flight.emplace(
          identity, std::make_pair(p.next_seq++, std::move(p.queue.front())));
      p.queue.pop_front();
    }
  }

  void reply(plugin_io& p, envelope& env, std::string_view body) {
    send_reply(p, env, body);
  }

  // @returns false if the peer is gone (ROUTER_MANDATORY).
  bool send_reply(plugin_io& p, envelope& env, std::string_view body) {
    try {
      for (auto& f : env.frames) {
        zmq::message_t copy;
        copy.copy(f);
        if (!p.router->send(copy, zmq::send_flags::sndmore |
                                      zmq::send_flags::dontwait))
          return false;
      }
      zmq::message_t msg{body.data(), body.size()};
      return p.router->send(msg, zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
      if (e.num() != EHOSTUNREACH)
        ee::log(log_level::warning, "external plugin '" + p.cfg.name +
                                        "': reply failed: " + e.what());
      return false;
    }
  }

  // -- shutdown
  // -------------------------------------------------------------------

  // Waits up to `deadline` for `p`'s process to exit, forwarding its output.
  void await_exit(plugin_io& p, clock_type::time_point deadline) {
    while (p.proc.running() && clock_type::now() < deadline) {
      for (int fd : {p.proc.stdout_fd(), p.proc.stderr_fd()})
        if (fd >= 0)
          forward_output(p, fd);
      bool normal;
      std::string text;
      if (p.proc.poll_exit(normal, text)) {
        for (int fd : {p.proc.stdout_fd(), p.proc.stderr_fd()})
          if (fd >= 0)
            forward_output(p, fd);
        ee::log(normal ? log_level::info : log_level::warning,
                "external plugin '" + p.cfg.name + "': process " + text);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds{10});
    }
  }

  void close_all() {
    // A process whose plugin sent quit is exiting by itself: let it finish
    // (within the grace period) before SIGTERM cuts its last words short.
    auto deadline = clock_type::now() + cfg.shutdown_grace;
    for (auto& p : plugins)
      if (p->quit)
        await_exit(*p, deadline);
    // Terminate the others: SIGTERM to all, then wait, then SIGKILL.
    for (auto& p : plugins)
      p->proc.signal(SIGTERM);
    deadline = clock_type::now() + cfg.shutdown_grace;
    for (auto& p : plugins) {
      await_exit(*p, deadline);
      for (int fd : {p->proc.stdout_fd(), p->proc.stderr_fd()})
        if (fd >= 0)
          forward_output(*p, fd);
      p->proc.terminate(std::chrono::milliseconds{0});
    }
    for (auto& p : plugins) {
      if (p->router)
        zmq_socket_monitor(p->router->handle(), nullptr, 0);
      p->monitor.reset();
      p->router.reset();
    }
    sub.reset();
    xpub.reset();
  }
};

// -- bridge
// --------------------------------------------------------------------

bridge::bridge(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {
  // nop
}

bridge::~bridge() {
  shutdown();
}

std::unique_ptr<bridge> bridge::open(const app_config& cfg,
                                     std::vector<bridge_plugin> plugins,
                                     error& err) {
  auto d = std::make_unique<impl>();
  d->cfg = cfg;
  d->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (d->wake_fd < 0) {
    err = error{ec::internal, "eventfd failed"};
    return nullptr;
  }
  // A hard cap far above the configured maximum: larger frames make libzmq
  // drop the connection instead of allocating them.
  auto hard_max =
      static_cast<std::int64_t>(cfg.max_message_size) * 2 + (1 << 20);
  int ipv6 = is_ipv6(cfg.bind_address) ? 1 : 0;
  auto bind = [&](zmq::socket_t& sock, int port,
                  const std::string& who) -> bool {
    auto ep = endpoint(cfg.bind_address, port);
    try {
      sock.bind(ep);
      return true;
    } catch (const zmq::error_t& e) {
      std::string fix;
      if (e.num() == EADDRINUSE)
        fix = ": the port is in use by another program; pick another port "
              "(or 0 for any free port)";
      else if (e.num() == EACCES)
        fix = ": no permission (ports below 1024 need privileges)";
      else
        fix = ": check bind_address '" + cfg.bind_address + "'";
      err = error{ec::bind_failed, "cannot bind " + who + " to " + ep + " (" +
                                       e.what() + ")" + fix};
      return false;
    }
  };
  try {
    if (cfg.enable_tcp) {
      d->sub = std::make_unique<zmq::socket_t>(d->ctx, zmq::socket_type::sub);
      d->sub->set(zmq::sockopt::linger, 0);
      d->sub->set(zmq::sockopt::ipv6, ipv6);
      d->sub->set(zmq::sockopt::maxmsgsize, hard_max);
      d->sub->set(zmq::sockopt::subscribe, "");
      if (!bind(*d->sub, cfg.publish_port, "the publish port"))
        return nullptr;
      d->pub_port = bound_port(*d->sub);
      d->xpub = std::make_unique<zmq::socket_t>(d->ctx, zmq::socket_type::xpub);
      d->xpub->set(zmq::sockopt::linger, 0);
      d->xpub->set(zmq::sockopt::ipv6, ipv6);
      d->xpub->set(zmq::sockopt::xpub_nodrop, 1);
      // Subscriptions are small: a huge one costs libzmq ~32 bytes of trie
      // per filter byte, so bigger messages drop the connection.
      d->xpub->set(zmq::sockopt::maxmsgsize, std::int64_t{64 * 1024});
      if (!bind(*d->xpub, cfg.subscribe_port, "the subscribe port"))
        return nullptr;
      d->sub_port = bound_port(*d->xpub);
    }
    for (auto& bp : plugins) {
      auto p = std::make_unique<impl::plugin_io>();
      p->cfg = std::move(bp);
      p->router =
          std::make_unique<zmq::socket_t>(d->ctx, zmq::socket_type::router);
      p->router->set(zmq::sockopt::linger, 0);
      p->router->set(zmq::sockopt::ipv6, ipv6);
      p->router->set(zmq::sockopt::router_mandatory, 1);
      p->router->set(zmq::sockopt::maxmsgsize, hard_max);
      if (!bind(*p->router, p->cfg.port,
                "the command port of external plugin '" + p->cfg.name + "'"))
        return nullptr;
      p->port = bound_port(*p->router);
      auto mon_ep = "inproc://ee-monitor-" + std::to_string(p->cfg.slot);
      if (zmq_socket_monitor(p->router->handle(), mon_ep.c_str(),
                             ZMQ_EVENT_DISCONNECTED) != 0)
        throw zmq::error_t{};
      p->monitor =
          std::make_unique<zmq::socket_t>(d->ctx, zmq::socket_type::pair);
      p->monitor->set(zmq::sockopt::linger, 0);
      p->monitor->connect(mon_ep);
      d->by_slot[p->cfg.slot] = p.get();
      d->plugins.push_back(std::move(p));
    }
  } catch (const zmq::error_t& e) {
    err = error{ec::internal, std::string{"ZeroMQ error: "} + e.what()};
    return nullptr;
  }
  return std::unique_ptr<bridge>{new bridge(std::move(d))};
}

caf::actor bridge::spawn_actor(caf::actor_system& sys) {
  // The actor relays the engine's commands to the I/O thread (events take
  // the direct path: deliver / deliver_raw). (`d` is
  // an argument, not a capture: CAF 0.17 binds a null tuple reference for
  // argument-less spawns, which UBSan reports.)
  auto fun = [](caf::event_based_actor*, impl* d) -> caf::behavior {
    return {
        [d](launch_atom, slot_id slot) { d->push(launch_cmd{slot}); },
        [d](stop_atom, slot_id slot) { d->push(stop_cmd{slot}); },
        [d](credit_atom, std::uint64_t n) { d->push(credit_cmd{n}); },
    };
  };
  return sys.spawn(fun, impl_.get());
}

void bridge::deliver(slot_id slot, event_batch&& batch) {
  impl_->push(deliver_cmd{slot, std::move(batch)});
}

void bridge::deliver_raw(event_batch&& batch) {
  impl_->push(raw_cmd{std::move(batch)});
}

void bridge::start(caf::actor engine) {
  impl_->engine = std::move(engine);
  impl_->credit = static_cast<std::int64_t>(impl_->cfg.publish_window);
  impl_->running = true;
  impl_->thread = std::thread{[d = impl_.get()] {
    try {
      d->run();
    } catch (const std::exception& e) {
      ee::log(log_level::error,
              std::string{"bridge: I/O thread failed: "} + e.what());
    }
    d->close_all();
  }};
}

void bridge::shutdown() {
  if (!impl_ || impl_->shut_down)
    return;
  impl_->shut_down = true;
  {
    std::lock_guard<std::mutex> guard{impl_->mtx};
    impl_->stop_flag = true;
  }
  impl_->wake();
  if (impl_->thread.joinable())
    impl_->thread.join();
  else
    impl_->close_all();
  impl_->engine = nullptr;
  if (impl_->raw_dropped > 0)
    ee::log(log_level::info,
            "bridge: " + std::to_string(impl_->raw_dropped.load()) +
                " events dropped for slow raw subscribers");
}

int bridge::publish_port() const noexcept {
  return impl_->pub_port;
}

int bridge::subscribe_port() const noexcept {
  return impl_->sub_port;
}

std::map<std::string, int> bridge::plugin_ports() const {
  std::map<std::string, int> result;
  for (auto& p : impl_->plugins)
    result[p->cfg.name] = p->port;
  return result;
}

std::uint64_t bridge::rejected() const noexcept {
  return impl_->rejected.load();
}

std::uint64_t bridge::raw_dropped() const noexcept {
  return impl_->raw_dropped.load();
}

} // namespace ee
