#include "app_validation.hpp"

#include <cctype>
#include <map>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/process.hpp"
#include "bridge/security_keys.hpp"
#include "src/federation/tls_files.hpp"

namespace ee {

namespace {

class validator {
public:
  validator(const setting_locator& where, std::vector<setting_problem>& out)
      : where_(where), out_(out) {
    // nop
  }

  void fail(std::string field, ec code, std::string message) {
    out_.push_back(
        setting_problem{std::move(field), code, false, std::move(message)});
  }

  bool port_in_range(int port, const std::string& field,
                     const std::string& who) {
    if (port >= 0 && port <= 65535)
      return true;
    fail(field, ec::invalid_config,
         who + " is " + std::to_string(port) +
             ", out of range 0..65535 (0 = any free port)");
    return false;
  }

  // Who claimed each port first.
  void claim(int port, const std::string& who, const std::string& field) {
    if (port == 0)
      return;
    auto [i, added] = used_.emplace(port, std::make_pair(who, field));
    if (added)
      return;
    auto at = where_ ? where_(i->second.second) : std::string{};
    fail(field, ec::duplicate_port,
         "port " + std::to_string(port) + " of " + who +
             " is already used by " + i->second.first + at +
             ": give each endpoint its own port, or 0 for any free one");
  }

  void engine(const app_config& cfg) {
    if (cfg.bind_address.empty())
      fail("engine.bind_address", ec::invalid_config,
           "[engine] bind_address is empty: use \"127.0.0.1\" (the "
           "default), \"*\" or an interface address");
    for (auto [value, key] :
         {std::pair{cfg.queue_capacity, "queue_capacity"},
          std::pair{cfg.delivery_window, "delivery_window"},
          std::pair{cfg.publish_window, "publish_window"},
          std::pair{cfg.max_connections, "max_connections"}})
      if (value == 0)
        fail(std::string{"engine."} + key, ec::invalid_config,
             std::string{"[engine] "} + key + " must be at least 1");
    if (!cfg.enable_tcp)
      return; // no raw ports (plugin ports are checked per plugin)
    if (port_in_range(cfg.publish_port, "engine.publish_port",
                      "[engine] publish_port"))
      claim(cfg.publish_port, "the engine's publish_port",
            "engine.publish_port");
    if (port_in_range(cfg.subscribe_port, "engine.subscribe_port",
                      "[engine] subscribe_port"))
      claim(cfg.subscribe_port, "the engine's subscribe_port",
            "engine.subscribe_port");
  }

  void plugin(const external_plugin_config& p) {
    auto field = "plugin." + p.name;
    if (auto problem = plugin_name_problem(p.name, true); !problem.empty())
      fail(field, ec::invalid_config, problem);
    for (auto& [key, value] : p.env)
      if (key.empty() ||
          key.find_first_of(std::string{"=\0", 2}) != std::string::npos)
        fail(field + ".env", ec::invalid_config,
             "plugin '" + p.name + "': environment variable name '" + key +
                 "' is empty or contains '='");
    if (port_in_range(p.port, field + ".port", "plugin '" + p.name + "' port"))
      claim(p.port, "plugin '" + p.name + "'", field + ".port");
    if (!p.command.empty() && find_executable(p.command[0]).empty())
      fail(field + ".command", ec::launch_failed,
           "plugin '" + p.name + "': command '" + p.command[0] +
               "' not found (not an executable file, nor in PATH): install "
               "it, fix the path (relative paths start from the file's "
               "folder) or leave command out to start the plugin by hand");
    struct stat sb;
    if (!p.working_dir.empty() &&
        (::stat(p.working_dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode)))
      fail(field + ".working_dir", ec::launch_failed,
           "plugin '" + p.name + "': working directory '" + p.working_dir +
               "' does not exist");
  }

