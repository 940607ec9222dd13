#include "ee/stats.hpp"

#include "util/text.hpp"

namespace ee {

namespace {

template <class Stats, std::size_t N>
void append_fields(std::string& out, const stat_field<Stats> (&fields)[N],
                   const Stats& x) {
  bool first = true;
  for (auto& f : fields) {
    if (!first)
      out += ',';
    first = false;
    out += '"';
    out += f.key;
    out += "\":";
    out += std::to_string(x.*f.member);
  }
}

void append(std::string& out, const subscriber_stats& x) {
  out += "{\"kind\":";
  out += util::json_string(x.kind);
  out += ',';
  append_fields(out, plugin_fields, x);
  out += '}';
}

void append(std::string& out, const type_stats& x) {
  out += '{';
  append_fields(out, type_fields, x);
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
  append_fields(out, engine_fields, st);
  append_map(out, "plugins", st.plugins);
  append_map(out, "types", st.types);
  out += '}';
  return out;
}

} // namespace ee
