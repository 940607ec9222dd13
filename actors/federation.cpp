#include "actors/federation.hpp"
#include "actors/federation_state.hpp"

#include <random>

#include <caf/io/middleman.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/tls_watch.hpp"
#include "ee/log.hpp"
#include "src/core/backoff.hpp"
#include "src/core/exception_text.hpp"

namespace ee::federation {

void say(log_level lvl, const std::string& text) {
  ee::log(lvl, "federation: " + text);
}

namespace {

/// Splits `HOST:PORT` (IPv6 hosts in brackets). @returns false if malformed.
bool split_address(const std::string& addr, std::string& host,
                   std::uint16_t& port) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon + 1 == addr.size())
    return false;
  host = addr.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  try {
    auto p = std::stoul(addr.substr(colon + 1));
    if (p > 65535)
      return false;
    port = static_cast<std::uint16_t>(p);
  } catch (...) {
    return false;
  }
  return true;
}

std::uint64_t steady_us() {
  using namespace std::chrono;
  return static_cast<std::uint64_t>(
      duration_cast<microseconds>(clock_type::now().time_since_epoch())
          .count());
}

} // namespace

federation_state::federation_state(federation_actor* self)
    : self_(self), topo_("") {
  // nop
}

caf::behavior
federation_state::make_behavior(std::shared_ptr<federation_params> p) {
  params_ = std::move(p);
  auto& cfg = params_->cfg;
  name_ = cfg.name;
  topo_ = topology{name_};
  epoch_ = std::random_device{}();
  epoch_ = (epoch_ << 32) ^ std::random_device{}() ^ wall_clock_us();
  credit_ = params_->window;
  auto& sys = self_->system();
  mm_ = cfg.uses_tls() ? sys.openssl_manager().actor_handle()
                       : sys.middleman().actor_handle();
  for (auto& addr : cfg.peers)
    add_link(addr, true);
  local_changed();
  recompute_filters();
  start_listening();
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    dial(i);
  self_->set_down_handler([this](caf::down_msg& msg) {
    on_down(msg);
    flush();
  });
  self_->set_default_handler(caf::drop);
  self_->set_exception_handler([](std::exception_ptr& ptr) -> caf::error {
    say(log_level::error, "internal error: " + describe_exception(ptr));
    return caf::exit_reason::unhandled_exception;
  });
  self_->set_error_handler([](caf::error&) {
    // Errors from remote engines are not ours to die of.
  });
  self_->delayed_send(self_, tick_interval, fed_tick_atom::value);
  publish_stats();
  return message_table();
}

caf::behavior federation_state::message_table() {
  return {
      [this](deliver_atom, event_batch& batch) {
        on_local(batch);
        flush();
      },
      [this](credit_atom, std::uint64_t events, std::uint64_t bytes) {
        credit_.events += events;
        credit_.bytes += bytes;
        pump_inbound();
        flush();
      },
      [this](local_atom, std::vector<std::string>& filters) {
        local_filters_ = std::move(filters);
        local_changed();
        flush();
      },
      [this](hello_atom, hello& h) {
        on_hello(h);
        flush();
      },
      [this](welcome_atom, hello& h) {
        on_welcome(h);
        flush();
      },
      [this](refuse_atom, std::string& reason) { on_refuse(reason); },
      [this](nodes_atom, nodes_msg& msg) {
        if (auto idx = sender_link(); idx != none)
          on_nodes(idx, msg);
        flush();
      },
      [this](events_atom, event_batch_msg& msg) {
        if (auto idx = sender_link(); idx != none)
          on_events(idx, msg);
        flush();
      },
      [this](fack_atom, std::uint64_t seq) {
        if (auto idx = sender_link(); idx != none)
          on_ack(idx, seq);
        flush();
      },
      [this](ping_atom, std::uint64_t t) -> caf::result<caf::message> {
        // A link this engine declared down gets no answer: the peer's
        // heartbeat then declares it down too, and it says hello again.
        if (sender_link() == none)
          return caf::message{};
        return caf::make_message(pong_atom::value, t);
      },
      [this](pong_atom, std::uint64_t t) {
        if (auto idx = sender_link(); idx != none)
          links_[idx]->counters.rtt_us = steady_us() - t;
      },
      [this](fed_tick_atom) {
        on_tick();
        flush();
        self_->delayed_send(self_, tick_interval, fed_tick_atom::value);
      },
      [this](dial_atom, std::uint32_t idx) {
        if (idx < links_.size())
          dial(idx);
      },
  };
}

// -- peering ------------------------------------------------------------------

