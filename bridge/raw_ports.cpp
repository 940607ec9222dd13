#include "bridge/raw_ports.hpp"

#include <iterator>
#include <malloc.h>

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

constexpr int handshake_failures =
    ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;

// Memory given back to the system once this many filter bytes were freed.
constexpr std::size_t trim_after = 64 * 1024;

// After ending a subscriber for the limits in total, no other is ended for
// this long: the subscriptions libzmq read from it still arrive.
constexpr auto cut_pause = std::chrono::milliseconds{100};

// Subscription bytes read between two checks of the limits.
constexpr std::size_t subscription_batch = 16 * 1024;

// Attaches a monitor for `events` to `sock` (before its bind).
zmq::socket_t monitor(zmq::context_t& ctx, zmq::socket_t& sock,
                      const void* owner, const char* which, int events) {
  auto ep = std::string{"inproc://ee-raw-monitor-"} + which + "-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(owner));
  if (zmq_socket_monitor(sock.handle(), ep.c_str(), events) != 0)
    throw zmq::error_t{};
  zmq::socket_t mon{ctx, zmq::socket_type::pair};
  mon.set(zmq::sockopt::linger, 0);
  // No event may be lost: the watch would miss a connection.
  mon.set(zmq::sockopt::rcvhwm, 0);
  mon.connect(ep);
  return mon;
}

} // namespace

raw_ports::raw_ports(zmq::context_t& ctx, std::atomic<std::uint64_t>& released,
                     const app_config& cfg)
    : sub_(ctx, zmq::socket_type::sub), xpub_(ctx, zmq::socket_type::xpub),
      xpub_mon_(monitor(ctx, xpub_, this, "xpub",
                        ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                            handshake_failures)),
      released_(released), max_message_size_(cfg.max_message_size),
      max_subscriptions_(cfg.max_subscriptions),
      max_subscription_bytes_(cfg.max_subscription_bytes),
      max_subscriber_bytes_(cfg.max_subscriber_bytes) {
  // nop
}

raw_ports::~raw_ports() {
  if (sub_mon_)
    zmq_socket_monitor(sub_.handle(), nullptr, 0);
  zmq_socket_monitor(xpub_.handle(), nullptr, 0);
}

