#include "ee/config_file.hpp"

#include <fstream>
#include <sstream>

#include "ee/names.hpp"

#define TOML_EXCEPTIONS 0
#include <toml++/toml.h>

namespace ee {

namespace {

std::string where(const toml::node& n) {
  auto& src = n.source();
  return "line " + std::to_string(src.begin.line);
}

class reader {
public:
  explicit reader(error& err) : err_(err) {
    // nop
  }

  bool ok() const { return !err_; }

  void fail(std::string msg) {
    if (!err_)
      err_ = error{ec::config_file, std::move(msg)};
  }

  template <class T>
  void integer(const toml::table& t, const char* key, T& out, long long lo,
               long long hi, const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return;
    auto v = n->value<long long>();
    if (!n->is_integer() || !v) {
      fail(section + "." + key + " (" + where(*n) + ") must be an integer");
      return;
    }
    if (*v < lo || *v > hi) {
      fail(section + "." + key + " (" + where(*n) + ") is " +
           std::to_string(*v) + ", out of range " + std::to_string(lo) + ".." +
           std::to_string(hi));
      return;
    }
    out = static_cast<T>(*v);
  }

  void string(const toml::table& t, const char* key, std::string& out,
              const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return;
    if (!n->is_string()) {
      fail(section + "." + key + " (" + where(*n) + ") must be a string");
      return;
    }
    out = *n->value<std::string>();
  }

  void boolean(const toml::table& t, const char* key, bool& out,
               const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return;
    if (!n->is_boolean()) {
      fail(section + "." + key + " (" + where(*n) + ") must be true or false");
      return;
    }
    out = *n->value<bool>();
  }

  void strings(const toml::table& t, const char* key,
               std::vector<std::string>& out, const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return;
    auto arr = n->as_array();
    if (!arr) {
      fail(section + "." + key + " (" + where(*n) +
           ") must be an array of strings");
      return;
    }
    for (auto& x : *arr) {
      if (!x.is_string()) {
        fail(section + "." + key + " (" + where(x) +
             ") must contain only strings");
        return;
      }
      out.push_back(*x.value<std::string>());
    }
  }

