#include "ee/config_file.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <sstream>
#include <sys/stat.h>

#include <toml++/toml.h>

#include "bridge/address.hpp"
#include "bridge/curve_keys.hpp"
#include "bridge/process.hpp"
#include "ee/names.hpp"
#include "util/text.hpp"
#include "util/toml_guard.hpp"

namespace ee {

namespace {

// -- vocabulary
// -----------------------------------------------------------------

const std::vector<std::string> root_keys{"engine", "types", "plugin"};

const std::vector<std::string> engine_keys{"publish_port",
                                           "subscribe_port",
                                           "bind_address",
                                           "enable_tcp",
                                           "max_message_size",
                                           "queue_capacity",
                                           "queue_bytes",
                                           "delivery_window",
                                           "publish_window",
                                           "publish_window_bytes",
                                           "raw_subscriber_bytes",
                                           "strategy",
                                           "max_restarts",
                                           "restart_period_ms",
                                           "shutdown_grace_ms",
                                           "scheduler_threads",
                                           "stats_interval_ms",
                                           "log_level",
                                           "inherit_env",
                                           "security"};

const std::vector<std::string> security_keys{
    "curve", "secret_key_file", "allowed_clients_dir", "allowed_keys"};

// Keys of every [[plugin]], then those of one kind only.
const std::vector<std::string> common_plugin_keys{
    "name",           "subscriptions",  "restart",     "backoff_initial_ms",
    "backoff_max_ms", "queue_capacity", "queue_bytes", "overflow"};
const std::vector<std::string> external_only_keys{"port",
                                                  "command",
                                                  "env",
                                                  "working_dir",
                                                  "await_first_request",
                                                  "delivery",
                                                  "max_delivery_attempts",
                                                  "allowed_keys",
                                                  "client_key_file",
                                                  "stderr_level"};
const std::vector<std::string> library_only_keys{"library", "factory",
                                                 "config"};

constexpr long long max_size = 1LL << 40;

// Most warnings about types whose prefixes overlap (see type_warnings).
constexpr std::size_t max_type_warnings = 100;

std::vector<std::string> concat(const std::vector<std::string>& a,
                                const std::vector<std::string>& b) {
  auto result = a;
  result.insert(result.end(), b.begin(), b.end());
  return result;
}

bool contains(const std::vector<std::string>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

const char* type_name(const toml::node& n) {
  switch (n.type()) {
  case toml::node_type::table:
    return "a table";
  case toml::node_type::array:
    return "an array";
  case toml::node_type::string:
    return "a string";
  case toml::node_type::integer:
    return "an integer";
  case toml::node_type::floating_point:
    return "a float";
  case toml::node_type::boolean:
    return "a boolean";
  case toml::node_type::date:
  case toml::node_type::time:
  case toml::node_type::date_time:
    return "a date/time";
  default:
    return "nothing";
  }
}

// A prefix for messages: "TypeA" when printable, else hex.
std::string show_prefix(const std::string& bytes) {
  if (bytes.empty())
    return "\"\" (every event)";
  if (util::is_printable(bytes))
    return util::to_json_text(bytes);
  return "hex " + util::to_hex(bytes);
}

std::string env_types_json(const std::vector<event_type>& types) {
  auto json = nlohmann::ordered_json::object();
  for (auto& t : types)
    json[t.name()] = util::to_hex(t.filter());
  return util::to_json_text(json);
}

std::vector<std::string> plugin_search_path(const std::string& base_dir) {
  std::vector<std::string> dirs{base_dir};
  if (auto env = std::getenv("EE_PLUGIN_PATH")) {
    std::string_view rest{env};
    while (!rest.empty()) {
      auto colon = rest.find(':');
      auto dir = rest.substr(0, colon);
      if (!dir.empty())
        dirs.emplace_back(dir);
      if (colon == std::string_view::npos)
        break;
      rest.remove_prefix(colon + 1);
    }
  }
  return dirs;
}

std::string resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/' || base.empty())
    return path;
  return base + "/" + path;
}

// -- the loader ---------------------------------------------------------------

// Reads one file into a config_report: every check appends a diagnostic
// and carries on, so one pass reports every problem.
class loader {
public:
  loader(std::string file, std::string base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {
    report_.description.file = file_;
  }

  config_report run(std::string_view text) {
    if (auto problem = util::check_toml_input(text)) {
      add(severity::error, problem->line, problem->column, problem->message);
      return finish();
    }
    toml::table root;
    try {
      root = toml::parse(text, file_);
    } catch (const toml::parse_error& e) {
      add(severity::error, e.source().begin.line, e.source().begin.column,
          "TOML syntax error: " + std::string{e.description()});
      return finish();
    }
    unknown_keys(root, root_keys, "the file");
    if (auto node = root.get("engine")) {
      if (auto t = node->as_table())
        engine(*t);
      else
        fail(*node, "'engine' must be a table: write [engine] above its "
                    "settings");
    }
    if (auto node = root.get("types")) {
      has_types_ = true;
      if (auto t = node->as_table())
        types(*t);
      else
        fail(*node, "'types' must be a table: write [types] and one "
                    "Name = prefix per line");
    }
    if (auto node = root.get("plugin")) {
      if (auto arr = node->as_array()) {
        std::size_t index = 0;
        for (auto& entry : *arr) {
          ++index;
          if (auto t = entry.as_table())
            plugin(*t, index);
          else
            fail(entry, "each plugin must be a table: write [[plugin]] "
                        "followed by its keys");
        }
      } else {
        fail(*node, "'plugin' must be an array of tables: write [[plugin]] "
                    "(two brackets) for each plugin");
      }
    }
    type_warnings();
    security_checks();
    return finish();
  }

private:
  // -- diagnostics
  // ---------------------------------------------------------------

  source_position position(std::size_t line, std::size_t column) const {
    return source_position{file_, line, column};
  }

  source_position position(const toml::source_region& src) const {
    return position(src.begin.line, src.begin.column);
  }

  void add(severity sev, std::size_t line, std::size_t column,
           std::string message) {
    report_.diagnostics.push_back(
        diagnostic{sev, position(line, column), std::move(message)});
  }

  void add(severity sev, const source_position& where, std::string message) {
    report_.diagnostics.push_back(diagnostic{sev, where, std::move(message)});
  }

  void fail(const toml::node& n, std::string message) {
    add(severity::error, position(n.source()), std::move(message));
  }

  void fail(const toml::source_region& src, std::string message) {
    add(severity::error, position(src), std::move(message));
  }

  void remember(const std::string& key, const toml::node& n) {
    report_.description.positions[key] = position(n.source());
  }

  config_report finish() {
    auto& d = report_.diagnostics;
    std::stable_sort(d.begin(), d.end(), [](auto& x, auto& y) {
      return std::tie(x.where.line, x.where.column) <
             std::tie(y.where.line, y.where.column);
    });
    for (auto& x : d)
      if (x.severity == severity::warning)
        report_.description.warnings.push_back(x);
    return std::move(report_);
  }

  // -- generic readers
  // ---------------------------------------------------------

  void unknown_keys(const toml::table& t, const std::vector<std::string>& known,
                    const std::string& section,
                    const std::vector<std::string>& elsewhere = {},
                    const std::string& elsewhere_hint = {}) {
    for (auto& [k, v] : t) {
      std::string key{k.str()};
      if (contains(known, key))
        continue;
      if (contains(elsewhere, key)) {
        fail(k.source(), "'" + key + "' " + elsewhere_hint);
        continue;
      }
      std::string msg = "unknown key '" + key + "' in " + section;
      auto guess = util::closest(key, known);
      if (!guess.empty())
        msg += "; did you mean '" + guess + "'?";
      else
        msg += "; known keys: " + util::join(known);
      fail(k.source(), msg);
    }
  }

  // Reads an integer in lo..hi into `out`. @returns false if absent or bad.
  template <class T>
  bool integer(const toml::table& t, const char* key, T& out, long long lo,
               long long hi, const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return false;
    // Not value<long long>(): toml++ converts a float to it with a cast
    // that is undefined beyond 64 bits (`port = 7e200`).
    auto i = n->as_integer();
    if (!i) {
      fail(*n, section + " " + key + " must be an integer (" +
                   std::to_string(lo) + ".." + std::to_string(hi) + "), not " +
                   type_name(*n));
      return false;
    }
    long long v = i->get();
    if (v < lo || v > hi) {
      fail(*n, section + " " + key + " is " + std::to_string(v) +
                   ", out of range " + std::to_string(lo) + ".." +
                   std::to_string(hi));
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }

  bool milliseconds(const toml::table& t, const char* key,
                    std::chrono::milliseconds& out, long long lo,
                    const std::string& section) {
    long long ms = out.count();
    if (!integer(t, key, ms, lo, max_size, section))
      return false;
    out = std::chrono::milliseconds{ms};
    return true;
  }

  bool string(const toml::table& t, const char* key, std::string& out,
              const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return false;
    if (!n->is_string()) {
      fail(*n, section + " " + key + " must be a string (in quotes), not " +
                   type_name(*n));
      return false;
    }
    out = *n->value<std::string>();
    return true;
  }

  void boolean(const toml::table& t, const char* key, bool& out,
               const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return;
    if (!n->is_boolean()) {
      fail(*n, section + " " + key + " must be true or false, not " +
                   type_name(*n));
      return;
    }
    out = *n->value<bool>();
  }

  // Reads a value named in names.hpp. @returns false if absent or bad.
  template <class E>
  bool enumeration(const toml::table& t, const char* key, E& out,
                   const std::string& section) {
    std::string text;
    if (!string(t, key, text, section))
      return false;
    if (auto value = from_name<E>(text)) {
      out = *value;
      return true;
    }
    std::vector<std::string> names;
    for (auto& entry : enum_names<E>::table)
      names.emplace_back(entry.second);
    std::string msg = section + " " + key + " is '" + text + "'";
    auto guess = util::closest(text, names);
    if (!guess.empty())
      msg += "; did you mean '" + guess + "'?";
    msg += " Use " + names_of<E>();
    fail(*t.get(key), msg);
    return false;
  }

  // -- [engine]
  // ----------------------------------------------------------------

  void engine(const toml::table& t) {
    const std::string s = "[engine]";
    unknown_keys(t, engine_keys, s);
    for (auto& [k, v] : t)
      remember("engine." + std::string{k.str()}, v);
    auto& c = report_.description.config;
    integer(t, "publish_port", c.publish_port, 0, 65535, s);
    integer(t, "subscribe_port", c.subscribe_port, 0, 65535, s);
    if (string(t, "bind_address", c.bind_address, s) && c.bind_address.empty())
      fail(*t.get("bind_address"),
           "[engine] bind_address is empty: use \"127.0.0.1\" (the default), "
           "\"*\" or an interface address");
    boolean(t, "enable_tcp", c.enable_tcp, s);
    integer(t, "max_message_size", c.max_message_size, 1, 1LL << 31, s);
    integer(t, "queue_capacity", c.queue_capacity, 1, 1LL << 30, s);
    integer(t, "queue_bytes", c.queue_bytes, 1, max_size, s);
    integer(t, "delivery_window", c.delivery_window, 1, 1LL << 30, s);
    integer(t, "publish_window", c.publish_window, 1, 1LL << 30, s);
    integer(t, "publish_window_bytes", c.publish_window_bytes, 1, max_size, s);
    integer(t, "raw_subscriber_bytes", c.raw_subscriber_bytes, 1, max_size, s);
    enumeration(t, "strategy", c.strategy, s);
    integer(t, "max_restarts", c.max_restarts, 0, 1000000, s);
    milliseconds(t, "restart_period_ms", c.restart_period, 1, s);
    milliseconds(t, "shutdown_grace_ms", c.shutdown_grace, 0, s);
    integer(t, "scheduler_threads", c.scheduler_threads, 0, 1024, s);
    milliseconds(t, "stats_interval_ms", c.stats_interval, 0, s);
    auto lvl = log_level::info;
    if (enumeration(t, "log_level", lvl, s))
      report_.description.log_level = name_of(lvl);
    if (auto n = t.get("inherit_env")) {
      auto arr = n->as_array();
      if (arr && std::all_of(arr->begin(), arr->end(),
                             [](auto& x) { return x.is_string(); })) {
        c.inherit_env.clear();
        for (auto& x : *arr)
          c.inherit_env.push_back(*x.value<std::string>());
      } else {
        fail(*n, "[engine] inherit_env must be an array of variable names, "
                 "e.g. [\"PATH\", \"LC_*\"]");
      }
    }
    if (auto node = t.get("security")) {
      if (auto st = node->as_table())
        security(*st);
      else
        fail(*node, "[engine] security must be a table: write "
                    "[engine.security] above its settings");
    }
  }

  // -- [engine.security]
  // ---------------------------------------------------------

  void security(const toml::table& t) {
    const std::string s = "[engine.security]";
    unknown_keys(t, security_keys, s);
    for (auto& [k, v] : t)
      remember("engine.security." + std::string{k.str()}, v);
    auto& sec = report_.description.config.security;
    boolean(t, "curve", sec.curve, s);
    path(t, "secret_key_file", sec.secret_key_file, s,
         "the engine's secret certificate, e.g. \"server.key_secret\"");
    path(t, "allowed_clients_dir", sec.allowed_clients_dir, s,
         "a folder of public certificates (NAME.key), e.g. \"clients/\"");
    key_files(t, s, "engine.security", sec.allowed_key_files);
    if (sec.curve && !t.get("secret_key_file"))
      fail(*t.get("curve"),
           s + " curve = true needs secret_key_file = \"server.key_secret\": "
               "the engine's key pair (write one with `event-engine keygen "
               "server`)");
  }

  // Reads a path relative to the file's folder. @returns false if absent
  // or bad.
  bool path(const toml::table& t, const char* key, std::string& out,
            const std::string& section, const std::string& example) {
    std::string text;
    if (!string(t, key, text, section))
      return false;
    if (text.empty()) {
      fail(*t.get(key), section + " " + key + " is empty: give " + example);
      return false;
    }
    out = resolve(base_dir_, text);
    return true;
  }

  // allowed_keys = ["clients/a.key", ...]: public certificate files,
  // relative to the file's folder; their positions are remembered as
  // "<where>.allowed_keys.<index>".
  void key_files(const toml::table& t, const std::string& section,
                 const std::string& where, std::vector<std::string>& out) {
    auto n = t.get("allowed_keys");
    if (!n)
      return;
    auto arr = n->as_array();
    if (!arr) {
      fail(*n, section + " allowed_keys must be an array of public "
                         "certificate files, e.g. allowed_keys = "
                         "[\"clients/py1.key\"]");
      return;
    }
    for (auto& x : *arr) {
      if (!x.is_string() || x.value<std::string>()->empty()) {
        fail(x, section +
                    " allowed_keys: each entry is the path of a public "
                    "certificate file (NAME.key), not " +
                    (x.is_string() ? std::string{"an empty string"}
                                   : std::string{type_name(x)}));
        continue;
      }
      report_.description
          .positions[where + ".allowed_keys." + std::to_string(out.size())] =
          position(x.source());
      out.push_back(resolve(base_dir_, *x.value<std::string>()));
    }
  }

  // Settings that only make sense together.
  void security_checks() {
    auto& d = report_.description;
    auto& sec = d.config.security;
    auto warn = [&](const std::string& key, std::string message) {
      add(severity::warning, d.position(key), std::move(message));
    };
    if (!sec.curve) {
      for (auto key :
           {"secret_key_file", "allowed_clients_dir", "allowed_keys"})
        if (d.positions.count(std::string{"engine.security."} + key) > 0)
          warn(std::string{"engine.security."} + key,
               std::string{"[engine.security] "} + key +
                   " has no effect while curve is not true: the ports speak "
                   "plain text; add curve = true");
      for (auto& p : d.plugins)
        for (auto key : {"allowed_keys", "client_key_file"})
          if (d.positions.count("plugin." + p.name + "." + key) > 0)
            warn("plugin." + p.name + "." + key,
                 "plugin '" + p.name + "' " + key +
                     " has no effect while [engine.security] curve is not "
                     "true");
      return;
    }
    if (sec.allowed_clients_dir.empty() && sec.allowed_key_files.empty() &&
        d.config.enable_tcp)
      warn("engine.security.curve",
           "[engine.security] allows no client on the publish and subscribe "
           "ports (no allowed_clients_dir, no allowed_keys): nobody can "
           "publish or subscribe there");
    for (auto& p : d.plugins) {
      if (!p.command.empty() && p.client_key_file.empty())
        warn("plugin." + p.name,
             "plugin '" + p.name +
                 "' is launched under CURVE without client_key_file: its "
                 "process gets the engine's public key (EE_CURVE_SERVER_KEY) "
                 "but no key pair of its own; add client_key_file = "
                 "\"clients/" +
                 p.name + ".key_secret\" (or it must load its keys itself)");
    }
  }

  // -- prefixes
  // ------------------------------------------------------------------

  // The bytes of `{ hex = "..." }`, `{ prefix = "..." }` (if allowed) or
  // `[1, 0]`; `what` names the setting in messages.
  std::optional<std::string>
  literal(const toml::node& n, const std::string& what, bool allow_prefix_key) {
    if (auto arr = n.as_array()) {
      std::string bytes;
      for (auto& x : *arr) {
        auto i = x.as_integer(); // (not value<>(): see integer())
        if (!i || i->get() < 0 || i->get() > 255) {
          fail(x,
               what +
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

  // -- [types]
  // -------------------------------------------------------------------

  void types(const toml::table& t) {
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
      if (!bytes)
        continue;
      if (bytes->empty()) {
        fail(*v, what + " has an empty prefix, which would match every "
                        "event; give it bytes, or subscribe with "
                        "{ prefix = \"\" } to receive everything");
        continue;
      }
      d.positions["types." + name] = position(k->source());
      d.types.emplace_back(name, *bytes);
    }
    // The engine counts events by these types (engine_stats::types).
    d.config.event_types = d.types;
  }

  // A type's prefix that starts another's: its subscribers get both. One
  // warning per such pair, at most `max_type_warnings` (then one that counts
  // the rest): a file of many types with one prefix would otherwise get a
  // warning per pair, quadratic in time and memory.
  void type_warnings() {
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

  // -- subscriptions ---------------------------------------------------------

  std::vector<event_type> subscriptions(const toml::table& t,
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
        msg += " For a literal prefix write { prefix = " +
               util::to_json_text(text) + " }";
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

  // -- [[plugin]]
  // ----------------------------------------------------------------

  void plugin(const toml::table& t, std::size_t index) {
    auto& d = report_.description;
    bool is_library = t.get("library") != nullptr;
    std::string section = "[[plugin]] #" + std::to_string(index);
    std::string name;
    if (string(t, "name", name, section) && name.empty())
      fail(*t.get("name"), section + " has an empty name: give it a unique "
                                     "name = \"...\"");
    if (!t.get("name"))
      fail(t.source(), section + " needs a name: add name = \"...\" (unique "
                                 "among the plugins)");
    bool duplicate = false;
    if (!name.empty()) {
      section = "plugin '" + name + "'";
      auto key = "plugin." + name;
      if (auto i = d.positions.find(key); i != d.positions.end()) {
        fail(*t.get("name"), "plugin name '" + name +
                                 "' is used twice (first at line " +
                                 std::to_string(i->second.line) +
                                 "): plugin names must be unique");
        duplicate = true; // checked, but not added
      } else {
        d.positions[key] = position(t.get("name")->source());
        d.plugin_order.push_back(name);
        for (auto& [k, v] : t)
          remember(key + "." + std::string{k.str()}, v);
      }
    }
    auto subs = subscriptions(t, section);
    plugin_options opts;
    enumeration(t, "restart", opts.restart, section);
    milliseconds(t, "backoff_initial_ms", opts.backoff.initial, 0, section);
    milliseconds(t, "backoff_max_ms", opts.backoff.max, 0, section);
    integer(t, "queue_capacity", opts.queue_capacity, 0, 1LL << 30, section);
    integer(t, "queue_bytes", opts.queue_bytes, 0, max_size, section);
    enumeration(t, "overflow", opts.overflow, section);
    if (is_library)
      library_plugin(t, section, name, std::move(subs), opts, !duplicate);
    else
      external_plugin(t, section, name, std::move(subs), opts, !duplicate);
  }

  void external_plugin(const toml::table& t, const std::string& section,
                       const std::string& name, std::vector<event_type> subs,
                       const plugin_options& opts, bool add) {
    unknown_keys(t, concat(common_plugin_keys, external_only_keys), section,
                 library_only_keys,
                 "belongs to a plugin from a shared library: add library = "
                 "\"lib....so\", or remove it");
    external_plugin_config p;
    p.name = name;
    p.subscriptions = std::move(subs);
    p.options = opts;
    if (!t.get("port"))
      fail(t.source(), section + " needs a port: add port = 0 (any free "
                                 "port) or a fixed one");
    integer(t, "port", p.port, 0, 65535, section);
    if (auto n = t.get("command")) {
      auto arr = n->as_array();
      bool ok = arr && !arr->empty() &&
                std::all_of(arr->begin(), arr->end(),
                            [](auto& x) { return x.is_string(); });
      if (!ok) {
        fail(*n, section + " command must be a non-empty array of strings, "
                           "e.g. command = [\"/usr/bin/python3\", "
                           "\"plugin.py\"]; leave it out to start the plugin "
                           "by hand");
      } else {
        for (auto& x : *arr)
          p.command.push_back(*x.value<std::string>());
        if (p.command[0].find('/') != std::string::npos)
          p.command[0] = resolve(base_dir_, p.command[0]);
      }
    }
    if (auto env = t.get("env")) {
      if (auto et = env->as_table()) {
        for (auto& [k, v] : *et) {
          if (!v.is_string()) {
            fail(v, section + " env." + std::string{k.str()} +
                        " must be a string, not " + type_name(v));
            continue;
          }
          p.env[std::string{k.str()}] = *v.value<std::string>();
        }
      } else {
        fail(*env, section + " env must be a table, e.g. env = { KEY = "
                             "\"value\" }");
      }
    }
    auto& d = report_.description;
    if (!d.types.empty() && !p.env.count("EE_TYPES"))
      p.env["EE_TYPES"] = env_types_json(d.types);
    std::string wd;
    string(t, "working_dir", wd, section);
    p.working_dir = wd.empty() ? base_dir_ : resolve(base_dir_, wd);
    boolean(t, "await_first_request", p.await_first_request, section);
    enumeration(t, "delivery", p.delivery, section);
    integer(t, "max_delivery_attempts", p.max_delivery_attempts, 1, 1000000,
            section);
    enumeration(t, "stderr_level", p.stderr_level, section);
    key_files(t, section, "plugin." + name, p.allowed_key_files);
    path(t, "client_key_file", p.client_key_file, section,
         "this plugin's secret certificate, e.g. \"clients/" + name +
             ".key_secret\"");
    if (add)
      d.plugins.push_back(std::move(p));
  }

  void library_plugin(const toml::table& t, const std::string& section,
                      const std::string& name, std::vector<event_type> subs,
                      const plugin_options& opts, bool add) {
    unknown_keys(t, concat(common_plugin_keys, library_only_keys), section,
                 external_only_keys,
                 "belongs to an external plugin (a process); a plugin from a "
                 "shared library (library = ...) runs inside the engine: "
                 "remove it");
    library_plugin_config p;
    p.name = name;
    p.options = opts;
    if (string(t, "library", p.library, section) && p.library.empty())
      fail(*t.get("library"), section + " library is empty: give the "
                                        "shared library's file name or path");
    if (p.library.find('/') != std::string::npos)
      p.library = resolve(base_dir_, p.library);
    p.search_path = plugin_search_path(base_dir_);
    if (!t.get("factory"))
      fail(t.source(), section + " needs factory = \"...\": the name of a "
                                 "factory that the library's EE_PLUGIN lists");
    string(t, "factory", p.factory, section);
    config_value::table values;
    if (auto n = t.get("config")) {
      if (auto ct = n->as_table())
        values = table_value(*ct, section + " config");
      else
        fail(*n, section + " config must be a table, e.g. config = { limit "
                           "= 5 } or a [plugin.config] section");
    }
    auto& d = report_.description;
    p.config = plugin_config{name, std::move(values), d.types, std::move(subs)};
    if (add)
      d.library_plugins.push_back(std::move(p));
  }

  config_value::table table_value(const toml::table& t,
                                  const std::string& what) {
    config_value::table result;
    for (auto& [k, v] : t) {
      std::string key{k.str()};
      if (auto x = value(v, what + "." + key))
        result.emplace(key, std::move(*x));
    }
    return result;
  }

  std::optional<config_value> value(const toml::node& n,
                                    const std::string& what) {
    if (auto t = n.as_table())
      return config_value{table_value(*t, what)};
    if (auto arr = n.as_array()) {
      config_value::array result;
      std::size_t i = 0;
      for (auto& x : *arr)
        if (auto v = value(x, what + "[" + std::to_string(i++) + "]"))
          result.push_back(std::move(*v));
      return config_value{std::move(result)};
    }
    if (n.is_string())
      return config_value{*n.value<std::string>()};
    if (n.is_integer())
      return config_value{static_cast<std::int64_t>(*n.value<long long>())};
    if (n.is_floating_point())
      return config_value{*n.value<double>()};
    if (n.is_boolean())
      return config_value{*n.value<bool>()};
    fail(n, what + " is " + type_name(n) +
                ", which plugin configs do not support: write it as a string");
    return std::nullopt;
  }

  std::string file_;
  std::string base_dir_;
  bool has_types_ = false;
  config_report report_;
};

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in{path, std::ios::binary};
  ok = static_cast<bool>(in);
  std::stringstream buf;
  if (ok)
    buf << in.rdbuf();
  return buf.str();
}

expected<app_description> to_expected(config_report report) {
  if (!report.ok())
    return error{ec::config_file, report.errors()};
  return std::move(report.description);
}

} // namespace

// -- diagnostics --------------------------------------------------------------

std::string diagnostic::to_string() const {
  std::string result;
  if (!where.file.empty())
    result += where.file + ":";
  if (where.line > 0) {
    result += std::to_string(where.line) + ":";
    if (where.column > 0)
      result += std::to_string(where.column) + ":";
  }
  if (!result.empty())
    result += ' ';
  result += severity == ee::severity::error ? "error: " : "warning: ";
  result += message;
  return result;
}

bool config_report::ok() const noexcept {
  return std::none_of(diagnostics.begin(), diagnostics.end(),
                      [](auto& d) { return d.severity == severity::error; });
}

std::string config_report::errors() const {
  std::string result;
  for (auto& d : diagnostics) {
    if (d.severity != severity::error)
      continue;
    if (!result.empty())
      result += '\n';
    result += d.to_string();
  }
  return result;
}

source_position app_description::position(const std::string& key) const {
  if (auto i = positions.find(key); i != positions.end())
    return i->second;
  return source_position{file, 0, 0};
}

const event_type*
app_description::find_type(std::string_view name) const noexcept {
  for (auto& t : types)
    if (t.name() == name)
      return &t;
  return nullptr;
}

// -- reading ------------------------------------------------------------------

config_report read_config(std::string_view text, const std::string& base_dir,
                          const std::string& file) {
  return loader{file, base_dir}.run(text);
}

config_report read_config_file(const std::string& path) {
  bool ok = false;
  auto text = read_file(path, ok);
  if (!ok) {
    config_report report;
    report.description.file = path;
    report.diagnostics.push_back(
        diagnostic{severity::error, source_position{path, 0, 0},
                   "cannot read the config file: no such file, or not "
                   "readable"});
    return report;
  }
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? "." : path.substr(0, slash);
  if (base.empty())
    base = "/";
  // Absolute, so that messages and launched plugins do not depend on the
  // engine's working directory.
  if (char* real = ::realpath(base.c_str(), nullptr)) {
    base = real;
    std::free(real);
  }
  return read_config(text, base, path);
}

expected<app_description> load_config_file(const std::string& path) {
  return to_expected(read_config_file(path));
}

expected<app_description> parse_config(std::string_view text,
                                       const std::string& base_dir) {
  return to_expected(read_config(text, base_dir));
}

// -- the environment ----------------------------------------------------------

std::vector<diagnostic> check_environment(const app_description& d) {
  std::vector<diagnostic> result;
  auto fail = [&](const std::string& key, std::string message) {
    result.push_back(
        diagnostic{severity::error, d.position(key), std::move(message)});
  };
  // Ports: who claimed each one first.
  std::map<int, std::pair<std::string, std::string>> used; // port -> who, key
  auto claim = [&](int port, const std::string& who, const std::string& key) {
    if (port == 0)
      return;
    auto [i, added] = used.emplace(port, std::make_pair(who, key));
    if (added)
      return;
    auto first = d.position(i->second.second);
    std::string at =
        first.line > 0 ? " (line " + std::to_string(first.line) + ")" : "";
    fail(key, "port " + std::to_string(port) + " of " + who +
                  " is already used by " + i->second.first + at +
                  ": give each endpoint its own port, or 0 for any free one");
  };
  if (d.config.enable_tcp || !d.plugins.empty()) {
    claim(d.config.publish_port, "the engine's publish_port",
          "engine.publish_port");
    claim(d.config.subscribe_port, "the engine's subscribe_port",
          "engine.subscribe_port");
  }
  for (auto& p : d.plugins) {
    auto key = "plugin." + p.name;
    claim(p.port, "plugin '" + p.name + "'", key + ".port");
    if (!p.command.empty() && find_executable(p.command[0]).empty())
      fail(key + ".command",
           "plugin '" + p.name + "': command '" + p.command[0] +
               "' not found (not an executable file, nor in PATH): install "
               "it, fix the path (relative paths start from the file's "
               "folder) or leave command out to start the plugin by hand");
    struct stat sb;
    if (!p.working_dir.empty() &&
        (::stat(p.working_dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)))
      fail(key + ".working_dir", "plugin '" + p.name +
                                     "': working directory '" + p.working_dir +
                                     "' does not exist");
  }
  for (auto& x : check_keys(d))
    result.push_back(std::move(x));
  return result;
}

std::vector<diagnostic> check_keys(const app_description& d) {
  std::vector<diagnostic> result;
  auto& sec = d.config.security;
  if (!sec.curve)
    return result;
  auto fail = [&](const std::string& key, const std::string& setting,
                  const error& err) {
    result.push_back(diagnostic{severity::error, d.position(key),
                                setting + ": " + err.message()});
  };
  // A secret that others can read is no secret.
  auto private_file = [&](const std::string& key, const std::string& file) {
    struct stat sb;
    if (::stat(file.c_str(), &sb) == 0 && (sb.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o",
                    static_cast<unsigned>(sb.st_mode & 07777));
      result.push_back(diagnostic{severity::warning, d.position(key),
                                  "secret key file '" + file +
                                      "' can be read by other users (mode " +
                                      mode + "): chmod 600 '" + file + "'"});
    }
  };
  if (!sec.secret_key_file.empty()) {
    auto key = std::string{"engine.security.secret_key_file"};
    if (auto cert = curve::load(sec.secret_key_file, true); !cert)
      fail(key, "[engine.security] secret_key_file", cert.error());
    else
      private_file(key, sec.secret_key_file);
  }
  if (!sec.allowed_clients_dir.empty())
    if (auto certs = curve::load_dir(sec.allowed_clients_dir); !certs)
      fail("engine.security.allowed_clients_dir",
           "[engine.security] allowed_clients_dir", certs.error());
  auto public_files = [&](const std::vector<std::string>& files,
                          const std::string& where,
                          const std::string& setting) {
    for (std::size_t i = 0; i < files.size(); ++i)
      if (auto cert = curve::load(files[i], false); !cert)
        fail(where + ".allowed_keys." + std::to_string(i), setting,
             cert.error());
  };
  public_files(sec.allowed_key_files, "engine.security",
               "[engine.security] allowed_keys");
  for (auto& p : d.plugins) {
    auto where = "plugin." + p.name;
    public_files(p.allowed_key_files, where,
                 "plugin '" + p.name + "' allowed_keys");
    if (p.client_key_file.empty())
      continue;
    if (auto cert = curve::load(p.client_key_file, true); !cert)
      fail(where + ".client_key_file",
           "plugin '" + p.name + "' client_key_file", cert.error());
    else
      private_file(where + ".client_key_file", p.client_key_file);
  }
  return result;
}

} // namespace ee
