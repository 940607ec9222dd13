#include "host/wire.hpp"

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "bridge/curve_keys.hpp"
#include "bridge/monitor_event.hpp"
#include "ee/config_file.hpp"
#include "ee/engine_events.hpp"
#include "host/commands.hpp"
#include "util/text.hpp"

namespace ee::host {

std::atomic<bool> stop_requested{false};

namespace {

extern "C" void ee_host_on_signal(int) {
  stop_requested = true;
}

} // namespace

std::string endpoint(const std::string& host, int port) {
  return "tcp://" + host + ":" + std::to_string(port);
}

bool connect(zmq::socket_t& socket, const std::string& ep,
             const char* command) {
  try {
    socket.connect(ep);
    return true;
  } catch (const zmq::error_t& e) {
    std::cerr << "event-engine " << command << ": cannot connect to " << ep
              << ": " << e.what() << '\n';
    return false;
  }
}

std::optional<std::string>
resolve_prefix(const std::string& text, const std::vector<event_type>& types) {
  for (auto& t : types)
    if (t.name() == text)
      return t.filter();
  if (text.rfind("hex:", 0) == 0) {
    auto bytes = util::from_hex(std::string_view{text}.substr(4));
    if (!bytes) {
      std::cerr << "event-engine: " << bytes.error().message() << '\n';
      return std::nullopt;
    }
    return *bytes;
  }
  return text;
}

const event_type* type_of(std::string_view bytes,
                          const std::vector<event_type>& types) {
  const event_type* best = nullptr;
  for (auto& t : types)
    if (bytes.substr(0, t.filter().size()) == t.filter() &&
        (!best || t.filter().size() > best->filter().size()))
      best = &t;
  return best;
}

std::string timestamp(bool utc) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  auto secs = system_clock::to_time_t(now);
  std::tm tm{};
  if (utc)
    ::gmtime_r(&secs, &tm);
  else
    ::localtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf),
                utc ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
  char frac[8];
  std::snprintf(frac, sizeof(frac), ".%03d", static_cast<int>(ms));
  return std::string{buf} + frac + (utc ? "Z" : "");
}

namespace {

// The engine's public certificate: NAME.key beside NAME.key_secret, else
// the secret one (only its public key is read).
std::string public_key_file(const security_config& sec) {
  auto& file = sec.secret_key_file;
  const std::string suffix = "_secret";
  std::error_code code;
  if (file.size() > suffix.size() &&
      file.compare(file.size() - suffix.size(), suffix.size(), suffix) == 0) {
    auto pub = file.substr(0, file.size() - suffix.size());
    if (std::filesystem::is_regular_file(pub, code))
      return pub;
  }
  return file;
}

} // namespace

std::optional<std::vector<event_type>>
resolve_target(engine_target& target, bool subscribe, const char* command) {
  std::vector<event_type> types;
  app_config defaults;
  if (!target.app.empty()) {
    auto report = read_config_file(target.app);
    if (!report.ok()) {
      print_diagnostics(report.diagnostics);
      return std::nullopt;
    }
    auto& d = report.description;
    types = d.types;
    std::vector<std::string> taken;
    if (target.port < 0) {
      target.port = subscribe ? d.config.subscribe_port : d.config.publish_port;
      if (target.port != 0) // 0: see port_known
        taken.push_back((subscribe ? "subscribe port " : "publish port ") +
                        std::to_string(target.port));
    }
    auto& bind = d.config.bind_address;
    if (target.host.empty() && bind != "*" && bind != "0.0.0.0") {
      target.host = bind;
      taken.push_back("host " + bind);
    }
    auto& sec = d.config.security;
    if (sec.curve && !sec.secret_key_file.empty() &&
        target.curve.server_key.empty() &&
        !std::getenv("EE_CURVE_SERVER_KEY")) {
      target.curve.server_key = public_key_file(sec);
      taken.push_back("the engine's public key " + target.curve.server_key);
    }
    if (!taken.empty())
      std::cerr << "event-engine " << command << ": " << util::join(taken)
                << " from " << target.app << std::endl;
  }
  if (target.host.empty())
    target.host = "127.0.0.1";
  if (target.port < 0)
    target.port = subscribe ? defaults.subscribe_port : defaults.publish_port;
  auto& own = engine_event_types();
  types.insert(types.end(), own.begin(), own.end());
  return types;
}