  void federation(const federation_config& f) {
    const std::string s = "[federation]";
    bool any = !f.listen.empty() || !f.peers.empty() || f.uses_tls();
    if (!f.enabled()) {
      if (any)
        fail("federation", ec::invalid_config,
             s + " needs a name: name = \"site-a\" (unique in the "
                 "federation)");
      return;
    }
    if (f.name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnop"
                                 "qrstuvwxyz0123456789_.-") !=
        std::string::npos)
      fail("federation.name", ec::invalid_config,
           s + " name '" + f.name +
               "' may contain only letters, digits, '_', '.' and '-'");
    if (f.buffer_bytes == 0)
      fail("federation.buffer_bytes", ec::invalid_config,
           s + " buffer_bytes must be at least 1");
    std::string lhost;
    int lport = -1;
    if (!f.listen.empty() && address(f.listen, "federation.listen",
                                     s + " listen", true, lhost, lport))
      claim(lport, s + " listen", "federation.listen");
    std::map<std::string, std::size_t> seen;
    for (std::size_t i = 0; i < f.peers.size(); ++i) {
      auto field = "federation.peers." + std::to_string(i);
      std::string host;
      int port = -1;
      if (!address(f.peers[i], field, s + " peer", false, host, port))
        continue;
      if (!seen.emplace(f.peers[i], i).second)
        fail(field, ec::invalid_config,
             s + " peer '" + f.peers[i] + "' is listed twice");
      if (port == lport && (host == lhost || local(host) && local(lhost)))
        fail(field, ec::invalid_config,
             s + " peer '" + f.peers[i] +
                 "' is this engine's own listen address: list the other "
                 "engines");
    }
    if (f.uses_tls())
      tls_files(f.tls);
  }

  void tls_files(const federation_tls_config& tls) {
    using federation::tls_file;
    const std::pair<const std::string*, const char*> files[] = {
        {&tls.certificate, "certificate"}, {&tls.key, "key"}, {&tls.ca, "ca"}};
    auto before = out_.size();
    for (auto [path, key] : files)
      readable(*path, std::string{"federation.tls."} + key,
               "[federation.tls] " + std::string{key});
    if (out_.size() != before)
      return;
    // As OpenSSL loads them: CAF would abort the engine on a bad one at
    // its first connection.
    auto p = federation::check_tls_files(tls.certificate, tls.key, tls.ca);
    if (p.which == tls_file::none)
      return;
    auto [path, key] = files[p.which == tls_file::certificate ? 0
                             : p.which == tls_file::key       ? 1
                                                              : 2];
    fail(std::string{"federation.tls."} + key, ec::invalid_config,
         "[federation.tls] " + std::string{key} + " '" + *path + "' " + p.text);
  }

private:
  // Checks `HOST:PORT` (with `zero_ok`, port 0 means any).
  bool address(const std::string& text, const std::string& field,
               const std::string& who, bool zero_ok, std::string& host,
               int& port) {
    auto colon = text.rfind(':');
    auto digits =
        colon == std::string::npos ? std::string{} : text.substr(colon + 1);
    host = colon == std::string::npos ? std::string{} : text.substr(0, colon);
    bool ok = !host.empty() && !digits.empty() && digits.size() <= 5 &&
              digits.find_first_not_of("0123456789") == std::string::npos;
    port = ok ? std::stoi(digits) : -1;
    if (ok && port <= 65535 && (zero_ok || port > 0))
      return true;
    fail(field, ec::invalid_config,
         who + " '" + text + "' is not HOST:PORT with a port in " +
             (zero_ok ? "0..65535 (0 = any free port)" : "1..65535") +
             ", e.g. \"10.0.0.2:7100\"");
    return false;
  }

  static bool local(const std::string& host) {
    return host == "0.0.0.0" || host == "*" || host == "localhost" ||
           host == "::" || host == "[::]" || host == "[::1]" ||
           host.rfind("127.", 0) == 0;
  }

  void readable(const std::string& path, const std::string& field,
                const std::string& who) {
    if (path.empty()) {
      fail("federation.tls", ec::invalid_config,
           who + " is not set: certificate, key and ca go together");
      return;
    }
    struct stat sb;
    if (::stat(path.c_str(), &sb) != 0 || !S_ISREG(sb.st_mode) ||
        ::access(path.c_str(), R_OK) != 0)
      fail(field, ec::invalid_config,
           who + " '" + path +
               "' is not a readable file (relative paths "
               "start from the file's folder)");
  }

  const setting_locator& where_;
  std::vector<setting_problem>& out_;
  std::map<int, std::pair<std::string, std::string>> used_; // who, field
};

} // namespace

std::string plugin_name_problem(const std::string& name, bool external) {
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if (std::iscntrl(u))
      return "a plugin name contains a control character: use printable "
             "names";
    if (external && (std::isspace(u) || c == '='))
      return "external plugin '" + name +
             "': the name may not contain white space or '=' (it is printed "
             "in the ready line)";
  }
  return {};
}

std::vector<setting_problem>
validate_app(const app_config& cfg,
             const std::vector<const external_plugin_config*>& plugins,
             const setting_locator& where) {
  std::vector<setting_problem> result;
  validator v{where, result};
  v.engine(cfg);
  for (auto p : plugins)
    v.plugin(*p);
  v.federation(cfg.federation);
  if (cfg.enable_tcp || !plugins.empty())
    resolve_security(cfg.security, plugins, result);
  return result;
}

} // namespace ee
