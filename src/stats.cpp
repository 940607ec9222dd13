#include "ee/stats.hpp"

#include <initializer_list>
#include <utility>

#include "util/text.hpp"

namespace ee {

namespace {

using field = std::pair<const char*, std::uint64_t>;

void append_fields(std::string& out, std::initializer_list<field> fields) {
  bool first = true;
  for (auto& [name, value] : fields) {
    if (!first)
      out += ',';
    first = false;
    out += '"';
    out += name;
    out += "\":";
    out += std::to_string(value);
  }
}

void append(std::string& out, const subscriber_stats& x) {
  out += "{\"kind\":";
  out += util::json_string(x.kind);
  out += ',';
  append_fields(out, {{"routed", x.routed},
                      {"delivered", x.delivered},
                      {"handled", x.handled},
                      {"dropped", x.dropped},
                      {"dropped_policy", x.dropped_policy},
                      {"dropped_cycle", x.dropped_cycle},
                      {"dropped_retired", x.dropped_retired},
                      {"dead_letters", x.dead_letters},
                      {"redelivered", x.redelivered},
                      {"queued", x.queued},
                      {"queued_bytes", x.queued_bytes},
                      {"peak_queue", x.peak_queue},
                      {"peak_bytes", x.peak_bytes},
                      {"published", x.published},
                      {"credit_waits", x.credit_waits},
                      {"failures", x.failures},
                      {"restarts", x.restarts},
                      {"requests", x.requests},
                      {"round_trips", x.round_trips},
                      {"bad_requests", x.bad_requests},
                      {"disconnects", x.disconnects}});
  out += '}';
}

void append(std::string& out, const type_stats& x) {
  out += '{';
  append_fields(out, {{"published", x.published},
                      {"routed", x.routed},
                      {"delivered", x.delivered},
                      {"handled", x.handled},
                      {"dead_letters", x.dead_letters},
                      {"dropped", x.dropped},
                      {"dropped_policy", x.dropped_policy},
                      {"dropped_cycle", x.dropped_cycle},
                      {"dropped_retired", x.dropped_retired},
                      {"queued", x.queued}});
  out += '}';
}

template <class Map>
void append_map(std::string& out, const char* name, const Map& m) {
  out += ",\"";
  out += name;
  out += "\":{";
  bool first = true;
  for (auto& [key, value] : m) {
    if (!first)
      out += ',';
    first = false;
    out += util::json_string(key);
    out += ':';
    append(out, value);
  }
  out += '}';
}

} // namespace

std::string to_json(const engine_stats& st) {
  std::string out = "{";
  append_fields(out, {{"published", st.published},
                      {"system_events", st.system_events},
                      {"delivered", st.delivered},
                      {"dropped", st.dropped},
                      {"dead_letters", st.dead_letters},
                      {"unmatched", st.unmatched},
                      {"rejected", st.rejected},
                      {"raw_routed", st.raw_routed},
                      {"raw_dropped", st.raw_dropped},
                      {"raw_published", st.raw_published},
                      {"refused_connections", st.refused_connections},
                      {"refused_subscribers", st.refused_subscribers}});
  append_map(out, "plugins", st.plugins);
  append_map(out, "types", st.types);
  out += '}';
  return out;
}

} // namespace ee