bool port_known(const engine_target& target, const char* command) {
  if (target.port != 0)
    return true;
  std::cerr << "event-engine " << command << ": " << target.app
            << " picks a free port at each run: give --port (the ready line "
               "of `event-engine run` names it)\n";
  return false;
}

bool setup_curve(zmq::socket_t& socket, const curve_options& opts,
                 const char* command, bool& curve) {
  curve = false;
  auto from_env = [](const std::string& given, const char* var) {
    if (!given.empty())
      return given;
    auto v = std::getenv(var);
    return v ? std::string{v} : std::string{};
  };
  auto server = from_env(opts.server_key, "EE_CURVE_SERVER_KEY");
  auto client = from_env(opts.client_key, "EE_CURVE_CLIENT_KEY_FILE");
  auto fail = [&](const std::string& text) {
    std::cerr << "event-engine " << command << ": " << text << '\n';
    return false;
  };
  if (server.empty() && client.empty())
    return true;
  if (server.empty())
    return fail("a client key without the engine's public key: give "
                "--server-key (the engine's NAME.key or its Z85 key)");
  if (client.empty())
    return fail("the engine's public key without a key pair of this "
                "client: give --client-key NAME.key_secret (write one with "
                "`event-engine keygen NAME`)");
  std::string server_z85 = server;
  std::error_code code;
  if (std::filesystem::exists(server, code)) {
    auto cert = curve::load(server, false);
    if (!cert)
      return fail("--server-key: " + cert.error().message());
    server_z85 = cert->public_key;
  } else if (auto bytes = curve::decode(server, "--server-key"); !bytes) {
    return fail(bytes.error().message() +
                " (nor is it a certificate file that exists)");
  }
  auto mine = curve::load(client, true);
  if (!mine)
    return fail("--client-key: " + mine.error().message());
  socket.set(zmq::sockopt::curve_serverkey, server_z85);
  socket.set(zmq::sockopt::curve_publickey, mine->public_key);
  socket.set(zmq::sockopt::curve_secretkey, mine->secret_key);
  curve = true;
  return true;
}

handshake_watch::handshake_watch(zmq::context_t& ctx, zmq::socket_t& socket,
                                 bool curve)
    : monitor_(ctx, zmq::socket_type::pair), curve_(curve) {
  auto ep = "inproc://ee-host-monitor-" +
            std::to_string(reinterpret_cast<std::uintptr_t>(this));
  zmq_socket_monitor(socket.handle(), ep.c_str(),
                     ZMQ_EVENT_HANDSHAKE_SUCCEEDED |
                         ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                         ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL);
  monitor_.set(zmq::sockopt::linger, 0);
  monitor_.connect(ep);
}

std::optional<std::string> handshake_watch::failure() {
  while (auto ev = next_monitor_event(monitor_)) {
    auto what = ev->id;
    auto value = ev->value;
    if (what == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      failures_ = 0;
      connected_ = true;
    } else if (what == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
      return "the engine refused this client's key (status " +
             std::to_string(value) +
             "): its public key is not on the engine's allow-list for this "
             "port; add its NAME.key there (allowed_clients_dir)";
    } else if (what == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
               value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
      return curve_ ? std::string{"the engine does not use CURVE: leave out "
                                  "--server-key and --client-key (and unset "
                                  "EE_CURVE_SERVER_KEY)"}
                    : std::string{"the engine requires CURVE: give "
                                  "--server-key (the engine's public key) "
                                  "and --client-key (this client's "
                                  "NAME.key_secret)"};
    } else if (curve_ && ++failures_ >= 3) {
      return "the CURVE handshake failed " + std::to_string(failures_) +
             " times: most likely --server-key is not the engine's public key, "
             "or the engine does not use CURVE";
    }
  }
  return std::nullopt;
}

void stop_on_signals() {
  struct sigaction sa {};
  sa.sa_handler = ee_host_on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

} // namespace ee::host
