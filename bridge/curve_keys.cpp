#include "bridge/curve_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

namespace ee::curve {

namespace {

// A certificate is a few hundred bytes; anything much bigger is not one.
constexpr std::size_t max_file_size = 64 * 1024;

constexpr std::string_view z85_alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/"
    "*?&<>()[]{}@%$#";

const char* fix_hint = "write a new pair with `event-engine keygen NAME`";

std::string trim(std::string_view s, std::string_view chars = " \t\r") {
  auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos)
    return {};
  auto e = s.find_last_not_of(chars);
  return std::string{s.substr(b, e - b + 1)};
}

error bad(std::string message) {
  return error{ec::invalid_config, std::move(message)};
}

} // namespace

expected<std::string> decode(std::string_view z85, const std::string& what) {
  if (z85.size() != z85_chars)
    return bad(what + " has " + std::to_string(z85.size()) +
               " characters; a CURVE key in Z85 has " +
               std::to_string(z85_chars));
  for (std::size_t i = 0; i < z85.size(); ++i)
    if (z85_alphabet.find(z85[i]) == std::string_view::npos)
      return bad(what + " has a character that is not Z85 at position " +
                 std::to_string(i + 1));
  std::string text{z85};
  std::string bytes(key_bytes, '\0');
  if (zmq_z85_decode(reinterpret_cast<std::uint8_t*>(bytes.data()),
                     text.c_str()) == nullptr)
    return bad(what + " is not a valid Z85 key");
  return bytes;
}

std::string encode(std::string_view bytes) {
  std::string text(bytes.size() * 5 / 4 + 1, '\0');
  if (zmq_z85_encode(text.data(),
                     reinterpret_cast<const std::uint8_t*>(bytes.data()),
                     bytes.size()) == nullptr)
    return {};
  text.resize(text.size() - 1);
  return text;
}

expected<std::string> public_of(const std::string& secret) {
  if (auto bytes = decode(secret, "the secret key"); !bytes)
    return bytes.error();
  char pub[z85_chars + 1] = {};
  if (zmq_curve_public(pub, secret.c_str()) != 0)
    return bad(std::string{"cannot derive a public key: "} +
               zmq_strerror(errno) +
               " (libzmq without CURVE support? install libzmq5 built with "
               "libsodium)");
  return std::string{pub};
}

expected<certificate> generate() {
  char pub[z85_chars + 1] = {};
  char sec[z85_chars + 1] = {};
  if (zmq_curve_keypair(pub, sec) != 0)
    return error{ec::internal,
                 std::string{"cannot generate a CURVE key pair: "} +
                     zmq_strerror(errno) +
                     " (libzmq without CURVE support? install libzmq5 built "
                     "with libsodium)"};
  return certificate{pub, sec};
}

namespace {

// Reads the file at `path` (at most `max_file_size` + 1 bytes) if it is a
// regular file. Opened without blocking and checked with fstat before any
// read: a FIFO or a device named like a key must not hang the engine.
expected<std::string> read_regular(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return bad("key file '" + path + "' does not exist; " + fix_hint);
    return bad("key file '" + path + "' is not readable (" +
               std::strerror(errno) + ")");
  }
  struct fd_guard {
    int fd;
    ~fd_guard() { ::close(fd); }
  } guard{fd};
  struct stat sb;
  if (::fstat(fd, &sb) != 0)
    return bad("key file '" + path + "' is not readable (" +
               std::strerror(errno) + ")");
  if (S_ISDIR(sb.st_mode))
    return bad("key file '" + path + "' is a folder, not a certificate file");
  if (!S_ISREG(sb.st_mode))
    return bad("key file '" + path +
               "' is not a regular file (a FIFO, socket or device): key "
               "files are read only if they are regular files");
  std::string text(max_file_size + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    auto n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return bad("key file '" + path + "' is not readable (" +
                 std::strerror(errno) + ")");
    if (n == 0)
      break;
    got += static_cast<std::size_t>(n);
  }
  text.resize(got);
  return text;
}

} // namespace

