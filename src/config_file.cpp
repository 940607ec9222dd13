#include "ee/config_file.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>

#include "app_validation.hpp"
#include "config/loader.hpp"
#include "ee/engine_events.hpp"

namespace ee {

namespace {

std::string read_file(const std::string& path, bool& ok) {
  std::ifstream in{path, std::ios::binary};
  ok = static_cast<bool>(in);
  std::stringstream buf;
  if (ok)
    buf << in.rdbuf();
  return buf.str();
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

expected<app_description> config_report::result() && {
  if (!ok())
    return error{ec::config_file, errors()};
  return std::move(description);
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
  for (auto& t : engine_event_types())
    if (t.name() == name)
      return &t;
  return nullptr;
}

// -- reading ------------------------------------------------------------------

config_report read_config(std::string_view text, const std::string& base_dir,
                          const std::string& file) {
  return config::loader{file, base_dir}.run(text);
}

config_report read_config_file(const std::string& path) {
  // Not a folder, a FIFO or a device: read only a regular file (a FIFO
  // would block).
  struct stat sb;
  if (::stat(path.c_str(), &sb) == 0 && !S_ISREG(sb.st_mode)) {
    config_report report;
    report.description.file = path;
    report.diagnostics.push_back(diagnostic{
        severity::error, source_position{path, 0, 0},
        S_ISDIR(sb.st_mode)
            ? "cannot read the config file: it is a folder; give the app's "
              "TOML file"
            : "cannot read the config file: it is not a regular file"});
    return report;
  }
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

// -- the environment ----------------------------------------------------------

std::vector<diagnostic> check_environment(const app_description& d) {
  std::vector<const external_plugin_config*> plugins;
  for (auto& p : d.plugins)
    plugins.push_back(&p);
  auto where = [&](const std::string& field) {
    auto at = d.position(field);
    return at.line > 0 ? " (line " + std::to_string(at.line) + ")"
                       : std::string{};
  };
  std::vector<diagnostic> result;
  for (auto& x : validate_app(d.config, plugins, where))
    result.push_back(diagnostic{x.warning ? severity::warning : severity::error,
                                d.position(x.field), std::move(x.message)});
  return result;
}

} // namespace ee
