#pragma once

#include <string>

#include "ee/error.hpp"

namespace zmq {
class socket_t;
} // namespace zmq

namespace ee::address {

/// @returns `address` without IPv6 brackets; `"localhost"` becomes the IPv4
/// loopback.
std::string plain(const std::string& address);

/// @returns true if `address` is an IPv6 address.
bool is_ipv6(const std::string& address);

/// @returns true if `address` is a loopback address (127.0.0.0/8, ::1, an
/// IPv4-mapped loopback, `localhost` or the interface `lo`): only processes
/// on this host can reach it.
bool is_loopback(const std::string& address);

/// @returns the ZeroMQ endpoint `tcp://address:port` (`0.0.0.0` becomes `*`,
/// IPv6 addresses get brackets).
std::string tcp_endpoint(const std::string& address, int port);

/// @returns the host a launched process connects to when the engine binds
/// `bind_address` (a wildcard becomes the loopback).
std::string connect_host(const std::string& bind_address);

/// Binds `sock` to `tcp_endpoint(address, port)`. @returns an error that
/// names `who`, the endpoint and the fix on failure.
[[nodiscard]] error bind(zmq::socket_t& sock, const std::string& address,
                         int port, const std::string& who);

/// @returns the TCP port `sock` is bound to, or -1.
int bound_port(zmq::socket_t& sock);

} // namespace ee::address