expected<std::unique_ptr<raw_ports>>
raw_ports::open(zmq::context_t& ctx, const app_config& cfg,
                std::atomic<std::uint64_t>& released,
                const std::string& curve_secret, refusal_log* refusals,
                handshake_book* handshakes) {
  std::unique_ptr<raw_ports> rp;
  try {
    rp.reset(new raw_ports(ctx, released, cfg));
    if (!curve_secret.empty()) {
      make_curve_server(rp->sub_, curve_secret, zap_domain_publish());
      make_curve_server(rp->xpub_, curve_secret, zap_domain_subscribe());
    }
    // Watched with CURVE or without: the connection limit applies to both.
    rp->refusals_ = refusals;
    rp->curve_ = !curve_secret.empty();
    rp->sub_mon_ = monitor(ctx, rp->sub_, rp.get(), "sub",
                           ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                               handshake_failures);
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
    rp->xpub_.set(zmq::sockopt::maxmsgsize, max_subscription_size);
    rp->xpub_.set(zmq::sockopt::rcvhwm, subscription_hwm);
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
  rp->publishers_ =
      connection_watch{rp->publish_port_, handshakes, cfg.max_connections};
  rp->subscribers_ =
      connection_watch{rp->subscribe_port_, handshakes, cfg.max_connections};
  return rp;
}

void raw_ports::read_monitors() {
  if (sub_mon_)
    drain_monitor(*sub_mon_,
                  "the publish port " + std::to_string(publish_port_),
                  &publishers_);
  drain_monitor(xpub_mon_,
                "the subscribe port " + std::to_string(subscribe_port_),
                &subscribers_);
}

void raw_ports::drain_monitor(zmq::socket_t& mon, const std::string& what,
                              connection_watch* watch) {
  while (auto ev = next_monitor_event(mon)) {
    if (ev->id == ZMQ_EVENT_ACCEPTED) {
      auto line = watch->accepted(ev->value);
      if (!line.empty() && refusals_ != nullptr)
        refusals_->refused(line + " on " + what,
                           std::chrono::steady_clock::now());
      continue;
    }
    if (ev->id == ZMQ_EVENT_DISCONNECTED) {
      watch->closed(ev->value);
      continue;
    }
    if (refusals_ == nullptr)
      continue;
    auto line = describe_handshake_failure(ev->id, ev->value, what, curve_);
    if (!line.empty())
      refusals_->refused(line, std::chrono::steady_clock::now());
  }
}

std::size_t raw_ports::check_handshakes() {
  auto now = std::chrono::steady_clock::now();
  std::pair<connection_watch*, std::string> ports[] = {
      {&publishers_, "the publish port " + std::to_string(publish_port_)},
      {&subscribers_, "the subscribe port " + std::to_string(subscribe_port_)}};
  std::size_t pending = 0;
  for (auto& [watch, what] : ports) {
    if (watch->pending() == 0)
      continue;
    for (auto& line : watch->check_handshakes())
      if (refusals_ != nullptr)
        refusals_->refused(line + " on " + what, now);
    pending += watch->pending();
  }
  return pending;
}

void raw_ports::grant(credit c) {
  credit_.grant(c);
}

bool raw_ports::read_sub() {
  for (int i = 0; i < read_budget && credit_.available(); ++i) {
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
    credit_.spend(frames[0].size());
    ++published_count_;
    published_.emplace_back(frames[0].to_string());
  }
  return credit_.available();
}

void raw_ports::read_xpub(engine_link& engine) {
  // Connections accepted before their subscriptions arrived are watched.
  read_monitors();
  // In batches of at most `subscription_batch` bytes: the limits are
  // checked after each.
  bool more = true;
  while (more) {
    bool over_total = false;
    std::size_t bytes = 0;
    more = false;
    while (!over_total && bytes < subscription_batch) {
      zmq::message_t msg;
      if (!xpub_.recv(msg, zmq::recv_flags::dontwait))
        break;
      more = true;
      bytes += msg.size();
      auto data = static_cast<const char*>(msg.data());
      if (msg.size() == 0 || (data[0] != 0 && data[0] != 1))
        continue;
      over_total =
          !account(std::string{data + 1, msg.size() - 1}, data[0] == 1, engine);
    }
    enforce(over_total);
  }
  if (released_filter_bytes_ >= trim_after) {
    released_filter_bytes_ = 0;
    ::malloc_trim(0); // libzmq's trie frees many small blocks
  }
}

bool raw_ports::account(std::string filter, bool subscribed,
                        engine_link& engine) {
  // The XPUB reports a filter when its first subscriber comes and when its
  // last one goes: these books mirror libzmq's trie.
  if (!subscribed) {
    released_filter_bytes_ += filter.size();
    if (filters_.erase(filter) == 0)
      return true; // never reported: it was beyond the limits
    filter_bytes_ -= filter.size();
    engine.raw_subscription(std::move(filter), false);
    return true;
  }
  if (filters_.size() >= max_subscriptions_ ||
      filter_bytes_ + filter.size() > max_subscription_bytes_)
    return false;
  if (filters_.insert(filter).second) {
    filter_bytes_ += filter.size();
    engine.raw_subscription(std::move(filter), true);
  }
  return true;
}

void raw_ports::enforce(bool over_total) {
  auto now = std::chrono::steady_clock::now();
  auto where = "the subscribe port " + std::to_string(subscribe_port_);
  if (auto n = subscribers_.end_over(max_subscriber_bytes_); n > 0)
    for (std::size_t i = 0; i < n; ++i)
      subscriber_refusals_.refused(
          "disconnected a subscriber on " + where + " that sent more than " +
              std::to_string(max_subscriber_bytes_) +
              " bytes of subscriptions (max_subscriber_bytes)",
          now);
  if (over_total && now >= cut_until_ && subscribers_.end_largest()) {
    cut_until_ = now + cut_pause;
    subscriber_refusals_.refused(
        "disconnected the largest subscriber on " + where + ": the " +
            "subscriptions in total reached max_subscriptions (" +
            std::to_string(max_subscriptions_) +
            ") or max_subscription_bytes (" +
            std::to_string(max_subscription_bytes_) + ")",
        now);
  }
  subscriber_refusals_.tick(now);
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
