#include "bridge/endpoint.hpp"

#include <algorithm>
#include <cstring>
#include <iterator>

#include <zmq_addon.hpp>

#include "bridge/address.hpp"
#include "bridge/event_message.hpp"
#include "bridge/monitor_event.hpp"
#include "bridge/protocol.hpp"
#include "bridge/socket_limits.hpp"
#include "bridge/zap_handler.hpp"
#include "ee/log.hpp"

namespace ee {

namespace {

constexpr int read_budget = 1024;
constexpr std::chrono::microseconds first_probe{2000};
constexpr std::chrono::microseconds max_probe_interval{200000};

std::string_view view(const zmq::message_t& msg) {
  return {static_cast<const char*>(msg.data()), msg.size()};
}

} // namespace

endpoint::endpoint(zmq::context_t& ctx, config cfg)
    : cfg_(std::move(cfg)), router_(ctx, zmq::socket_type::router),
      monitor_(ctx, zmq::socket_type::pair) {
  if (cfg_.max_delivery_attempts == 0)
    cfg_.max_delivery_attempts = 1;
}

endpoint::~endpoint() {
  if (router_.handle() != nullptr)
    zmq_socket_monitor(router_.handle(), nullptr, 0);
}

expected<std::unique_ptr<endpoint>> endpoint::open(zmq::context_t& ctx,
                                                   config cfg) {
  std::unique_ptr<endpoint> ep{new endpoint(ctx, std::move(cfg))};
  try {
    auto& r = ep->router_;
    r.set(zmq::sockopt::linger, 0);
    r.set(zmq::sockopt::router_mandatory, 1);
    r.set(zmq::sockopt::maxmsgsize, frame_limit(ep->cfg_.max_message_size));
    // Read while serving; after that (shutdown) this much may wait.
    r.set(zmq::sockopt::rcvhwm,
          command_port_hwm(ep->cfg_.held_max_bytes, ep->cfg_.max_message_size));
    if (!ep->cfg_.curve_secret.empty())
      make_curve_server(r, ep->cfg_.curve_secret,
                        zap_domain_plugin(ep->cfg_.id));
    // The monitor before the bind: no connection is accepted unseen.
    auto mon = "inproc://ee-monitor-" + to_string(ep->cfg_.id) + "-" +
               std::to_string(reinterpret_cast<std::uintptr_t>(ep.get()));
    int events = ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL;
    if (!ep->cfg_.curve_secret.empty())
      events |= ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(r.handle(), mon.c_str(), events) != 0)
      throw zmq::error_t{};
    // No high-water mark on the monitor pipe: a lost event would break the
    // tracking of connections.
    ep->monitor_.set(zmq::sockopt::rcvhwm, 0);
    ep->monitor_.set(zmq::sockopt::linger, 0);
    ep->monitor_.connect(mon);
  } catch (const zmq::error_t& e) {
    return error{ec::internal, std::string{"ZeroMQ error: "} + e.what()};
  }
  if (auto err = address::bind(
          ep->router_, ep->cfg_.bind_address, ep->cfg_.port,
          "the command port of external plugin '" + ep->cfg_.name + "'"))
    return err;
  ep->port_ = address::bound_port(ep->router_);
  ep->watch_ = connection_watch{ep->port_, ep->cfg_.handshakes,
                                ep->cfg_.max_connections};
  return ep;
}

// -- commands of the engine
// ----------------------------------------------------

void endpoint::deliver(event_batch&& events) {
  if (retired_) {
    for (auto& ev : events) {
      ++counters_.discarded;
      settled_.discarded.push_back(std::move(ev));
    }
    return;
  }
  for (auto& ev : events)
    queue_.push_back(entry{std::move(ev), next_seq_++, 0});
  serve(clock_type::now());
}

void endpoint::grant(credit c) {
  credit_.grant(c);
  release_held();
}

void endpoint::relaunched() {
  std::vector<entry> back;
  for (auto& [id, f] : in_flight_)
    back.push_back(std::move(f.e));
  in_flight_.clear();
  give_back(back);
  first_request_seen_ = false;
  quit_ = false;
  serve(clock_type::now());
}

