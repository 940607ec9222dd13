#pragma once

// Helpers for the CURVE tests of the bridge: a temporary folder for key
// files, clients with (or without) keys, and a bounded wait for the outcome
// of a client's handshake (its socket monitor).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "bridge/curve_keys.hpp"
#include "bridge/monitor_event.hpp"

namespace ee::test {

/// A fresh folder in the temp dir, removed with everything in it.
struct temp_dir {
  std::filesystem::path path;

  temp_dir() {
    auto base = std::filesystem::temp_directory_path() / "ee-curve-XXXXXX";
    std::string tmpl = base.string();
    path = ::mkdtemp(tmpl.data());
  }

  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }

  /// Writes `text` to `name` (sub folders are created). @returns its path.
  std::string write(const std::string& name, const std::string& text) {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream{p, std::ios::binary} << text;
    return p.string();
  }

  /// Writes NAME.key (and NAME.key_secret) for a new pair. @returns it.
  curve::certificate keys(const std::string& name) {
    auto pair = *curve::generate();
    write(name + ".key", curve::format(pair, false, "test"));
    write(name + ".key_secret", curve::format(pair, true, "test"));
    return pair;
  }
};

/// How a client's handshake ended.
enum class handshake { pending, succeeded, refused, failed };

/// A client socket with a monitor of its handshakes.
struct watched {
  zmq::socket_t sock;
  zmq::socket_t mon;

  /// Waits (bounded) for the next handshake outcome.
  handshake wait(std::chrono::milliseconds timeout = std::chrono::seconds{10}) {
    zmq::pollitem_t item{mon.handle(), 0, ZMQ_POLLIN, 0};
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0)
        return handshake::pending;
      zmq::poll(&item, 1, left);
      auto ev = next_monitor_event(mon);
      if (!ev)
        continue;
      auto what = ev->id;
      if (what == ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        return handshake::succeeded;
      if (what == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        return handshake::refused;
      if (what == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
          what == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        return handshake::failed;
    }
  }
};

/// A client of `type` on the loopback `port`: a CURVE client with `keys`
/// and the server's public key `server` (Z85) when `keys` is given, else a
/// plain-text one. Linger 0; monitored.
inline watched client(zmq::context_t& ctx, zmq::socket_type type, int port,
                      const curve::certificate* keys = nullptr,
                      const std::string& server = {}) {
  static std::atomic<int> counter{0};
  watched w{zmq::socket_t{ctx, type},
            zmq::socket_t{ctx, zmq::socket_type::pair}};
  w.sock.set(zmq::sockopt::linger, 0);
  if (keys != nullptr) {
    w.sock.set(zmq::sockopt::curve_serverkey, server);
    w.sock.set(zmq::sockopt::curve_publickey, keys->public_key);
    w.sock.set(zmq::sockopt::curve_secretkey, keys->secret_key);
  }
  auto ep = "inproc://ee-test-client-monitor-" + std::to_string(++counter);
  zmq_socket_monitor(w.sock.handle(), ep.c_str(),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
  w.mon.set(zmq::sockopt::linger, 0);
  w.mon.connect(ep);
  w.sock.connect("tcp://127.0.0.1:" + std::to_string(port));
  return w;
}

} // namespace ee::test