  void unknown_keys(const toml::table& t,
                    std::initializer_list<const char*> known,
                    const std::string& section) {
    for (auto& [k, v] : t) {
      bool found = false;
      for (auto name : known)
        if (k.str() == name)
          found = true;
      if (!found) {
        std::string list;
        for (auto name : known)
          list += std::string{list.empty() ? "" : ", "} + name;
        fail("unknown key '" + std::string{k.str()} + "' in " + section + " (" +
             where(v) + "); known keys: " + list);
        return;
      }
    }
  }

private:
  error& err_;
};

bool parse_policy(const std::string& s, restart_policy& out) {
  if (s == "permanent")
    out = restart_policy::permanent;
  else if (s == "transient")
    out = restart_policy::transient;
  else if (s == "temporary")
    out = restart_policy::temporary;
  else
    return false;
  return true;
}

bool parse_strategy(const std::string& s, restart_strategy& out) {
  if (s == "one_for_one")
    out = restart_strategy::one_for_one;
  else if (s == "one_for_all")
    out = restart_strategy::one_for_all;
  else if (s == "rest_for_one")
    out = restart_strategy::rest_for_one;
  else
    return false;
  return true;
}

std::string resolve(const std::string& base, const std::string& path) {
  if (path.empty() || path.front() == '/' || base.empty())
    return path;
  return base + "/" + path;
}

} // namespace

error parse_config(const std::string& text, const std::string& base_dir,
                   app_description& out) {
  auto parsed = toml::parse(text);
  if (!parsed) {
    auto& e = parsed.error();
    return error{ec::config_file, "TOML syntax error at line " +
                                      std::to_string(e.source().begin.line) +
                                      ", column " +
                                      std::to_string(e.source().begin.column) +
                                      ": " + std::string{e.description()}};
  }
  auto& root = parsed.table();
  error err;
  reader r{err};
  r.unknown_keys(root, {"engine", "plugin"}, "the file");
  if (auto eng = root.get("engine")) {
    auto t = eng->as_table();
    if (!t)
      return error{ec::config_file, "[engine] must be a table"};
    r.unknown_keys(*t,
                   {"publish_port", "subscribe_port", "bind_address",
                    "enable_tcp", "max_message_size", "queue_capacity",
                    "delivery_window", "queue_bytes", "publish_window",
                    "publish_window_bytes", "raw_subscriber_bytes",
                    "strategy", "max_restarts",
                    "restart_period_ms", "shutdown_grace_ms",
                    "scheduler_threads", "log_level"},
                   "[engine]");
    auto& c = out.config;
    r.integer(*t, "publish_port", c.publish_port, 0, 65535, "engine");
    r.integer(*t, "subscribe_port", c.subscribe_port, 0, 65535, "engine");
    r.string(*t, "bind_address", c.bind_address, "engine");
    r.boolean(*t, "enable_tcp", c.enable_tcp, "engine");
    r.integer(*t, "max_message_size", c.max_message_size, 1, 1LL << 31,
              "engine");
    r.integer(*t, "queue_capacity", c.queue_capacity, 1, 1LL << 30, "engine");
    r.integer(*t, "delivery_window", c.delivery_window, 1, 1LL << 30, "engine");
    r.integer(*t, "queue_bytes", c.queue_bytes, 1, 1LL << 40, "engine");
    r.integer(*t, "publish_window", c.publish_window, 1, 1LL << 30, "engine");
    r.integer(*t, "publish_window_bytes", c.publish_window_bytes, 1, 1LL << 40,
              "engine");
    r.integer(*t, "raw_subscriber_bytes", c.raw_subscriber_bytes, 1,
              1LL << 40, "engine");
    std::string strategy;
    r.string(*t, "strategy", strategy, "engine");
    if (!strategy.empty() && !parse_strategy(strategy, c.strategy))
      r.fail("engine.strategy is '" + strategy +
             "'; use one_for_one, one_for_all or rest_for_one");
    r.integer(*t, "max_restarts", c.max_restarts, 0, 1000000, "engine");
    long long ms = c.restart_period.count();
    r.integer(*t, "restart_period_ms", ms, 1, 1LL << 40, "engine");
    c.restart_period = std::chrono::milliseconds{ms};
    ms = c.shutdown_grace.count();
    r.integer(*t, "shutdown_grace_ms", ms, 0, 1LL << 40, "engine");
    c.shutdown_grace = std::chrono::milliseconds{ms};
    r.integer(*t, "scheduler_threads", c.scheduler_threads, 0, 1024, "engine");
    r.string(*t, "log_level", out.log_level, "engine");
  }
  if (auto plugins = root.get("plugin")) {
    auto arr = plugins->as_array();
    if (!arr)
      return error{ec::config_file,
                   "'plugin' must be an array of tables: write [[plugin]]"};
    std::size_t index = 0;
    for (auto& node : *arr) {
      ++index;
      auto t = node.as_table();
      std::string section = "[[plugin]] #" + std::to_string(index);
      if (!t) {
        r.fail(section + " must be a table");
        break;
      }
      r.unknown_keys(*t,
                     {"name", "port", "subscriptions", "command", "env",
                      "working_dir", "await_first_request", "restart",
                      "backoff_initial_ms", "backoff_max_ms", "queue_capacity",
                      "queue_bytes", "overflow", "delivery",
                      "max_delivery_attempts"},
                     section);
      external_plugin_config p;
      r.string(*t, "name", p.name, section);
      if (r.ok() && p.name.empty())
        r.fail(section + " needs a non-empty name = \"...\"");
      section = "plugin '" + p.name + "'";
      r.integer(*t, "port", p.port, 0, 65535, section);
      if (r.ok() && !t->get("port"))
        r.fail(section + " needs a port (0 = any free port)");
      std::vector<std::string> subs;
      r.strings(*t, "subscriptions", subs, section);
      for (auto& s : subs)
        p.subscriptions.emplace_back(s);
      r.strings(*t, "command", p.command, section);
      if (r.ok() && t->get("command") && p.command.empty())
        r.fail(section + ": command is an empty array; leave it out to start "
                         "the plugin by hand");
      if (!p.command.empty() && p.command[0].find('/') != std::string::npos)
        p.command[0] = resolve(base_dir, p.command[0]);
      if (auto env = t->get("env")) {
        if (auto et = env->as_table()) {
          for (auto& [k, v] : *et) {
            if (!v.is_string()) {
              r.fail(section + ": env." + std::string{k.str()} +
                     " must be a string");
              break;
            }
            p.env[std::string{k.str()}] = *v.value<std::string>();
          }
        } else {
          r.fail(section + ": env must be a table, e.g. env = { KEY = \"v\" }");
        }
      }
      std::string wd;
      r.string(*t, "working_dir", wd, section);
      p.working_dir = wd.empty() ? base_dir : resolve(base_dir, wd);
      r.boolean(*t, "await_first_request", p.await_first_request, section);
      std::string policy;
      r.string(*t, "restart", policy, section);
      if (!policy.empty() && !parse_policy(policy, p.options.restart))
        r.fail(section + ": restart is '" + policy +
               "'; use permanent, transient or temporary");
      long long ms = p.options.backoff.initial.count();
      r.integer(*t, "backoff_initial_ms", ms, 0, 1LL << 40, section);
      p.options.backoff.initial = std::chrono::milliseconds{ms};
      ms = p.options.backoff.max.count();
      r.integer(*t, "backoff_max_ms", ms, 0, 1LL << 40, section);
      p.options.backoff.max = std::chrono::milliseconds{ms};
      r.integer(*t, "queue_capacity", p.options.queue_capacity, 0, 1LL << 30,
                section);
      r.integer(*t, "queue_bytes", p.options.queue_bytes, 0, 1LL << 40,
                section);
      std::string delivery;
      r.string(*t, "delivery", delivery, section);
      if (!delivery.empty()) {
        if (auto d = from_name<delivery_mode>(delivery))
          p.delivery = *d;
        else
          r.fail(section + ": delivery is '" + delivery + "'; use " +
                 names_of<delivery_mode>());
      }
      r.integer(*t, "max_delivery_attempts", p.max_delivery_attempts, 1,
                1000000, section);
      std::string overflow;
      r.string(*t, "overflow", overflow, section);
      if (overflow == "drop_oldest")
        p.options.overflow = overflow_policy::drop_oldest;
      else if (overflow == "drop_newest")
        p.options.overflow = overflow_policy::drop_newest;
      else if (!overflow.empty() && overflow != "block")
        r.fail(section + ": overflow is '" + overflow +
               "'; use block, drop_oldest or drop_newest");
      out.plugins.push_back(std::move(p));
    }
  }
  return err;
}

error load_config_file(const std::string& path, app_description& out) {
  std::ifstream in{path};
  if (!in)
    return error{ec::config_file, "cannot read config file '" + path +
                                      "': no such file or not readable"};
  std::stringstream buf;
  buf << in.rdbuf();
  auto slash = path.rfind('/');
  std::string base = slash == std::string::npos ? "." : path.substr(0, slash);
  if (base.empty())
    base = "/";
  auto err = parse_config(buf.str(), base, out);
  if (err)
    return error{ec::config_file, path + ": " + err.message()};
  return {};
}

} // namespace ee