void federation_state::start_listening() {
  auto& listen = params_->cfg.listen;
  if (listen.empty())
    return;
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(listen, host, port)) {
    say(log_level::error, "cannot listen on '" + listen + "': not HOST:PORT");
    return;
  }
  auto whom = caf::actor_cast<caf::strong_actor_ptr>(self_);
  self_
      ->request(mm_, caf::infinite, caf::publish_atom::value, port,
                std::move(whom), std::set<std::string>{}, host, true)
      .then(
          [host](std::uint16_t bound) {
            say(log_level::info,
                "listening on " + host + ":" + std::to_string(bound));
          },
          [listen](caf::error& err) {
            say(log_level::error,
                "cannot listen on " + listen + ": " + caf::to_string(err));
          });
}

std::uint32_t federation_state::add_link(std::string address, bool configured) {
  auto l = std::make_unique<peer_link>(params_->cfg.buffer_bytes);
  l->address = std::move(address);
  l->configured = configured;
  links_.push_back(std::move(l));
  return static_cast<std::uint32_t>(links_.size() - 1);
}

void federation_state::dial(std::uint32_t idx) {
  auto& l = *links_[idx];
  if (l.up || l.dialing || !l.configured)
    return;
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(l.address, host, port)) {
    say(log_level::error, "peer '" + l.address + "' is not HOST:PORT");
    return;
  }
  l.dialing = true;
  self_
      ->request(mm_, std::chrono::seconds{10}, caf::connect_atom::value, host,
                port)
      .then(
          [this, idx](const caf::node_id&, caf::strong_actor_ptr& ptr,
                      const std::set<std::string>&) {
            auto& l = *links_[idx];
            l.dialing = false;
            if (!ptr) {
              say(log_level::warning,
                  "peer " + l.address + " has no federation published");
              schedule_dial(idx);
              return;
            }
            auto remote = caf::actor_cast<caf::actor>(ptr);
            attach(idx, remote);
            self_->send(remote, hello_atom::value, my_hello());
            // A connection that died unnoticed (CAF reuses it) swallows the
            // hello: without a welcome in time, dial again.
            self_->delayed_send(self_, heartbeat_timeout, dial_atom::value,
                                idx);
          },
          [this, idx](caf::error& err) {
            auto& l = *links_[idx];
            l.dialing = false;
            bool tls_failed = report_tls_failures(&l.address);
            if (tls_failed || err == caf::sec::disconnect_during_handshake)
              handshake_failed(idx, tls_failed);
            else if (!l.unreachable_logged) {
              l.unreachable_logged = true;
              say(log_level::info, "peer " + l.address + " unreachable (" +
                                       self_->system().render(err) +
                                       "); retrying with back-off");
            }
            schedule_dial(idx);
          });
}

void federation_state::handshake_failed(std::uint32_t idx, bool reported) {
  auto& l = *links_[idx];
  // With TLS, OpenSSL's reason was recorded (tls_watch); without, the peer
  // closed the connection: it expects TLS (or is no federation port).
  if (!params_->cfg.uses_tls())
    refused(l.address, "the peer closed the connection in the handshake: "
                       "it uses TLS, this engine does not (or it is no "
                       "federation port)");
  else if (!reported)
    refused(l.address, "the peer closed the connection in the TLS "
                       "handshake (it does not use TLS, or refused this "
                       "engine's certificate)");
}

void federation_state::tell_plain_peer(const std::string& address) {
  // A peer without TLS learns why over a plain connection: a hello that
  // says TLS, which it refuses (and logs). Nothing else goes that way.
  std::string host;
  std::uint16_t port = 0;
  if (!split_address(address, host, port))
    return;
  self_
      ->request(self_->system().middleman().actor_handle(),
                std::chrono::seconds{5}, caf::connect_atom::value, host, port)
      .then(
          [this](const caf::node_id&, caf::strong_actor_ptr& ptr,
                 const std::set<std::string>&) {
            if (auto remote = caf::actor_cast<caf::actor>(ptr))
              self_->send(remote, hello_atom::value, my_hello());
          },
          [](caf::error&) {
            // It speaks neither: nothing more to say.
          });
}

bool federation_state::report_tls_failures(const std::string* dialled) {
  std::uint64_t lost = 0;
  auto failures = take_tls_failures(lost);
  for (auto& f : failures) {
    // The peer may have closed the socket before its address was read.
    if (dialled && !f.accepting && f.peer == unknown_tls_peer)
      f.peer = *dialled;
    refused(f.peer, "TLS handshake failed: " + f.reason);
    if (f.accepting || f.reason.find("does not use TLS") == std::string::npos)
      continue;
    for (auto& l : links_)
      if (l->configured && l->address == f.peer)
        tell_plain_peer(f.peer);
  }
  refused_ += lost;
  if (lost > 0)
    publish_stats();
  return !failures.empty();
}