void endpoint::retire() {
  if (retired_)
    return;
  retired_ = true;
  auto discard = [this](event& ev) {
    ++counters_.discarded;
    settled_.discarded.push_back(std::move(ev));
  };
  for (auto& e : queue_)
    discard(e.ev);
  queue_.clear();
  for (auto& [id, f] : in_flight_)
    discard(f.e.ev);
  in_flight_.clear();
  for (auto& h : held_)
    reply(h.envelope,
          wire::make_bad_msg_reply("plugin '" + cfg_.name +
                                   "' has stopped; nothing was published"));
  held_.clear();
  held_bytes_ = 0;
  // Waiting next_msg requests stay unanswered, as the original's REP did.
  waiting_.clear();
  waiting_by_id_.clear();
}

// -- I/O
// -----------------------------------------------------------------------

void endpoint::drain_monitor() {
  while (auto ev = next_monitor_event(monitor_)) {
    if (ev->id == ZMQ_EVENT_ACCEPTED) {
      tracker_.accepted(ev->value);
      refuse(watch_.accepted(ev->value));
    } else if (ev->id == ZMQ_EVENT_DISCONNECTED) {
      tracker_.disconnected(ev->value);
      watch_.closed(ev->value);
    } else if (cfg_.refusals != nullptr) {
      auto line =
          describe_handshake_failure(ev->id, ev->value,
                                     "the port " + std::to_string(port_) +
                                         " of plugin '" + cfg_.name + "'",
                                     !cfg_.curve_secret.empty());
      if (!line.empty())
        cfg_.refusals->refused(line, clock_type::now());
    }
  }
}

void endpoint::refuse(const std::string& line) {
  if (!line.empty() && cfg_.refusals != nullptr)
    cfg_.refusals->refused(line + " on the port " + std::to_string(port_) +
                               " of plugin '" + cfg_.name + "'",
                           clock_type::now());
}

std::size_t endpoint::check_handshakes() {
  if (watch_.pending() == 0)
    return 0;
  for (auto& line : watch_.check_handshakes())
    refuse(line);
  return watch_.pending();
}

bool endpoint::read(clock_type::time_point now) {
  drain_monitor();
  for (int i = 0; i < read_budget; ++i) {
    frames msg;
    if (!zmq::recv_multipart(router_, std::back_inserter(msg),
                             zmq::recv_flags::dontwait)) {
      // Every message of a connection whose DISCONNECTED we have seen is
      // read now: the tracker may report it gone.
      tracker_.drained();
      for (auto& id : tracker_.take_gone())
        on_gone(id);
      serve(now);
      return false;
    }
    // The ACCEPTED of this message's connection has been emitted before
    // the message was queued: read it first.
    drain_monitor();
    if (!msg.empty())
      handle(msg, now);
  }
  return true;
}

