#include "bridge/address.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <zmq.hpp>

namespace ee::address {

std::string plain(const std::string& address) {
  std::string addr = address;
  if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
    addr = addr.substr(1, addr.size() - 2);
  if (addr == "localhost")
    addr = "127.0.0.1";
  return addr;
}

bool is_ipv6(const std::string& address) {
  return plain(address).find(':') != std::string::npos;
}

bool is_loopback(const std::string& address) {
  auto a = plain(address);
  if (a == "lo")
    return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, a.c_str(), &v4) == 1)
    return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6))
      return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

std::string tcp_endpoint(const std::string& address, int port) {
  auto addr = plain(address);
  if (addr == "0.0.0.0")
    addr = "*";
  if (is_ipv6(address))
    addr = "[" + addr + "]";
  return "tcp://" + addr + ":" + std::to_string(port);
}

std::string connect_host(const std::string& bind_address) {
  auto a = plain(bind_address);
  if (a == "*" || a == "0.0.0.0")
    return "127.0.0.1";
  if (a == "::")
    return "[::1]";
  if (is_ipv6(a))
    return "[" + a + "]";
  return a;
}

error bind(zmq::socket_t& sock, const std::string& address, int port,
           const std::string& who) {
  auto ep = tcp_endpoint(address, port);
  try {
    sock.set(zmq::sockopt::ipv6, is_ipv6(address) ? 1 : 0);
    sock.bind(ep);
    return {};
  } catch (const zmq::error_t& e) {
    std::string fix;
    if (e.num() == EADDRINUSE)
      fix = ": the port is in use by another program; pick another port "
            "(or 0 for any free port)";
    else if (e.num() == EACCES)
      fix = ": no permission (ports below 1024 need privileges)";
    else
      fix = ": check bind_address '" + address + "'";
    return error{ec::bind_failed, "cannot bind " + who + " to " + ep + " (" +
                                      e.what() + ")" + fix};
  }
}

int bound_port(zmq::socket_t& sock) {
  auto ep = sock.get(zmq::sockopt::last_endpoint);
  auto colon = ep.rfind(':');
  if (colon == std::string::npos)
    return -1;
  try {
    return std::stoi(ep.substr(colon + 1));
  } catch (const std::exception&) {
    return -1;
  }
}

} // namespace ee::address
