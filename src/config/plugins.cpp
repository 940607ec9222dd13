#include "config/loader.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdlib>

namespace ee::config {

namespace {

// The restart policy of a [[plugin]] that the engine starts (a library
// plugin, or an external one with a command) and that sets no `restart`:
// a crash restarts it (with back-off, within max_restarts), a normal exit
// does not. See docs/configuration.md for why.
constexpr restart_policy restart_default_launched = restart_policy::transient;

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

std::vector<std::string> concat(const std::vector<std::string>& a,
                                const std::vector<std::string>& b) {
  auto result = a;
  result.insert(result.end(), b.begin(), b.end());
  return result;
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

} // namespace

void loader::plugin(const toml::table& t, std::size_t index) {
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
  if (is_library || t.get("command"))
    opts.restart = restart_default_launched;
  enumeration(t, "restart", opts.restart, section);
  milliseconds(t, "backoff_initial_ms", opts.backoff.initial, 0, section);
  milliseconds(t, "backoff_max_ms", opts.backoff.max, 0, section);
  integer(t, "queue_capacity", opts.queue_capacity, 0, 1LL << 30, section);
  integer(t, "queue_bytes", opts.queue_bytes, 0, max_size, section);
  enumeration(t, "overflow", opts.overflow, section);
  if (is_library) {
    unknown_keys(t, concat(common_plugin_keys, library_only_keys), section,
                 external_only_keys,
                 "belongs to an external plugin (a process); a plugin from a "
                 "shared library (library = ...) runs inside the engine: "
                 "remove it");
    library_plugin(t, section, name, std::move(subs), opts, !duplicate);
  } else {
    unknown_keys(t, concat(common_plugin_keys, external_only_keys), section,
                 library_only_keys,
                 "belongs to a plugin from a shared library: add library = "
                 "\"lib....so\", or remove it");
    external_plugin(t, section, name, std::move(subs), opts, !duplicate);
  }
}

void loader::external_plugin(const toml::table& t, const std::string& section,
                             const std::string& name,
                             std::vector<event_type> subs,
                             const plugin_options& opts, bool add) {
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
  // Always, so that pyevents.types() knows it runs under the engine.
  if (!p.env.count("EE_TYPES"))
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

void loader::library_plugin(const toml::table& t, const std::string& section,
                            const std::string& name,
                            std::vector<event_type> subs,
                            const plugin_options& opts, bool add) {
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

config_value::table loader::table_value(const toml::table& t,
                                        const std::string& what) {
  config_value::table result;
  for (auto& [k, v] : t) {
    std::string key{k.str()};
    if (auto x = value(v, what + "." + key))
      result.emplace(key, std::move(*x));
  }
  return result;
}

std::optional<config_value> loader::value(const toml::node& n,
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

} // namespace ee::config