void endpoint::handle(frames& msg, clock_type::time_point now) {
  std::vector<std::string_view> views;
  views.reserve(msg.size());
  for (auto& f : msg)
    views.push_back(view(f));
  auto parsed = wire::parse(views, cfg_.max_message_size);
  auto identity = msg.front().to_string();
  tracker_.message(identity, zmq_msg_get(msg.back().handle(), ZMQ_SRCFD));
  ++counters_.requests;
  if (!first_request_seen_) {
    first_request_seen_ = true;
    first_request_pending_ = true;
  }
  // Any request from a connection confirms the event it got last, and
  // supersedes a next_msg it left waiting (REQ_RELAXED resend).
  settle(identity);
  if (auto w = waiting_by_id_.find(identity); w != waiting_by_id_.end()) {
    waiting_.erase(w->second);
    waiting_by_id_.erase(w);
  }
  std::optional<event> body;
  if (parsed.req.kind == wire::request_kind::publish)
    body.emplace(std::string{parsed.body});
  frames envelope;
  for (std::size_t i = 0; i < parsed.split.envelope_frames; ++i)
    envelope.push_back(std::move(msg[i]));
  if (retired_) {
    if (parsed.req.kind != wire::request_kind::quit)
      reply(envelope,
            wire::make_bad_msg_reply("plugin '" + cfg_.name + "' has stopped"));
    return;
  }
  switch (parsed.req.kind) {
  case wire::request_kind::next_msg:
    if (quit_) {
      reply(envelope,
            wire::make_bad_msg_reply("plugin '" + cfg_.name + "' has quit"));
      return;
    }
    if (tracker_.closed(identity))
      return; // no reply could reach it
    waiting_.push_back(waiting_request{identity, std::move(envelope)});
    waiting_by_id_[identity] = std::prev(waiting_.end());
    serve(now);
    return;
  case wire::request_kind::quit:
    if (!quit_) {
      quit_ = true;
      quit_pending_ = true;
    }
    return; // no reply, as in the original
  case wire::request_kind::publish: {
    auto size = body->size();
    if (held_.empty() && credit_.available()) {
      publish_now(envelope, std::move(*body));
    } else if (held_.size() < cfg_.held_max &&
               (held_.empty() || held_bytes_ + size <= cfg_.held_max_bytes)) {
      // Flow control: the reply (and so the client) waits for credit.
      held_bytes_ += size;
      held_.push_back(held_publish{std::move(envelope), std::move(*body)});
    } else {
      ++counters_.bad_requests;
      reply(envelope,
            wire::make_bad_msg_reply(
                "the engine is overloaded (" + std::to_string(held_.size()) +
                " publishes of plugin '" + cfg_.name +
                "' wait for room); nothing was published"));
    }
    return;
  }
  case wire::request_kind::bad:
    ++counters_.bad_requests;
    ee::log(log_level::warning, cfg_.name, "bad request: " + parsed.req.error);
    reply(envelope, wire::make_bad_msg_reply(parsed.req.error));
    return;
  }
}

void endpoint::settle(const std::string& identity) {
  auto i = in_flight_.find(identity);
  if (i == in_flight_.end())
    return;
  settled_.handled.push_back(std::move(i->second.e.ev));
  in_flight_.erase(i);
}

void endpoint::on_gone(const std::string& identity) {
  ++counters_.disconnects;
  if (auto i = in_flight_.find(identity); i != in_flight_.end()) {
    std::vector<entry> back;
    back.push_back(std::move(i->second.e));
    in_flight_.erase(i);
    give_back(back);
    ee::log(log_level::debug, cfg_.name,
            "a connection closed before confirming "
            "its event; it goes to the next request");
  }
  // A reply could not reach it any more.
  if (auto w = waiting_by_id_.find(identity); w != waiting_by_id_.end()) {
    waiting_.erase(w->second);
    waiting_by_id_.erase(w);
  }
}

void endpoint::give_back(std::vector<entry>& back) {
  std::sort(back.begin(), back.end(),
            [](const entry& x, const entry& y) { return x.seq > y.seq; });
  for (auto& e : back) {
    if (e.attempts >= cfg_.max_delivery_attempts) {
      ++counters_.dead_letters;
      ee::log(log_level::warning, cfg_.name,
              "an event was sent " + std::to_string(e.attempts) +
                  " times without confirmation; it goes to dead letters");
      settled_.dead_letters.push_back(std::move(e.ev));
    } else {
      ++counters_.redeliveries;
      queue_.push_front(std::move(e));
    }
  }
}

void endpoint::serve(clock_type::time_point now) {
  while (!waiting_.empty() && !queue_.empty()) {
    auto w = std::move(waiting_.front());
    waiting_by_id_.erase(w.identity);
    waiting_.pop_front();
    if (tracker_.closed(w.identity))
      continue; // a reply could not reach it
    auto& e = queue_.front();
    if (!reply(w.envelope, event_message(e.ev)))
      continue; // that connection is gone: the event waits for the next
    ++counters_.next_msg_served;
    ++counters_.round_trips;
    if (cfg_.delivery == delivery_mode::at_most_once) {
      settled_.handled.push_back(std::move(e.ev));
      queue_.pop_front();
      continue;
    }
    ++e.attempts;
    auto& f = in_flight_[w.identity];
    f.e = std::move(e);
    queue_.pop_front();
    f.delimited = w.envelope.size() > 1;
    f.envelope.clear();
    for (auto& part : w.envelope)
      f.envelope.push_back(part.to_string());
    f.probe_at = clock_type::time_point::max();
    if (f.delimited && tracker_.uncertain(w.identity))
      schedule_probe(f, now);
  }
}

