#include <algorithm>
#include <cstdio>
#include <iostream>

#include <zmq.hpp>

#include "host/commands.hpp"
#include "host/wire.hpp"
#include "util/text.hpp"

namespace ee::host {

namespace {

struct filter {
  std::string text; // as given
  std::string bytes;
};

// The column that names an event: its type, else the filter it matched.
std::string shown_filter(const filter& f) {
  if (f.bytes.empty())
    return "*";
  if (util::is_printable(f.bytes))
    return f.bytes;
  return "hex:" + util::to_hex(f.bytes);
}

const filter* filter_of(std::string_view bytes,
                        const std::vector<filter>& filters) {
  const filter* best = nullptr;
  for (auto& f : filters)
    if (bytes.substr(0, f.bytes.size()) == f.bytes &&
        (!best || f.bytes.size() > best->bytes.size()))
      best = &f;
  return best;
}

void print_event(const tap_options& opts, std::string_view bytes,
                 const std::vector<event_type>& types,
                 const std::vector<filter>& filters) {
  if (opts.raw) {
    std::fwrite(bytes.data(), 1, bytes.size(), stdout);
    std::fflush(stdout);
    return;
  }
  auto type = type_of(bytes, types);
  auto matched = filter_of(bytes, filters);
  std::string prefix = type ? type->filter() : matched ? matched->bytes : "";
  auto data = type ? bytes.substr(prefix.size()) : bytes;
  bool text = util::is_printable(data);
  std::string line;
  if (opts.json) {
    nlohmann::ordered_json obj{
        {"time", timestamp(true)},
        {"type", type ? nlohmann::ordered_json(type->name()) : nullptr},
        {"prefix", util::to_hex(prefix)},
        {"size", bytes.size()}};
    if (text)
      obj["text"] = std::string{data};
    else
      obj["hex"] = util::to_hex(data);
    line = util::to_json_text(obj);
  } else {
    line = timestamp(false) + "  " +
           (type      ? type->name()
            : matched ? shown_filter(*matched)
                      : "*") +
           "  " + std::to_string(bytes.size()) + " B";
    if (!data.empty())
      line += "  " + (text ? std::string{data} : "hex:" + util::to_hex(data));
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

} // namespace

int tap_command(const tap_options& opts) {
  std::vector<event_type> types;
  if (!opts.types.empty()) {
    auto loaded = load_types(opts.types);
    if (!loaded)
      return exit_usage;
    types = std::move(*loaded);
  }
  std::vector<filter> filters;
  for (auto& text : opts.filters) {
    auto bytes = resolve_prefix(text, types);
    if (!bytes)
      return exit_usage;
    if (!types.empty() && text.rfind("hex:", 0) != 0 && *bytes == text &&
        !std::any_of(types.begin(), types.end(),
                     [&](auto& t) { return t.name() == text; }))
      std::cerr << "event-engine tap: '" << text << "' is not a type of "
                << opts.types << "; using it as a literal prefix\n";
    filters.push_back(filter{text, *bytes});
  }
  if (filters.empty())
    filters.push_back(filter{"", ""});
  stop_on_signals();
  zmq::context_t ctx;
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  for (auto& f : filters)
    sub.set(zmq::sockopt::subscribe, f.bytes);
  bool curve = false;
  if (!setup_curve(sub, opts.curve, "tap", curve))
    return exit_usage;
  handshake_watch watch{ctx, sub, curve};
  auto ep = endpoint(opts.host, opts.port);
  if (!connect(sub, ep, "tap"))
    return exit_usage;
  std::cerr << "event-engine tap: listening on " << ep
            << (curve ? " (CURVE)" : "") << std::endl;
  std::size_t seen = 0;
  while (!stop_requested && (opts.count == 0 || seen < opts.count)) {
    zmq::pollitem_t items[] = {{sub.handle(), 0, ZMQ_POLLIN, 0},
                               {watch.monitor().handle(), 0, ZMQ_POLLIN, 0}};
    auto& item = items[0];
    try {
      if (zmq::poll(items, 2, std::chrono::milliseconds{100}) == 0)
        continue;
      if (auto why = watch.failure()) {
        std::cerr << "event-engine tap: " << ep << ": " << *why << '\n';
        return exit_failed;
      }
      if ((item.revents & ZMQ_POLLIN) == 0)
        continue;
      zmq::message_t msg;
      if (!sub.recv(msg, zmq::recv_flags::dontwait))
        continue;
      ++seen;
      print_event(opts, msg.to_string_view(), types, filters);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR)
        throw;
    }
  }
  return exit_ok;
}

} // namespace ee::host
