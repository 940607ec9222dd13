#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>

#include <zmq.hpp>

#include "host/commands.hpp"
#include "host/wire.hpp"
#include "util/text.hpp"

namespace ee::host {

namespace {

// The events to publish, in order, without the type's prefix.
std::optional<std::vector<std::string>> read_events(const pub_options& opts) {
  std::vector<std::string> events;
  if (!opts.file.empty()) {
    std::ifstream in{opts.file, std::ios::binary};
    if (!in) {
      std::cerr << "event-engine pub: cannot read '" << opts.file << "'\n";
      return std::nullopt;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    events.push_back(buf.str());
  } else if (!opts.data.empty()) {
    events.push_back(util::join(opts.data, " "));
  } else {
    std::string line;
    while (std::getline(std::cin, line))
      events.push_back(line);
  }
  if (opts.hex) {
    for (auto& ev : events) {
      auto bytes = util::from_hex(ev);
      if (!bytes) {
        std::cerr << "event-engine pub: " << bytes.error().message() << '\n';
        return std::nullopt;
      }
      ev = std::move(*bytes);
    }
  }
  return events;
}

// @returns the prefix of `--type` (empty without it), or nothing after an
// error (printed).
std::optional<std::string> type_prefix(const pub_options& opts,
                                       const std::vector<event_type>& types) {
  if (opts.type.empty())
    return std::string{};
  if (opts.engine.app.empty()) {
    std::cerr << "event-engine pub: --type needs --app APP.toml (the "
                 "file whose [types] defines it)\n";
    return std::nullopt;
  }
  auto i = std::find_if(types.begin(), types.end(),
                        [&](auto& t) { return t.name() == opts.type; });
  if (i != types.end())
    return i->filter();
  std::vector<std::string> names;
  for (auto& t : types)
    names.push_back(t.name());
  std::cerr << "event-engine pub: " << opts.engine.app << " defines no type '"
            << opts.type << "'";
  auto guess = util::closest(opts.type, names);
  if (!guess.empty())
    std::cerr << "; did you mean '" << guess << "'?";
  std::cerr << " (types: " << util::join(names) << ")\n";
  return std::nullopt;
}

// Waits until the engine's subscription arrives on `xpub` (from then on
// nothing is dropped). @returns exit_ok, or the exit code after an error
// (printed).
int await_subscription(zmq::socket_t& xpub, handshake_watch& watch,
                       const std::string& ep, double timeout_s) {
  zmq::pollitem_t items[] = {{xpub.handle(), 0, ZMQ_POLLIN, 0},
                             {watch.monitor().handle(), 0, ZMQ_POLLIN, 0}};
  auto deadline =
      std::chrono::steady_clock::now() +
      std::chrono::milliseconds{static_cast<long long>(timeout_s * 1000)};
  while (std::chrono::steady_clock::now() < deadline) {
    if (zmq::poll(items, 2, std::chrono::milliseconds{50}) == 0)
      continue;
    if (auto why = watch.failure()) {
      std::cerr << "event-engine pub: " << ep << ": " << *why << '\n';
      return exit_failed;
    }
    zmq::message_t msg;
    if (xpub.recv(msg, zmq::recv_flags::dontwait) && msg.size() > 0 &&
        msg.data<unsigned char>()[0] == 1)
      return exit_ok;
  }
  std::cerr << "event-engine pub: no engine subscribed at " << ep << " within "
            << timeout_s
            << " s: is `event-engine run` running, with this publish port?\n";
  return exit_failed;
}

} // namespace

int pub_command(pub_options opts) {
  if (!opts.file.empty() && !opts.data.empty()) {
    std::cerr << "event-engine pub: give the event as arguments or as "
                 "--file, not both\n";
    return exit_usage;
  }
  auto types = resolve_target(opts.engine, false, "pub");
  if (!types)
    return exit_usage;
  auto prefix = type_prefix(opts, *types);
  if (!prefix)
    return exit_usage;
  auto events = read_events(opts);
  if (!events || !port_known(opts.engine, "pub"))
    return exit_usage;
  auto timeout =
      std::chrono::milliseconds{static_cast<long long>(opts.timeout * 1000)};
  auto ep = endpoint(opts.engine.host, opts.engine.port);
  zmq::context_t ctx;
  // An XPUB socket, not PUB: it receives the engine's subscription, so pub
  // knows when events are no longer dropped (ZeroMQ's slow joiner), and
  // with XPUB_NODROP a full pipe blocks instead of dropping.
  zmq::socket_t xpub{ctx, zmq::socket_type::xpub};
  xpub.set(zmq::sockopt::xpub_nodrop, 1);
  xpub.set(zmq::sockopt::sndtimeo, static_cast<int>(timeout.count()));
  xpub.set(zmq::sockopt::linger, static_cast<int>(timeout.count()));
  bool curve = false;
  if (!setup_curve(xpub, opts.engine.curve, "pub", curve))
    return exit_usage;
  handshake_watch watch{ctx, xpub, curve};
  if (!connect(xpub, ep, "pub"))
    return exit_usage;
  if (auto rc = await_subscription(xpub, watch, ep, opts.timeout);
      rc != exit_ok)
    return rc;
  std::size_t sent = 0;
  for (auto& ev : *events) {
    std::string bytes = *prefix + ev;
    if (!xpub.send(zmq::buffer(bytes), zmq::send_flags::none)) {
      std::cerr << "event-engine pub: the engine did not take event "
                << sent + 1 << " within " << opts.timeout << " s\n";
      return exit_failed;
    }
    ++sent;
  }
  // Closing waits (up to the linger time) until ZeroMQ has written every
  // event to the connection.
  xpub.close();
  watch.monitor().close(); // (the context waits for every socket)
  ctx.close();
  std::cerr << "event-engine pub: published " << sent
            << (sent == 1 ? " event" : " events") << " to " << ep << '\n';
  return exit_ok;
}

} // namespace ee::host
