#include "bridge/zap_handler.hpp"

#include "bridge/socket_limits.hpp"

#include <iterator>
#include <vector>

#include <zmq_addon.hpp>

#include "ee/log.hpp"

// A DRAFT option in libzmq 4.3's header, implemented by the library: with
// it a CURVE server refuses clients when no ZAP handler answers (without
// it, it would admit every client that knows its public key).
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

namespace ee {

namespace {

constexpr int read_budget = 1024;

} // namespace

zap_handler::zap_handler(zmq::context_t& ctx)
    : socket_(ctx, zmq::socket_type::router) {
  // nop
}

expected<std::unique_ptr<zap_handler>> zap_handler::open(zmq::context_t& ctx) {
  std::unique_ptr<zap_handler> h{new zap_handler(ctx)};
  try {
    h->socket_.set(zmq::sockopt::linger, 0);
    // Every handshake waits for its answer: never drop a request.
    h->socket_.set(zmq::sockopt::rcvhwm, 0);
    h->socket_.set(zmq::sockopt::sndhwm, 0);
    h->socket_.bind(endpoint);
  } catch (const zmq::error_t& e) {
    return error{ec::internal, std::string{"cannot start the ZAP handler ("} +
                                   endpoint + "): " + e.what()};
  }
  return h;
}

void zap_handler::read(refusal_log& log, clock_type::time_point now) {
  for (int n = 0; n < read_budget; ++n) {
    std::vector<zmq::message_t> frames;
    if (!zmq::recv_multipart(socket_, std::back_inserter(frames),
                             zmq::recv_flags::dontwait))
      return;
    // [routing id..., "", version, request id, domain, address, identity,
    //  mechanism, credentials...]
    std::size_t delim = 0;
    while (delim < frames.size() && frames[delim].size() != 0)
      ++delim;
    if (delim == frames.size()) {
      ee::log(log_level::error, "security: a ZAP request without envelope "
                                "delimiter was ignored");
      continue;
    }
    auto body = delim + 1;
    auto field = [&](std::size_t i) -> std::string_view {
      return body + i < frames.size() ? frames[body + i].to_string_view()
                                      : std::string_view{};
    };
    auto version = field(0);
    zap_policy::verdict v;
    if (frames.size() < body + 6 || version != "1.0") {
      v.status = "500";
      v.text = "malformed ZAP request";
      v.reason = "a malformed ZAP request (version '" + std::string{version} +
                 "', " + std::to_string(frames.size() - body) +
                 " frames) was refused";
      ee::log(log_level::error, "security: " + v.reason);
    } else {
      v = policy_.decide(field(2), field(3), field(5), field(6));
    }
    std::vector<zmq::message_t> reply;
    for (std::size_t i = 0; i < body; ++i)
      reply.emplace_back(frames[i].data(), frames[i].size());
    auto add = [&](std::string_view s) {
      reply.emplace_back(s.data(), s.size());
    };
    add("1.0");
    add(field(1)); // the request id
    add(v.status);
    add(v.text);
    add(""); // user id
    add(""); // metadata
    if (v.allowed) {
      ++allowed_;
    } else {
      ++refused_;
      if (v.status == "400")
        log.refused(v.reason, now);
    }
    try {
      zmq::send_multipart(socket_, reply, zmq::send_flags::dontwait);
    } catch (const zmq::error_t&) {
      // The connection under handshake is gone: nobody waits for it.
    }
  }
}

void make_curve_server(zmq::socket_t& sock, const std::string& secret_key,
                       const std::string& domain) {
  sock.set(zmq::sockopt::curve_server, 1);
  sock.set(zmq::sockopt::curve_secretkey, zmq::buffer(secret_key));
  sock.set(zmq::sockopt::zap_domain, domain);
  sock.set(zmq::sockopt::handshake_ivl, handshake_timeout_ms);
  int one = 1;
  // Not fatal where unsupported: the handler is bound before any port and
  // closed after all of them, so no handshake finds it missing.
  (void)zmq_setsockopt(sock.handle(), ZMQ_ZAP_ENFORCE_DOMAIN, &one,
                       sizeof(one));
}

} // namespace ee