expected<certificate> load(const std::string& path, bool need_secret) {
  auto read = read_regular(path);
  if (!read)
    return read.error();
  auto& text = *read;
  if (text.size() > max_file_size)
    return bad("key file '" + path + "' is larger than " +
               std::to_string(max_file_size) +
               " bytes: not a ZeroMQ certificate");
  certificate cert;
  std::size_t public_line = 0;
  std::size_t secret_line = 0;
  std::istringstream lines{text};
  std::string line;
  std::size_t number = 0;
  while (std::getline(lines, line)) {
    ++number;
    auto stripped = trim(line);
    if (stripped.empty() || stripped.front() == '#')
      continue;
    bool is_public = stripped.rfind("public-key", 0) == 0;
    bool is_secret = stripped.rfind("secret-key", 0) == 0;
    if (!is_public && !is_secret)
      continue;
    auto where = "key file '" + path + "' line " + std::to_string(number);
    auto eq = stripped.find('=');
    if (eq == std::string::npos)
      return bad(where + ": expected " +
                 (is_public ? "public-key" : "secret-key") +
                 " = \"<40 Z85 characters>\"");
    auto value = trim(std::string_view{stripped}.substr(eq + 1), " \t'\"");
    auto name = is_public ? "its public-key" : "its secret-key";
    if (auto bytes = decode(value, where + ": " + name); !bytes)
      return bytes.error();
    // The first occurrence counts (as pyzmq's load_certificate reads it).
    if (is_public && public_line == 0) {
      cert.public_key = value;
      public_line = number;
    } else if (is_secret && secret_line == 0) {
      cert.secret_key = value;
      secret_line = number;
    }
  }
  if (public_line == 0)
    return bad("key file '" + path +
               "' has no public-key line: it is not a ZeroMQ certificate; " +
               fix_hint);
  if (need_secret && secret_line == 0)
    return bad("key file '" + path +
               "' has no secret-key: it is a public certificate (NAME.key); "
               "give the secret one (NAME.key_secret)");
  if (secret_line != 0) {
    auto derived = public_of(cert.secret_key);
    if (!derived)
      return derived.error();
    if (*derived != cert.public_key)
      return bad("key file '" + path + "': the public-key (line " +
                 std::to_string(public_line) +
                 ") does not belong to the secret-key (line " +
                 std::to_string(secret_line) + "); " + fix_hint);
  }
  return cert;
}

expected<std::vector<certificate>> load_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code code;
  if (!fs::is_directory(dir, code))
    return bad(
        "allowed clients folder '" + dir +
        (fs::exists(dir, code) ? "' is not a folder" : "' does not exist"));
  std::vector<std::string> files;
  fs::directory_iterator it{dir, code};
  if (code)
    return bad("allowed clients folder '" + dir + "' is not readable (" +
               code.message() + ")");
  for (; it != fs::directory_iterator{}; it.increment(code)) {
    if (code)
      return bad("allowed clients folder '" + dir + "' is not readable (" +
                 code.message() + ")");
    auto& p = it->path();
    if (p.extension() == ".key" && !it->is_directory(code))
      files.push_back(p.string());
  }
  if (files.empty())
    return bad("allowed clients folder '" + dir +
               "' has no *.key file: put the public certificate (NAME.key) "
               "of every client to admit there");
  std::sort(files.begin(), files.end());
  std::vector<certificate> result;
  for (auto& f : files) {
    auto cert = load(f, false);
    if (!cert)
      return cert.error();
    // A public list needs no secrets: keep only the public key.
    result.push_back(certificate{cert->public_key, {}});
  }
  return result;
}

std::string format(const certificate& cert, bool secret,
                   const std::string& generated) {
  std::string text =
      "#   ****  Generated on " + generated + " by event-engine keygen  ****\n";
  if (secret)
    text += "#   ZeroMQ CURVE **Secret** Certificate\n"
            "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its "
            "permissions.\n";
  else
    text += "#   ZeroMQ CURVE Public Certificate\n"
            "#   Exchange securely, or use a secure mechanism to verify the "
            "contents\n"
            "#   of this file after exchange. Store public certificates in "
            "your home\n"
            "#   directory, in the .curve subdirectory.\n";
  text += "\nmetadata\ncurve\n    public-key = \"" + cert.public_key + "\"\n";
  if (secret)
    text += "    secret-key = \"" + cert.secret_key + "\"\n";
  return text;
}

bool available() noexcept {
  return zmq_has("curve") != 0;
}

} // namespace ee::curve
