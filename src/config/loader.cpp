#include "config/loader.hpp"

#include <algorithm>

#include "util/toml_guard.hpp"

namespace ee::config {

namespace {

const std::vector<std::string> root_keys{"engine", "types", "plugin",
                                         "federation"};

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
                                           "max_subscriptions",
                                           "max_subscription_bytes",
                                           "max_subscriber_bytes",
                                           "max_connections",
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

} // namespace

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

std::string resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/' || base.empty())
    return path;
  return base + "/" + path;
}

config_report loader::run(std::string_view text) {
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
  if (auto node = root.get("federation")) {
    remember("federation", *node);
    if (auto t = node->as_table())
      federation(*t);
    else
      fail(*node, "'federation' must be a table: write [federation] above "
                  "its settings");
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

source_position loader::position(std::size_t line, std::size_t column) const {
  return source_position{file_, line, column};
}

source_position loader::position(const toml::source_region& src) const {
  return position(src.begin.line, src.begin.column);
}

void loader::add(severity sev, std::size_t line, std::size_t column,
                 std::string message) {
  report_.diagnostics.push_back(
      diagnostic{sev, position(line, column), std::move(message)});
}

void loader::add(severity sev, const source_position& where,
                 std::string message) {
  report_.diagnostics.push_back(diagnostic{sev, where, std::move(message)});
}

void loader::fail(const toml::node& n, std::string message) {
  add(severity::error, position(n.source()), std::move(message));
}

void loader::fail(const toml::source_region& src, std::string message) {
  add(severity::error, position(src), std::move(message));
}

void loader::remember(const std::string& key, const toml::node& n) {
  report_.description.positions[key] = position(n.source());
}

config_report loader::finish() {
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

void loader::unknown_keys(const toml::table& t,
                          const std::vector<std::string>& known,
                          const std::string& section,
                          const std::vector<std::string>& elsewhere,
                          const std::string& elsewhere_hint) {
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

bool loader::milliseconds(const toml::table& t, const char* key,
                          std::chrono::milliseconds& out, long long lo,
                          const std::string& section) {
  long long ms = out.count();
  if (!integer(t, key, ms, lo, max_size, section))
    return false;
  out = std::chrono::milliseconds{ms};
  return true;
}

bool loader::string(const toml::table& t, const char* key, std::string& out,
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

void loader::boolean(const toml::table& t, const char* key, bool& out,
                     const std::string& section) {
  auto n = t.get(key);
  if (!n)
    return;
  if (!n->is_boolean()) {
    fail(*n,
         section + " " + key + " must be true or false, not " + type_name(*n));
    return;
  }
  out = *n->value<bool>();
}

void loader::engine(const toml::table& t) {
  const std::string s = "[engine]";
  unknown_keys(t, engine_keys, s);
  for (auto& [k, v] : t)
    remember("engine." + std::string{k.str()}, v);
  auto& c = report_.description.config;
  integer(t, "publish_port", c.publish_port, 0, 65535, s);
  integer(t, "subscribe_port", c.subscribe_port, 0, 65535, s);
  string(t, "bind_address", c.bind_address, s);
  boolean(t, "enable_tcp", c.enable_tcp, s);
  integer(t, "max_message_size", c.max_message_size, 1, 1LL << 31, s);
  integer(t, "queue_capacity", c.queue_capacity, 1, 1LL << 30, s);
  integer(t, "queue_bytes", c.queue_bytes, 1, max_size, s);
  integer(t, "delivery_window", c.delivery_window, 1, 1LL << 30, s);
  integer(t, "publish_window", c.publish_window, 1, 1LL << 30, s);
  integer(t, "publish_window_bytes", c.publish_window_bytes, 1, max_size, s);
  integer(t, "raw_subscriber_bytes", c.raw_subscriber_bytes, 1, max_size, s);
  integer(t, "max_subscriptions", c.max_subscriptions, 1, 1LL << 30, s);
  integer(t, "max_subscription_bytes", c.max_subscription_bytes, 1, max_size,
          s);
  integer(t, "max_subscriber_bytes", c.max_subscriber_bytes, 1, max_size, s);
  integer(t, "max_connections", c.max_connections, 1, 1000000, s);
  enumeration(t, "strategy", c.strategy, s);
  integer(t, "max_restarts", c.max_restarts, 0, 1000000, s);
  milliseconds(t, "restart_period_ms", c.restart_period, 1, s);
  milliseconds(t, "shutdown_grace_ms", c.shutdown_grace, 0, s);
  integer(t, "scheduler_threads", c.scheduler_threads, 0, 1024, s);
  milliseconds(t, "stats_interval_ms", c.stats_interval, 0, s);
  auto lvl = log_level::info;
  if (enumeration(t, "log_level", lvl, s))
    report_.description.log_level = name_of(lvl);
  inherit_env(t, c);
  if (auto node = t.get("security")) {
    if (auto st = node->as_table())
      security(*st);
    else
      fail(*node, "[engine] security must be a table: write "
                  "[engine.security] above its settings");
  }
}

void loader::inherit_env(const toml::table& t, app_config& c) {
  auto n = t.get("inherit_env");
  if (!n)
    return;
  auto arr = n->as_array();
  if (arr && std::all_of(arr->begin(), arr->end(),
                         [](auto& x) { return x.is_string(); })) {
    c.inherit_env.clear();
    for (auto& x : *arr)
      c.inherit_env.push_back(*x.value<std::string>());
    return;
  }
  fail(*n, "[engine] inherit_env must be an array of variable names, e.g. "
           "[\"PATH\", \"LC_*\"]");
}

void loader::security(const toml::table& t) {
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
}

bool loader::path(const toml::table& t, const char* key, std::string& out,
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

void loader::key_files(const toml::table& t, const std::string& section,
                       const std::string& where,
                       std::vector<std::string>& out) {
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

void loader::security_checks() {
  auto& d = report_.description;
  auto& sec = d.config.security;
  auto warn = [&](const std::string& key, std::string message) {
    add(severity::warning, d.position(key), std::move(message));
  };
  if (!sec.curve) {
    for (auto key : {"secret_key_file", "allowed_clients_dir", "allowed_keys"})
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

} // namespace ee::config
