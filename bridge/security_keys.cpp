#include "bridge/security_keys.hpp"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <sys/stat.h>

#include "bridge/curve_keys.hpp"

namespace ee {

namespace {

// Collects the problems of one resolve_security call.
class key_reader {
public:
  explicit key_reader(std::vector<setting_problem>& problems)
      : problems_(problems) {
    // nop
  }

  void fail(const std::string& field, const std::string& setting,
            const error& err) {
    problems_.push_back(setting_problem{field, ec::invalid_config, false,
                                        setting + ": " + err.message()});
  }

  void warn(const std::string& field, std::string message) {
    problems_.push_back(
        setting_problem{field, ec::invalid_config, true, std::move(message)});
  }

  // Adds the public key of the certificate `file` to `out`; warns if
  // others may change the file (then they choose who is admitted).
  bool public_file(const std::string& field, const std::string& setting,
                   const std::string& file, key_set& out) {
    auto cert = curve::load(file, false);
    if (!cert) {
      fail(field, setting, cert.error());
      return false;
    }
    writable_by_others(field, "allowed key file", file);
    out.insert(*curve::decode(cert->public_key, "the key"));
    return true;
  }

  // Reads a secret certificate; warns if others may read it.
  std::optional<curve::certificate> secret_file(const std::string& field,
                                                const std::string& setting,
                                                const std::string& file) {
    auto cert = curve::load(file, true);
    if (!cert) {
      fail(field, setting, cert.error());
      return std::nullopt;
    }
    struct stat sb;
    if (::stat(file.c_str(), &sb) == 0 && (sb.st_mode & 077) != 0)
      warn(field, "secret key file '" + file +
                      "' can be read by other users (mode " + mode(sb) +
                      "): chmod 600 '" + file + "'");
    return std::move(*cert);
  }

  // As sshd's StrictModes: a file or folder that decides who is admitted
  // must not be writable by the group or by others.
  void writable_by_others(const std::string& field, const std::string& what,
                          const std::string& path) {
    struct stat sb;
    if (::stat(path.c_str(), &sb) == 0 && (sb.st_mode & 022) != 0)
      warn(field, what + " '" + path +
                      "' can be changed by other users (mode " + mode(sb) +
                      "): whoever writes there chooses who is admitted; "
                      "chmod go-w '" +
                      path + "'");
  }

private:
  static std::string mode(const struct stat& sb) {
    char text[8];
    std::snprintf(text, sizeof(text), "%04o",
                  static_cast<unsigned>(sb.st_mode & 07777));
    return text;
  }

