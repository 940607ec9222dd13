#include "config/loader.hpp"

#include <algorithm>
#include <cstdint>

namespace ee::config {

namespace {

// Most warnings about types whose prefixes overlap (see type_warnings).
constexpr std::size_t max_type_warnings = 100;

// A prefix for messages: "TypeA" when printable, else hex.
std::string show_prefix(const std::string& bytes) {
  if (bytes.empty())
    return "\"\" (every event)";
  if (util::is_printable(bytes))
    return util::to_json_text(bytes);
  return "hex " + util::to_hex(bytes);
}

// @returns the code points of the UTF-8 text `utf8` as one byte each, if
// all are below 256 (what "\u00ff" was probably meant to say).
std::optional<std::string> latin1_of_utf8(const std::string& utf8) {
  std::string result;
  for (std::size_t i = 0; i < utf8.size(); ++i) {
    auto c = static_cast<unsigned char>(utf8[i]);
    if (c < 0x80) {
      result += static_cast<char>(c);
    } else if ((c == 0xc2 || c == 0xc3) && i + 1 < utf8.size()) {
      auto next = static_cast<unsigned char>(utf8[++i]);
      result += static_cast<char>(((c & 0x03) << 6) | (next & 0x3f));
    } else {
      return std::nullopt;
    }
  }
  return result;
}

} // namespace

std::optional<std::string> loader::literal(const toml::node& n,
                                           const std::string& what,
                                           bool allow_prefix_key) {
  if (auto arr = n.as_array()) {
    std::string bytes;
    for (auto& x : *arr) {
      auto i = x.as_integer(); // (not value<>(): see integer())
      if (!i || i->get() < 0 || i->get() > 255) {
        fail(x, what +
                    ": a byte must be an integer 0..255 (e.g. 0x80), "
                    "not " +
                    (i ? std::to_string(i->get()) : std::string{type_name(x)}));
        return std::nullopt;
      }
      bytes += static_cast<char>(i->get());
    }
    return bytes;
  }
  auto t = n.as_table();
  if (!t || t->size() != 1 ||
      !(t->get("hex") || (allow_prefix_key && t->get("prefix")))) {
    fail(n, what + " must be " +
                (allow_prefix_key
                     ? "a type name, { prefix = \"text\" }, { hex = \"0100\" "
                       "} or an array of bytes [1, 0]"
                     : "text (\"TypeA\"), { hex = \"0100\" } or an array "
                       "of bytes [1, 0]") +
                ", not " + type_name(n));
    return std::nullopt;
  }
  if (auto hex = t->get("hex")) {
    if (!hex->is_string()) {
      fail(*hex, what + ": hex must be a string of hex digits, e.g. "
                        "{ hex = \"01a0\" }");
      return std::nullopt;
    }
    auto bytes = util::from_hex(*hex->value<std::string>());
    if (!bytes) {
      fail(*hex, what + ": hex " + bytes.error().message());
      return std::nullopt;
    }
    return *bytes;
  }
  auto prefix = t->get("prefix");
  if (!prefix->is_string()) {
    fail(*prefix, what + ": prefix must be a string; for bytes write "
                         "{ hex = \"...\" }");
    return std::nullopt;
  }
  return *prefix->value<std::string>();
}

void loader::non_ascii_warning(const toml::node& n, const std::string& what,
                               const std::string& bytes) {
  if (std::all_of(bytes.begin(), bytes.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    return;
  std::string msg = what +
                    " is text with non-ASCII characters, which TOML "
                    "stores as UTF-8: its prefix is the bytes " +
                    util::to_hex(bytes) + "; to say the bytes, write { hex = " +
                    util::to_json_text(util::to_hex(bytes)) + " }";
  if (auto latin1 = latin1_of_utf8(bytes))
    msg += ", or { hex = " + util::to_json_text(util::to_hex(*latin1)) +
           " } for one byte per character";
  add(severity::warning, position(n.source()), msg);
}

void loader::types(const toml::table& t) {
  // toml++ keeps keys sorted: restore the file's order.
  std::vector<std::pair<const toml::key*, const toml::node*>> entries;
  for (auto& [k, v] : t)
    entries.emplace_back(&k, &v);
  std::sort(entries.begin(), entries.end(), [](auto& x, auto& y) {
    auto& a = x.first->source().begin;
    auto& b = y.first->source().begin;
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  auto& d = report_.description;
  for (auto& [k, v] : entries) {
    std::string name{k->str()};
    std::string what = "[types] " + name;
    std::optional<std::string> bytes;
    if (v->is_string())
      bytes = *v->value<std::string>();
    else
      bytes = literal(*v, what, false);
    if (bytes && bytes->empty())
      fail(*v, what + " has an empty prefix, which would match every "
                      "event; give it bytes, or subscribe with "
                      "{ prefix = \"\" } to receive everything");
    if (!bytes || bytes->empty()) {
      // Reported once here, not again by each subscription naming it.
      bad_types_.push_back(name);
      continue;
    }
    if (v->is_string())
      non_ascii_warning(*v, what, *bytes);
    d.positions["types." + name] = position(k->source());
    d.types.emplace_back(name, *bytes);
  }
  // The engine counts events by these types (engine_stats::types).
  d.config.event_types = d.types;
}

void loader::type_warnings() {
  auto& d = report_.description;
  auto& types = d.types;
  // By prefix (stable: in file order among equal prefixes): the types
  // whose prefixes start with a type's own come right after it, first
  // those with the same prefix (later in the file), then longer ones.
  std::vector<std::size_t> order(types.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](auto x, auto y) {
    return types[x].filter() < types[y].filter();
  });
  std::size_t shown = 0;
  std::uint64_t more = 0;
  std::optional<source_position> first_cut;
  std::vector<std::size_t> others;
  for (std::size_t k = 0; k < order.size(); ++k) {
    auto& a = types[order[k]];
    auto& f = a.filter();
    auto end = std::partition_point(
        order.begin() + k + 1, order.end(), [&](std::size_t i) {
          return types[i].filter().compare(0, f.size(), f) == 0;
        });
    auto count = static_cast<std::size_t>(end - (order.begin() + k + 1));
    if (count == 0)
      continue;
    auto where = d.position("types." + a.name());
    auto room = max_type_warnings - shown;
    if (count > room) {
      more += count - room;
      if (!first_cut)
        first_cut = where;
    }
    if (room == 0)
      continue;
    // The first `room` of them in file order.
    others.assign(order.begin() + k + 1, end);
    if (others.size() > room) {
      std::nth_element(others.begin(), others.begin() + room, others.end());
      others.resize(room);
    }
    std::sort(others.begin(), others.end());
    shown += others.size();
    for (auto i : others) {
      auto& b = types[i];
      if (f == b.filter())
        add(severity::warning, where,
            "types '" + a.name() + "' and '" + b.name() +
                "' have the same prefix " + show_prefix(f) +
                ": a subscriber of either receives both; give each type "
                "its own prefix");
      else
        add(severity::warning, where,
            "the prefix of type '" + a.name() + "' (" + show_prefix(f) +
                ") starts the prefix of type '" + b.name() + "' (" +
                show_prefix(b.filter()) + "): subscribers of '" + a.name() +
                "' also receive every '" + b.name() + "' event");
    }
  }
  if (more > 0)
    add(severity::warning, *first_cut,
        std::to_string(more) +
            " more pairs of types where one prefix starts the other "
            "(the first " +
            std::to_string(max_type_warnings) +
            " are listed): subscribers of such a type also receive the "
            "other's events; give each type a prefix of its own");
}

std::vector<event_type> loader::subscriptions(const toml::table& t,
                                              const std::string& section) {
  std::vector<event_type> result;
  auto n = t.get("subscriptions");
  if (!n)
    return result;
  auto arr = n->as_array();
  if (!arr) {
    fail(*n, section + " subscriptions must be an array, e.g. "
                       "subscriptions = [\"TypeA\", { hex = \"0100\" }]");
    return result;
  }
  auto& d = report_.description;
  for (auto& x : *arr) {
    std::string what = section + " subscription";
    if (x.is_string()) {
      auto text = *x.value<std::string>();
      if (!has_types_) {
        result.emplace_back(text);
        continue;
      }
      if (auto type = d.find_type(text)) {
        result.push_back(*type);
        continue;
      }
      if (contains(bad_types_, text))
        continue; // the type's own error says what is wrong
      std::vector<std::string> names;
      for (auto& ty : d.types)
        names.push_back(ty.name());
      std::string msg = what + " '" + text + "' names no type of [types]";
      auto guess = util::closest(text, names);
      if (!guess.empty())
        msg += "; did you mean '" + guess + "'?";
      else if (!names.empty())
        msg += " (" + util::join(names) + ").";
      else
        msg += ".";
      msg +=
          " For a literal prefix write { prefix = " + util::to_json_text(text) +
          " }";
      fail(x, msg);
      continue;
    }
    if (auto bytes = literal(x, what, true)) {
      std::string name = bytes->empty()               ? std::string{"*"}
                         : util::is_printable(*bytes) ? *bytes
                                                      : util::to_hex(*bytes);
      result.emplace_back(name, *bytes);
    }
  }
  return result;
}

} // namespace ee::config
