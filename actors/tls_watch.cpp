#include "actors/tls_watch.hpp"

#include <deque>
#include <dlfcn.h>
#include <mutex>
#include <unordered_map>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>

namespace ee::federation {

namespace {

constexpr std::size_t max_kept = 64;

std::mutex mtx;
std::deque<tls_failure> failures; // guarded by mtx
std::uint64_t lost = 0;           // guarded by mtx
// Peers of handshakes in progress: after a failure the socket may be
// closed already, so the address is taken at the first step.
std::unordered_map<const SSL*, std::string> peers; // guarded by mtx

std::string peer_of(SSL* ssl) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  auto fd = SSL_get_fd(ssl);
  if (fd < 0 || ::getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
    return unknown_tls_peer;
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (sa.ss_family == AF_INET) {
    auto in = reinterpret_cast<sockaddr_in*>(&sa);
    ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
    return std::string{host} + ":" + std::to_string(port);
  }
  auto in6 = reinterpret_cast<sockaddr_in6*>(&sa);
  ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
  port = ntohs(in6->sin6_port);
  return "[" + std::string{host} + "]:" + std::to_string(port);
}

std::string reason_of(SSL* ssl, int err) {
  auto verify = SSL_get_verify_result(ssl);
  auto code = ERR_peek_last_error();
  std::string text = code != 0 ? ERR_reason_error_string(code) : "";
  if (text.empty())
    text = err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN
               ? "the connection closed in the handshake"
               : "handshake failed";
  if (verify != X509_V_OK)
    text += std::string{": "} + X509_verify_cert_error_string(verify);
  if (text.find("wrong version number") != std::string::npos ||
      text.find("packet length too long") != std::string::npos ||
      text.find("http request") != std::string::npos)
    text += " (the peer does not use TLS)";
  return text;
}

// Looks at one handshake step's result; only failures are kept.
void watch(SSL* ssl, int rc, bool accepting) {
  auto err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(ssl, rc);
  bool pending = err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE;
  std::lock_guard<std::mutex> guard{mtx};
  auto i = peers.find(ssl);
  if (pending) {
    if (i == peers.end()) {
      if (peers.size() >= 1024) // sessions destroyed mid-handshake
        peers.clear();
      peers.emplace(ssl, peer_of(ssl));
    }
    return;
  }
  std::string peer;
  if (i != peers.end()) {
    peer = std::move(i->second);
    peers.erase(i);
  }
  if (rc == 1)
    return;
  if (peer.empty())
    peer = peer_of(ssl);
  tls_failure f{std::move(peer), reason_of(ssl, err), accepting};
  if (failures.size() >= max_kept) {
    failures.pop_front();
    ++lost;
  }
  failures.push_back(std::move(f));
}

template <class Fn>
Fn real(const char* name) {
  return reinterpret_cast<Fn>(::dlsym(RTLD_NEXT, name));
}

} // namespace

std::vector<tls_failure> take_tls_failures(std::uint64_t& dropped) {
  std::lock_guard<std::mutex> guard{mtx};
  std::vector<tls_failure> out{failures.begin(), failures.end()};
  failures.clear();
  dropped = lost;
  lost = 0;
  return out;
}

} // namespace ee::federation

// The wrappers. They change nothing about the handshake.
extern "C" int SSL_accept(SSL* ssl) {
  using fn = int (*)(SSL*);
  static fn next = ee::federation::real<fn>("SSL_accept");
  auto rc = next(ssl);
  ee::federation::watch(ssl, rc, true);
  return rc;
}

extern "C" int SSL_connect(SSL* ssl) {
  using fn = int (*)(SSL*);
  static fn next = ee::federation::real<fn>("SSL_connect");
  auto rc = next(ssl);
  ee::federation::watch(ssl, rc, false);
  return rc;
}