void federation_state::refused(const std::string& where,
                               const std::string& reason) {
  ++refused_;
  publish_stats(); // the final snapshot has it even if no tick follows
  // At most one line per peer host and reason every 10 s (a peer retries
  // with back-off); every refusal is counted.
  auto host = where.substr(0, where.rfind(':'));
  auto now = clock_type::now();
  auto& last = refusal_logged_[host + "\n" + reason];
  if (last != clock_type::time_point{} && now - last < std::chrono::seconds{10})
    return;
  last = now;
  say(log_level::warning, "refused " + where + ": " + reason);
}

void federation_state::schedule_dial(std::uint32_t idx) {
  auto& l = *links_[idx];
  if (!l.configured)
    return;
  static const backoff policy{std::chrono::milliseconds{100},
                              std::chrono::milliseconds{5000}, 2.0};
  l.backoff = next_backoff(policy, l.backoff, l.backoff.count() == 0);
  self_->delayed_send(self_, l.backoff, dial_atom::value, idx);
}

void federation_state::attach(std::uint32_t idx, const caf::actor& remote) {
  auto& l = *links_[idx];
  if (l.remote && l.remote != remote)
    by_addr_.erase(l.remote.address());
  l.remote = remote;
  by_addr_[remote.address()] = idx;
  self_->monitor(remote);
}

hello federation_state::my_hello() const {
  return hello{name_, epoch_, params_->cfg.uses_tls()};
}

void federation_state::refuse(const caf::actor& to, const std::string& where,
                              const std::string& reason) {
  refused(where, reason);
  if (to)
    self_->send(to, refuse_atom::value, reason);
  publish_stats();
}

std::uint32_t federation_state::find_name(const std::string& name) const {
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    if (links_[i]->name == name)
      return i;
  return none;
}

void federation_state::on_hello(hello& h) {
  auto remote = caf::actor_cast<caf::actor>(self_->current_sender());
  if (!remote)
    return;
  // Where it came from, for the log, then the decision.
  self_
      ->request(mm_, std::chrono::seconds{5}, caf::get_atom::value,
                remote.node())
      .then(
          [this, h, remote](const caf::node_id&, std::string& host,
                            std::uint16_t port) {
            accept(h, remote, host + ":" + std::to_string(port));
            flush();
          },
          [this, h, remote](caf::error&) {
            accept(h, remote, "(address unknown)");
            flush();
          });
}

void federation_state::accept(const hello& h, const caf::actor& remote,
                              const std::string& addr) {
  auto peer = " (peer '" + h.name + "')";
  if (h.name == name_)
    return refuse(remote, addr,
                  "it has this engine's own name '" + name_ +
                      "': the engine itself, or a duplicate name");
  if (h.tls != params_->cfg.uses_tls())
    return refuse(remote, addr + peer,
                  h.tls ? "TLS mismatch: the dialling engine uses TLS, the "
                          "accepting one does not"
                        : "TLS mismatch: the accepting engine uses TLS, the "
                          "dialling one does not");
  auto idx = find_name(h.name);
  if (idx != none && links_[idx]->up && links_[idx]->remote != remote) {
    if (links_[idx]->epoch == h.epoch)
      return refuse(remote, addr + peer,
                    "duplicate name: a peer named '" + h.name +
                        "' is already connected");
    // The same peer restarted before its old link was noticed down.
    link_down(idx, "replaced by its new incarnation");
  }
  if (idx == none) {
    auto i = by_addr_.find(remote.address());
    idx = i != by_addr_.end() ? i->second : add_link(addr, false);
  }
  auto& l = *links_[idx];
  l.name = h.name;
  l.epoch = h.epoch;
  if (!l.configured)
    l.address = addr;
  attach(idx, remote);
  self_->send(remote, welcome_atom::value, my_hello());
  link_up(idx);
}

void federation_state::on_welcome(hello& h) {
  auto idx = sender_link(false);
  if (idx == none)
    return;
  auto& l = *links_[idx];
  auto where = l.address + " (peer '" + h.name + "')";
  if (h.name == name_) {
    refuse(l.remote, where,
           "it is this engine itself (same name '" + name_ + "')");
    l.configured = false; // never dial yourself again
    return;
  }
  auto other = find_name(h.name);
  if (other != none && other != idx && links_[other]->up &&
      links_[other]->remote != l.remote) {
    refuse(l.remote, where,
           "duplicate name: a peer named '" + h.name +
               "' is already connected");
    schedule_dial(idx);
    return;
  }
  if (other != none && other != idx && !links_[other]->configured)
    adopt(idx, other);
  l.name = h.name;
  l.epoch = h.epoch;
  link_up(idx);
}

void federation_state::on_refuse(std::string& reason) {
  auto idx = sender_link(false);
  if (idx == none) {
    // The answer to a plain hello after a failed TLS handshake.
    refused("a peer", reason);
    return;
  }
  refused(links_[idx]->label(), reason);
  if (links_[idx]->up)
    link_down(idx, "refused: " + reason); // dials again if configured
  else
    schedule_dial(idx);
  publish_stats();
}

