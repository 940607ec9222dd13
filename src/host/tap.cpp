#include <algorithm>
#include <chrono>
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

// Text with its line breaks written as \n (the engine's own events carry
// them: ee.stats, dead letters), so that each event stays on one line.
std::string one_line(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out;
}

// @returns true if `data` is text: printable, line breaks allowed.
bool is_text(std::string_view data) {
  std::string flat{data};
  std::replace(flat.begin(), flat.end(), '\n', ' ');
  std::replace(flat.begin(), flat.end(), '\r', ' ');
  return util::is_printable(flat);
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
  bool text = is_text(data);
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
      line += "  " + (text ? one_line(data) : "hex:" + util::to_hex(data));
  }
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

// The filters of `opts`, resolved by `types`. @returns nothing after an
// error (printed).
std::optional<std::vector<filter>>
make_filters(const tap_options& opts, const std::vector<event_type>& types) {
  std::vector<filter> filters;
  std::vector<std::string> names;
  for (auto& t : types)
    names.push_back(t.name());
  for (auto& text : opts.filters) {
    auto bytes = resolve_prefix(text, types);
    if (!bytes)
      return std::nullopt;
    bool named = std::find(names.begin(), names.end(), text) != names.end();
    if (!opts.engine.app.empty() && text.rfind("hex:", 0) != 0 && !named) {
      std::cerr << "event-engine tap: '" << text << "' is not a type of "
                << opts.engine.app;
      auto guess = util::closest(text, names);
      if (!guess.empty())
        std::cerr << "; did you mean '" << guess << "'?";
      std::cerr << " Using it as a literal prefix\n";
    }
    filters.push_back(filter{text, *bytes});
  }
  if (filters.empty())
    filters.push_back(filter{"", ""});
  return filters;
}

// Waits for the engine's handshake, up to the timeout. @returns false after
// saying why not.
bool wait_connected(const tap_options& opts, handshake_watch& watch,
                    const std::string& ep, bool curve) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration<double>(opts.timeout);
  while (!watch.connected()) {
    if (stop_requested)
      return false;
    if (std::chrono::steady_clock::now() >= deadline) {
      std::cerr << "event-engine tap: no engine at " << opts.engine.host << ":"
                << opts.engine.port << " within " << opts.timeout
                << " s: is `event-engine run` running, with this subscribe "
                   "port?\n";
      return false;
    }
    zmq::pollitem_t items[] = {{watch.monitor().handle(), 0, ZMQ_POLLIN, 0}};
    try {
      zmq::poll(items, 1, std::chrono::milliseconds{100});
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR)
        throw;
    }
    if (auto why = watch.failure()) {
      std::cerr << "event-engine tap: " << ep << ": " << *why << '\n';
      return false;
    }
  }
  std::cerr << "event-engine tap: connected; listening on " << ep
            << (curve ? " (CURVE)" : "") << std::endl;
  return true;
}

} // namespace

int tap_command(tap_options opts) {
  auto types = resolve_target(opts.engine, true, "tap");
  if (!types)
    return exit_usage;
  auto filters = make_filters(opts, *types);
  if (!filters || !port_known(opts.engine, "tap"))
    return exit_usage;
  stop_on_signals();
  zmq::context_t ctx;
  zmq::socket_t sub{ctx, zmq::socket_type::sub};
  sub.set(zmq::sockopt::linger, 0);
  for (auto& f : *filters)
    sub.set(zmq::sockopt::subscribe, f.bytes);
  bool curve = false;
  if (!setup_curve(sub, opts.engine.curve, "tap", curve))
    return exit_usage;
  handshake_watch watch{ctx, sub, curve};
  auto ep = endpoint(opts.engine.host, opts.engine.port);
  if (!connect(sub, ep, "tap"))
    return exit_usage;
  std::cerr << "event-engine tap: connecting to " << ep << std::endl;
  if (!wait_connected(opts, watch, ep, curve))
    return stop_requested ? exit_ok : exit_failed;
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
      print_event(opts, msg.to_string_view(), *types, *filters);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR)
        throw;
    }
  }
  return exit_ok;
}

} // namespace ee::host