void endpoint::schedule_probe(flight& f, clock_type::time_point now) {
  f.probe_interval = first_probe;
  f.probe_at = now + f.probe_interval;
  ++probing_;
}

endpoint::clock_type::time_point
endpoint::on_timer(clock_type::time_point now) {
  auto next = clock_type::time_point::max();
  if (probing_ == 0)
    return next;
  probing_ = 0;
  std::vector<std::string> gone;
  for (auto& [id, f] : in_flight_) {
    if (f.probe_at == clock_type::time_point::max())
      continue;
    if (!tracker_.uncertain(id)) {
      // Resolved: closed (reported when drained) or confirmed.
      f.probe_at = clock_type::time_point::max();
      continue;
    }
    if (f.probe_at <= now) {
      std::vector<std::string_view> env{f.envelope.begin(), f.envelope.end()};
      frames probe;
      for (auto& part : wire::probe_frames(env))
        probe.emplace_back(part.data(), part.size());
      ++counters_.probes;
      try {
        zmq::send_multipart(router_, probe, zmq::send_flags::dontwait);
      } catch (const zmq::error_t& e) {
        if (e.num() == EHOSTUNREACH) {
          gone.push_back(id);
          continue;
        }
      }
      // Sent (perhaps into a pipe that is about to close): again later.
      f.probe_interval = std::min(f.probe_interval * 2, max_probe_interval);
      f.probe_at = now + f.probe_interval;
    }
    ++probing_;
    next = std::min(next, f.probe_at);
  }
  for (auto& id : gone) {
    tracker_.forget(id);
    on_gone(id);
  }
  if (!gone.empty())
    serve(now);
  return next;
}

void endpoint::flush(engine_link& engine) {
  if (first_request_pending_) {
    first_request_pending_ = false;
    engine.first_request(cfg_.id);
  }
  if (!published_.empty()) {
    event_batch batch;
    batch.swap(published_);
    engine.published(cfg_.id, std::move(batch));
  }
  if (!settled_.empty()) {
    settlement s;
    std::swap(s, settled_);
    engine.settled(cfg_.id, std::move(s));
  }
  if (quit_pending_) {
    quit_pending_ = false;
    engine.quit(cfg_.id);
  }
}

// -- publishing
// ----------------------------------------------------------------

void endpoint::publish_now(frames& envelope, event ev) {
  // Reply first: the client's next request overlaps the hand-off.
  reply(envelope, wire::published_reply);
  credit_.spend(ev.size());
  ++counters_.published;
  ++counters_.round_trips;
  published_.push_back(std::move(ev));
}

void endpoint::release_held() {
  while (!held_.empty() && credit_.available()) {
    auto h = std::move(held_.front());
    held_.pop_front();
    held_bytes_ -= h.ev.size();
    publish_now(h.envelope, std::move(h.ev));
  }
}

bool endpoint::reply(const frames& envelope, std::string_view body) {
  return reply(envelope, zmq::message_t{body.data(), body.size()});
}

bool endpoint::reply(const frames& envelope, zmq::message_t body) {
  frames out;
  out.reserve(envelope.size() + 1);
  for (auto& f : envelope)
    out.emplace_back(f.data(), f.size()); // identities: a few bytes
  out.push_back(std::move(body));
  try {
    return zmq::send_multipart(router_, out, zmq::send_flags::dontwait)
        .has_value();
  } catch (const zmq::error_t& e) {
    if (e.num() != EHOSTUNREACH)
      ee::log(log_level::warning, cfg_.name,
              std::string{"reply failed: "} + e.what());
    return false;
  }
}

} // namespace ee
