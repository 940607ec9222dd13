#include "ee/stats.hpp"

#include <initializer_list>
#include <utility>

#include "util/text.hpp"

namespace ee {

namespace {

using json = nlohmann::ordered_json;
using field = std::pair<const char*, std::uint64_t>;

void add_fields(json& out, std::initializer_list<field> fields) {
  for (auto& [name, value] : fields)
    out[name] = value;
}

json to_object(const subscriber_stats& x) {
  json out{{"kind", x.kind}};
  add_fields(out, {{"routed", x.routed},
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
  return out;
}

json to_object(const type_stats& x) {
  auto out = json::object();
  add_fields(out, {{"published", x.published},
                   {"routed", x.routed},
                   {"delivered", x.delivered},
                   {"handled", x.handled},
                   {"dead_letters", x.dead_letters},
                   {"dropped", x.dropped},
                   {"dropped_policy", x.dropped_policy},
                   {"dropped_cycle", x.dropped_cycle},
                   {"dropped_retired", x.dropped_retired},
                   {"queued", x.queued}});
  return out;
}

template <class Map>
json to_object(const Map& m) {
  auto out = json::object();
  for (auto& [key, value] : m)
    out[key] = to_object(value);
  return out;
}

} // namespace

std::string to_json(const engine_stats& st) {
  auto out = json::object();
  add_fields(out, {{"published", st.published},
                   {"system_events", st.system_events},
                   {"delivered", st.delivered},
                   {"dropped", st.dropped},
                   {"dead_letters", st.dead_letters},
                   {"unmatched", st.unmatched},
                   {"rejected", st.rejected},
                   {"raw_routed", st.raw_routed},
                   {"raw_dropped", st.raw_dropped},
                   {"raw_published", st.raw_published},
                   {"refused_connections", st.refused_connections}});
  out["plugins"] = to_object(st.plugins);
  out["types"] = to_object(st.types);
  return util::to_json_text(out);
}

} // namespace ee
