#include "bridge/raw_ports.hpp"

#include <iterator>

#include <zmq_addon.hpp>

#include "bridge/address.hpp"
#include "bridge/event_message.hpp"
#include "bridge/monitor_event.hpp"
#include "bridge/socket_limits.hpp"
#include "bridge/zap_handler.hpp"
#include "ee/log.hpp"

namespace ee {

namespace {

constexpr int read_budget = 1024;

// Attaches a monitor for failed handshakes to `sock` (before its bind).
zmq::socket_t monitor(zmq::context_t& ctx, zmq::socket_t& sock,
                      const void* owner, const char* which) {
  auto ep = std::string{"inproc://ee-raw-monitor-"} + which + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(owner));
  if (zmq_socket_monitor(sock.handle(), ep.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0)
    throw zmq::error_t{};
  zmq::socket_t mon{ctx, zmq::socket_type::pair};
  mon.set(zmq::sockopt::linger, 0);
  mon.connect(ep);
  return mon;
}

} // namespace

raw_ports::raw_ports(zmq::context_t& ctx, std::atomic<std::uint64_t>& released,
                     std::size_t max_message_size)
    : sub_(ctx, zmq::socket_type::sub), xpub_(ctx, zmq::socket_type::xpub),
      released_(released), max_message_size_(max_message_size) {
  // nop
}

raw_ports::~raw_ports() {
  if (sub_mon_)
    zmq_socket_monitor(sub_.handle(), nullptr, 0);
  if (xpub_mon_)
    zmq_socket_monitor(xpub_.handle(), nullptr, 0);
}

expected<std::unique_ptr<raw_ports>>
raw_ports::open(zmq::context_t& ctx, const app_config& cfg,
                std::atomic<std::uint64_t>& released,
                const std::string& curve_secret, refusal_log* refusals) {
  std::unique_ptr<raw_ports> rp{
      new raw_ports(ctx, released, cfg.max_message_size)};
  try {
    if (!curve_secret.empty()) {
      make_curve_server(rp->sub_, curve_secret, zap_domain_publish());
      make_curve_server(rp->xpub_, curve_secret, zap_domain_subscribe());
      rp->refusals_ = refusals;
      rp->sub_mon_ = monitor(ctx, rp->sub_, rp.get(), "sub");
      rp->xpub_mon_ = monitor(ctx, rp->xpub_, rp.get(), "xpub");
    }
    rp->sub_.set(zmq::sockopt::linger, 0);
    rp->sub_.set(zmq::sockopt::maxmsgsize, frame_limit(cfg.max_message_size));
    // Not read without credit: TCP pushes back once this much waits.
    rp->sub_.set(zmq::sockopt::rcvhwm,
                 receive_hwm(cfg.publish_window_bytes, cfg.max_message_size));
    rp->sub_.set(zmq::sockopt::subscribe, "");
    rp->xpub_.set(zmq::sockopt::linger, 0);
    rp->xpub_.set(zmq::sockopt::xpub_nodrop, 1);
    // Subscriptions are small: a huge one costs libzmq ~32 bytes of trie per
    // filter byte, so bigger messages drop the connection.
    rp->xpub_.set(zmq::sockopt::maxmsgsize, std::int64_t{64 * 1024});
  } catch (const zmq::error_t& e) {
    return error{ec::internal, std::string{"ZeroMQ error: "} + e.what()};
  }
  if (auto err = address::bind(rp->sub_, cfg.bind_address, cfg.publish_port,
                               "the publish port"))
    return err;
  rp->publish_port_ = address::bound_port(rp->sub_);
  if (auto err = address::bind(rp->xpub_, cfg.bind_address, cfg.subscribe_port,
                               "the subscribe port"))
    return err;
  rp->subscribe_port_ = address::bound_port(rp->xpub_);
  return rp;
}

void raw_ports::read_monitors() {
  if (sub_mon_)
    drain_monitor(*sub_mon_,
                  "the publish port " + std::to_string(publish_port_));
  if (xpub_mon_)
    drain_monitor(*xpub_mon_,
                  "the subscribe port " + std::to_string(subscribe_port_));
}

void raw_ports::drain_monitor(zmq::socket_t& mon, const std::string& what) {
  while (auto ev = next_monitor_event(mon)) {
    if (refusals_ == nullptr)
      continue;
    auto line = describe_handshake_failure(ev->id, ev->value, what, true);
    if (!line.empty())
      refusals_->refused(line, std::chrono::steady_clock::now());
  }
}

void raw_ports::grant(credit c) {
  credit_events_ += static_cast<std::int64_t>(c.events);
  credit_bytes_ += static_cast<std::int64_t>(c.bytes);
}

bool raw_ports::read_sub() {
  for (int i = 0; i < read_budget && has_credit(); ++i) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(sub_, std::back_inserter(frames),
                             zmq::recv_flags::dontwait))
      return false;
    if (frames.size() != 1) {
      ++rejected_;
      ee::log(log_level::warning,
              "publish port: dropped a multi-frame message (" +
                  std::to_string(frames.size()) +
                  " frames): events are single frames");
      continue;
    }
    if (frames[0].size() > max_message_size_) {
      ++rejected_;
      ee::log(log_level::warning, "publish port: dropped a message of " +
                                      std::to_string(frames[0].size()) +
                                      " bytes (max_message_size is " +
                                      std::to_string(max_message_size_) + ")");
      continue;
    }
    --credit_events_;
    credit_bytes_ -= static_cast<std::int64_t>(frames[0].size());
    ++published_count_;
    published_.emplace_back(frames[0].to_string());
  }
  return has_credit();
}

void raw_ports::read_xpub(engine_link& engine) {
  for (;;) {
    zmq::message_t msg;
    if (!xpub_.recv(msg, zmq::recv_flags::dontwait))
      return;
    if (msg.size() == 0)
      continue;
    auto data = static_cast<const char*>(msg.data());
    if (data[0] != 0 && data[0] != 1)
      continue;
    engine.raw_subscription(std::string{data + 1, msg.size() - 1},
                            data[0] == 1);
  }
}

void raw_ports::send(event_batch&& events) {
  for (auto& ev : events) {
    // The bytes count as released when libzmq closes the message: sent to
    // every subscriber, or dropped here.
    auto msg = event_message(ev, &released_);
    bool sent = false;
    try {
      sent = xpub_.send(msg, zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t& e) {
      ee::log(log_level::warning,
              std::string{"subscribe port: send failed: "} + e.what());
    }
    if (!sent)
      ++dropped_; // a slow raw subscriber: ZeroMQ semantics, counted
  }
}

void raw_ports::flush(engine_link& engine) {
  if (published_.empty())
    return;
  event_batch batch;
  batch.swap(published_);
  engine.published(raw_publish_port, std::move(batch));
}

} // namespace ee
