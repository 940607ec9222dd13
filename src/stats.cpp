#include "ee/stats.hpp"

#include "util/text.hpp"

namespace ee {

namespace {

using json = nlohmann::ordered_json;

// One member per entry of a counter list of `ee/stats.hpp`.
template <class Stats, std::size_t N>
void add_fields(json& out, const stat_field<Stats> (&fields)[N],
                const Stats& x) {
  for (auto& f : fields)
    out[f.key] = x.*f.member;
}

json to_object(const subscriber_stats& x) {
  json out{{"kind", x.kind}};
  add_fields(out, plugin_fields, x);
  return out;
}

json to_object(const type_stats& x) {
  auto out = json::object();
  add_fields(out, type_fields, x);
  return out;
}

json to_object(const federation_peer_stats& x) {
  json out{{"state", x.up != 0 ? "up" : "down"}};
  add_fields(out, peer_fields, x);
  out.erase("up"); // said by "state"
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
  add_fields(out, engine_fields, st);
  out["plugins"] = to_object(st.plugins);
  out["types"] = to_object(st.types);
  if (!st.federation.name.empty()) {
    json fed{{"name", st.federation.name}};
    add_fields(fed, federation_fields, st.federation);
    fed["peers"] = to_object(st.federation.peers);
    out["federation"] = std::move(fed);
  }
  return util::to_json_text(out);
}

} // namespace ee
