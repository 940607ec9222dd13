#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

#include "bridge/address.hpp"
#include "bridge/curve_keys.hpp"
#include "host/commands.hpp"

namespace ee::host {

namespace {

namespace fs = std::filesystem;

std::string now_text() {
  auto t = std::time(nullptr);
  std::tm tm{};
  ::localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

// Writes `text` to `path` with `mode`: a new file (O_EXCL), or with `force`
// a temporary file renamed over it. @returns an error text, empty on
// success.
std::string write_file(const std::string& path, const std::string& text,
                       mode_t mode, bool force) {
  std::string target = path;
  int fd = -1;
  if (force) {
    target = path + ".tmp-XXXXXX";
    fd = ::mkstemp(target.data());
  } else {
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  }
  if (fd < 0)
    return std::strerror(errno);
  std::string err;
  // Exactly `mode`, whatever the umask or mkstemp chose.
  if (::fchmod(fd, mode) != 0)
    err = std::strerror(errno);
  std::size_t done = 0;
  while (err.empty() && done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno != EINTR)
      err = std::strerror(errno);
    else if (n > 0)
      done += static_cast<std::size_t>(n);
  }
  if (err.empty() && ::fsync(fd) != 0)
    err = std::strerror(errno);
  ::close(fd);
  if (err.empty() && force && ::rename(target.c_str(), path.c_str()) != 0)
    err = std::strerror(errno);
  if (!err.empty())
    ::unlink(target.c_str());
  return err;
}

} // namespace

int keygen_command(const keygen_options& opts) {
  auto fail = [](const std::string& text, int rc) {
    std::cerr << "event-engine keygen: " << text << '\n';
    return rc;
  };
  if (opts.name.empty() || opts.name == "." || opts.name == ".." ||
      opts.name.find('/') != std::string::npos)
    return fail("NAME '" + opts.name +
                    "' must be a plain file name (no '/'): the pair is "
                    "written to DIR/NAME.key and DIR/NAME.key_secret",
                exit_usage);
  std::error_code code;
  fs::create_directories(opts.dir, code);
  if (code)
    return fail("cannot create the folder '" + opts.dir +
                    "': " + code.message(),
                exit_usage);
  auto base = (fs::path{opts.dir} / opts.name).string();
  auto pub_path = base + ".key";
  auto sec_path = base + ".key_secret";
  if (!opts.force) {
    for (auto& p : {pub_path, sec_path})
      if (fs::exists(p, code))
        return fail(p + " already exists: pass --force to replace the pair "
                        "(clients that use the old key lose access)",
                    exit_usage);
  }
  auto pair = curve::generate();
  if (!pair)
    return fail(pair.error().message(), exit_failed);
  auto when = now_text();
  // The secret first: a public key without its secret is of no use.
  if (auto err = write_file(sec_path, curve::format(*pair, true, when), 0600,
                            opts.force);
      !err.empty())
    return fail("cannot write " + sec_path + ": " + err, exit_failed);
  if (auto err = write_file(pub_path, curve::format(*pair, false, when), 0644,
                            opts.force);
      !err.empty()) {
    ::unlink(sec_path.c_str());
    return fail("cannot write " + pub_path + ": " + err, exit_failed);
  }
  std::cout << "event-engine keygen: wrote " << pub_path
            << " (public: give it to the other side)\n"
            << "event-engine keygen: wrote " << sec_path
            << " (secret, mode 0600: keep it private)\n"
            << "public key: " << pair->public_key << std::endl;
  return exit_ok;
}

std::optional<diagnostic> exposure_warning(const app_description& d) {
  if (address::is_loopback(d.config.bind_address) || d.config.security.curve)
    return std::nullopt;
  if (!d.config.enable_tcp && d.plugins.empty())
    return std::nullopt;
  auto port = [](int p) {
    return p == 0 ? std::string{"a free port"} : std::to_string(p);
  };
  std::vector<std::string> parts;
  if (d.config.enable_tcp) {
    parts.push_back("publish events to every plugin on the publish port (" +
                    port(d.config.publish_port) + ")");
    parts.push_back("read every event on the subscribe port (" +
                    port(d.config.subscribe_port) + ")");
  }
  for (auto& p : d.plugins)
    parts.push_back("take the events of plugin '" + p.name +
                    "' and publish as it on its port (" + port(p.port) + ")");
  std::string ports;
  for (std::size_t i = 0; i < parts.size(); ++i)
    ports += (i == 0 ? "" : i + 1 == parts.size() ? ", and " : ", ") + parts[i];
  return diagnostic{
      severity::warning, d.position("engine.bind_address"),
      "bind_address '" + d.config.bind_address +
          "' is not a loopback address and CURVE is off, so anyone who can "
          "reach this host can " +
          ports +
          ". Add [engine.security] curve = true (docs/security.md) or bind "
          "127.0.0.1"};
}

} // namespace ee::host