void federation_state::link_up(std::uint32_t idx) {
  auto& l = *links_[idx];
  bool was_up = l.up;
  l.up = true;
  l.dialing = false;
  l.backoff = std::chrono::milliseconds{0};
  l.unreachable_logged = false;
  l.last_heard = clock_type::now();
  ++l.session;
  l.in.reset();
  l.out.unsend();
  l.counters.up = 1;
  if (!was_up) {
    say(log_level::info, "peer " + l.name + " up (" + l.address + ")");
    self_->send(params_->engine, fed_peer_atom::value, l.name, true);
  }
  local_changed(); // a new neighbour
  auto all = topo_.all();
  send_nodes(idx, std::move(all));
  recompute_filters();
  pump(idx);
}

void federation_state::link_down(std::uint32_t idx, const std::string& reason) {
  auto& l = *links_[idx];
  if (!l.up)
    return;
  l.up = false;
  l.counters.up = 0;
  l.out.unsend();
  l.in.reset();
  say(log_level::warning, "peer " + l.label() + " down: " + reason);
  self_->send(params_->engine, fed_peer_atom::value, l.label(), false);
  if (l.remote) {
    by_addr_.erase(l.remote.address());
    self_->demonitor(l.remote);
    l.remote = nullptr;
  }
  schedule_dial(idx);
  publish_stats();
}

void federation_state::on_down(const caf::down_msg& msg) {
  auto i = by_addr_.find(msg.source);
  if (i == by_addr_.end())
    return;
  auto idx = i->second;
  auto& l = *links_[idx];
  if (!l.up) {
    by_addr_.erase(i);
    l.remote = nullptr;
    schedule_dial(idx);
    return;
  }
  std::string why;
  if (!msg.reason || msg.reason == caf::exit_reason::user_shutdown)
    why = "the peer stopped";
  else if (msg.reason == caf::exit_reason::remote_link_unreachable)
    why = "the connection was lost";
  else
    why = self_->system().render(msg.reason);
  link_down(idx, why);
}

std::uint32_t federation_state::sender_link(bool need_up) const {
  auto i =
      by_addr_.find(self_->current_sender() ? self_->current_sender()->address()
                                            : caf::actor_addr{});
  if (i == by_addr_.end())
    return none;
  links_[i->second]->last_heard = clock_type::now();
  return links_[i->second]->up || !need_up ? i->second : none;
}

void federation_state::on_tick() {
  auto now = clock_type::now();
  for (std::uint32_t i = 0; i < links_.size(); ++i) {
    auto& l = *links_[i];
    if (!l.up)
      continue;
    if (now - l.last_heard > heartbeat_timeout) {
      link_down(i, "no answer for " +
                       std::to_string(heartbeat_timeout.count()) + " ms");
      continue;
    }
    self_->send(l.remote, ping_atom::value, steady_us());
  }
  report_drops();
  report_tls_failures();
  publish_stats();
}

void federation_state::report_drops() {
  for (auto& l : links_) {
    if (l->drops_unreported == 0)
      continue;
    say(log_level::warning, "dropped " + std::to_string(l->drops_unreported) +
                                " events for peer " + l->label() +
                                " (buffer_bytes)");
    l->drops_unreported = 0;
  }
}

} // namespace ee::federation

namespace ee {

void federation::add_federation_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<federation::hello>("ee_fed_hello");
  cfg.add_message_type<federation::event_batch_msg>("ee_fed_batch");
  cfg.add_message_type<federation::nodes_msg>("ee_fed_nodes");
}

void configure_federation(caf::actor_system_config& cfg,
                          const federation_config& fed) {
  if (!fed.enabled())
    return;
  cfg.load<caf::io::middleman>();
  federation::add_federation_types(cfg);
  if (fed.uses_tls()) {
    cfg.load<caf::openssl::manager>();
    cfg.set("openssl.certificate", fed.tls.certificate);
    cfg.set("openssl.key", fed.tls.key);
    cfg.set("openssl.cafile", fed.tls.ca);
  }
}

caf::actor spawn_federation(caf::actor_system& sys,
                            std::shared_ptr<federation_params> params) {
  auto fun = [](federation::federation_actor* self,
                std::shared_ptr<federation_params> p) {
    return self->state.make_behavior(std::move(p));
  };
  auto fed = sys.spawn(fun, std::move(params));
  fed->attach_functor([&sys](const caf::error& reason) {
    if (reason && reason != caf::exit_reason::user_shutdown)
      federation::say(log_level::error,
                      "the federation actor ended: " + sys.render(reason));
  });
  return fed;
}

} // namespace ee
