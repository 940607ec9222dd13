#include "host/port_probe.hpp"

#include <set>

#include <zmq.hpp>

#include "bridge/address.hpp"

namespace ee::host {

namespace {

// @returns the error of binding `port` on `address` now, if any.
error try_bind(zmq::context_t& ctx, const std::string& address, int port,
               const std::string& who) {
  zmq::socket_t sock{ctx, zmq::socket_type::router};
  sock.set(zmq::sockopt::linger, 0);
  return address::bind(sock, address, port, who);
}

// The federation's listen port, if it names a numeric IPv4 host and a port
// (other forms are left to the start: CAF resolves them itself).
void probe_federation(zmq::context_t& ctx, const app_description& d,
                      std::vector<diagnostic>& out) {
  auto& listen = d.config.federation.listen;
  auto colon = listen.rfind(':');
  if (!d.config.federation.enabled() || colon == std::string::npos)
    return;
  auto host = listen.substr(0, colon);
  auto digits = listen.substr(colon + 1);
  if (host.empty() || digits.empty() || digits.size() > 5 ||
      host.find_first_not_of("0123456789.") != std::string::npos ||
      digits.find_first_not_of("0123456789") != std::string::npos)
    return;
  auto port = std::stoi(digits);
  if (port <= 0 || port > 65535)
    return;
  if (auto err = try_bind(ctx, host, port, "the federation's listen port"))
    out.push_back(diagnostic{severity::error, d.position("federation.listen"),
                             err.message()});
}

} // namespace

std::vector<diagnostic> probe_ports(const app_description& d) {
  std::vector<diagnostic> result;
  auto& cfg = d.config;
  zmq::context_t ctx{1};
  probe_federation(ctx, d, result);
  if ((!cfg.enable_tcp && d.plugins.empty()) || cfg.bind_address.empty())
    return result;
  auto fail = [&](const std::string& key, const error& err) {
    result.push_back(
        diagnostic{severity::error, d.position(key), err.message()});
  };
  if (auto err = try_bind(ctx, cfg.bind_address, 0, "the engine's ports")) {
    fail("engine.bind_address", err);
    return result;
  }
  // Each port once: a second claim is a validation error, and libzmq
  // closes a listener asynchronously (the context's end waits for it).
  std::set<int> probed;
  auto probe = [&](int port, const std::string& key, const std::string& who) {
    if (port <= 0 || port > 65535 || !probed.insert(port).second)
      return; // 0: any free port; out of range: reported by validation
    if (auto err = try_bind(ctx, cfg.bind_address, port, who))
      fail(key, err);
  };
  if (cfg.enable_tcp) {
    probe(cfg.publish_port, "engine.publish_port", "the publish port");
    probe(cfg.subscribe_port, "engine.subscribe_port", "the subscribe port");
  }
  for (auto& p : d.plugins)
    probe(p.port, "plugin." + p.name + ".port",
          "the command port of external plugin '" + p.name + "'");
  return result;
}

} // namespace ee::host