  std::vector<setting_problem>& problems_;
};

// The engine's key pair.
void engine_pair(const security_config& sec, key_reader& r,
                 resolved_security& out) {
  std::string secret_z85;
  std::string field = "engine.security.secret_key";
  if (!sec.secret_key.empty()) {
    secret_z85 = sec.secret_key;
  } else if (!sec.secret_key_file.empty()) {
    field = "engine.security.secret_key_file";
    auto cert = r.secret_file(field, "[engine.security] secret_key_file",
                              sec.secret_key_file);
    if (!cert)
      return;
    secret_z85 = cert->secret_key;
  } else {
    r.fail("engine.security.curve", "[engine.security] curve = true",
           error{ec::invalid_config,
                 "the engine has no key pair: set secret_key_file = "
                 "\"server.key_secret\" (write one with `event-engine "
                 "keygen server`)"});
    return;
  }
  auto secret = curve::decode(secret_z85, "the key");
  auto pub = secret ? curve::public_of(secret_z85) : secret;
  if (!pub) {
    r.fail(field, "[engine.security] secret_key", pub.error());
    return;
  }
  out.secret = std::move(*secret);
  out.public_z85 = std::move(*pub);
}

// The engine's allow-list: the folder, the files, the Z85 keys.
void engine_list(const security_config& sec, key_reader& r,
                 resolved_security& out) {
  if (!sec.allowed_clients_dir.empty()) {
    std::string field = "engine.security.allowed_clients_dir";
    std::string setting = "[engine.security] allowed_clients_dir";
    if (auto certs = curve::load_dir(sec.allowed_clients_dir); !certs) {
      r.fail(field, setting, certs.error());
    } else {
      r.writable_by_others(field, "allowed clients folder",
                           sec.allowed_clients_dir);
      namespace fs = std::filesystem;
      std::error_code code;
      for (fs::directory_iterator it{sec.allowed_clients_dir, code}, end;
           !code && it != end; it.increment(code))
        if (it->path().extension() == ".key")
          r.writable_by_others(field, "allowed key file", it->path().string());
      for (auto& c : *certs)
        out.global.insert(*curve::decode(c.public_key, "the key"));
      out.global_source =
          "allowed_clients_dir '" + sec.allowed_clients_dir + "'";
    }
  }
  auto& files = sec.allowed_key_files;
  for (std::size_t i = 0; i < files.size(); ++i)
    r.public_file("engine.security.allowed_keys." + std::to_string(i),
                  "[engine.security] allowed_keys", files[i], out.global);
  for (std::size_t i = 0; i < sec.allowed_keys.size(); ++i) {
    auto what = "security_config::allowed_keys[" + std::to_string(i) + "]";
    if (auto bytes = curve::decode(sec.allowed_keys[i], "the key"))
      out.global.insert(std::move(*bytes));
    else
      r.fail("engine.security.allowed_z85." + std::to_string(i), what,
             bytes.error());
  }
  if (!sec.allowed_keys.empty() || !files.empty())
    out.global_source += std::string{out.global_source.empty() ? "" : " and "} +
                         "the engine's allowed keys";
  if (out.global_source.empty())
    out.global_source = "the engine's allow-list is empty";
}

// One plugin's own list, or the engine's.
resolved_security::plugin_keys plugin(const external_plugin_config& p,
                                      const resolved_security& r_sec,
                                      key_reader& r) {
  resolved_security::plugin_keys pk;
  auto field = "plugin." + p.name;
  auto who = "plugin '" + p.name + "' ";
  for (std::size_t i = 0; i < p.allowed_keys.size(); ++i) {
    if (auto bytes = curve::decode(p.allowed_keys[i], "the key"))
      pk.keys.insert(std::move(*bytes));
    else
      r.fail(field + ".allowed_z85." + std::to_string(i),
             who + "allowed_keys[" + std::to_string(i) + "]", bytes.error());
  }
  for (std::size_t i = 0; i < p.allowed_key_files.size(); ++i)
    r.public_file(field + ".allowed_keys." + std::to_string(i),
                  who + "allowed_keys", p.allowed_key_files[i], pk.keys);
  // A plugin with keys of its own (a list, or its process's key) admits
  // only those: no other client can take its events.
  bool listed = !p.allowed_keys.empty() || !p.allowed_key_files.empty();
  if (!listed && p.client_key_file.empty()) {
    pk.keys = r_sec.global;
    pk.source = r_sec.global_source;
    return pk;
  }
  if (listed)
    pk.source = "the allowed keys of plugin '" + p.name + "'";
  if (p.client_key_file.empty())
    return pk;
  auto cert = r.secret_file(field + ".client_key_file", who + "client_key_file",
                            p.client_key_file);
  if (!cert)
    return pk;
  auto own = *curve::decode(cert->public_key, "the key");
  if (r_sec.global.count(own) > 0)
    r.warn(field + ".client_key_file",
           who +
               "client_key_file: its public key is also on the engine's "
               "allow-list (" +
               r_sec.global_source +
               "), so its process may also read every event on the "
               "subscribe port and publish any type on the publish port; "
               "keep plugin keys out of the engine's list "
               "(docs/security.md)");
  pk.keys.insert(std::move(own));
  pk.source += std::string{listed ? " and " : ""} +
               "the client_key_file of plugin '" + p.name + "'";
  std::error_code code;
  auto abs = std::filesystem::absolute(p.client_key_file, code);
  pk.client_key_file = code ? p.client_key_file : abs.string();
  return pk;
}

} // namespace

resolved_security
resolve_security(const security_config& sec,
                 const std::vector<const external_plugin_config*>& plugins,
                 std::vector<setting_problem>& problems) {
  resolved_security result;
  if (!sec.curve)
    return result;
  key_reader r{problems};
  if (!curve::available()) {
    r.fail("engine.security.curve", "[engine.security] curve = true",
           error{ec::invalid_config,
                 "this libzmq has no CURVE support (it needs libsodium): "
                 "install Debian's libzmq5"});
    return result;
  }
  engine_pair(sec, r, result);
  engine_list(sec, r, result);
  for (auto p : plugins)
    result.plugins.push_back(plugin(*p, result, r));
  return result;
}

} // namespace ee
