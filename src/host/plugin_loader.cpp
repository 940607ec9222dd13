#include "host/plugin_loader.hpp"

#include <dlfcn.h>
#include <sys/stat.h>

#include "ee/error.hpp"
#include "util/text.hpp"

namespace ee::host {

namespace {

bool is_file(const std::string& path) {
  struct stat sb;
  return ::stat(path.c_str(), &sb) == 0 && S_ISREG(sb.st_mode);
}

using entry_point = const plugin_library_info* (*)();

std::string text_or(const char* s, const char* fallback = "?") {
  return s ? s : fallback;
}

// A bare name is looked up in the search path first, then by dlopen.
std::string library_path(const library_plugin_config& p) {
  if (p.library.find('/') == std::string::npos)
    for (auto& dir : p.search_path)
      if (is_file(dir + "/" + p.library))
        return dir + "/" + p.library;
  return p.library;
}

// @returns why the library of `p` cannot be loaded without trying, or "".
std::string missing(const library_plugin_config& p) {
  auto path = library_path(p);
  if (path.find('/') == std::string::npos || is_file(path))
    return {};
  return "cannot load library '" + p.library + "': '" + path +
         "' is not a file (relative paths start from the app file's folder)";
}

} // namespace

std::vector<diagnostic>
plugin_loader::locate(const app_description& desc) const {
  std::vector<diagnostic> result;
  for (auto& p : desc.library_plugins)
    if (auto problem = missing(p); !problem.empty())
      result.push_back(diagnostic{
          severity::error, desc.position("plugin." + p.name + ".library"),
          "plugin '" + p.name + "': " + problem});
  return result;
}

const plugin_loader::library*
plugin_loader::open(const library_plugin_config& p, std::string& problem) {
  problem = missing(p);
  if (!problem.empty())
    return nullptr;
  auto path = library_path(p);
  if (auto i = libraries_.find(path); i != libraries_.end())
    return &i->second;
  ::dlerror();
  // RTLD_NOW: a symbol the host lacks (a plugin built against a newer
  // event-engine) fails here, not in the middle of a run. RTLD_LOCAL: two
  // plugin libraries never see each other's symbols.
  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    problem = "cannot load library '" + p.library +
              "': " + (why ? why : "unknown error");
    if (path.find('/') == std::string::npos)
      problem += " (looked in " + util::join(p.search_path) +
                 " and the system's library path; set EE_PLUGIN_PATH to "
                 "the folder that holds it, or give a path)";
    return nullptr;
  }
  auto entry =
      reinterpret_cast<entry_point>(::dlsym(handle, plugin_entry_symbol));
  if (!entry) {
    problem = "library '" + path + "' has no entry point " +
              plugin_entry_symbol +
              "(): it is not an event-engine plugin library; define one "
              "with EE_PLUGIN(...) from <ee/plugin_library.hpp>";
    return nullptr;
  }
  auto info = entry();
  if (!info) {
    problem = "library '" + path + "': " + plugin_entry_symbol +
              "() returned nothing";
    return nullptr;
  }
  // Only abi_version may be read before it is known to match.
  if (info->abi_version != plugin_abi_version) {
    problem = "library '" + path + "' was built for plugin ABI version " +
              std::to_string(info->abi_version) + ", but this event-engine (" +
              EE_VERSION + ") loads ABI version " +
              std::to_string(plugin_abi_version) +
              ": rebuild the library against this event-engine's headers";
    return nullptr;
  }
  auto [i, added] = libraries_.emplace(path, library{path, info});
  return &i->second;
}

std::vector<diagnostic> plugin_loader::load(const app_description& desc) {
  std::vector<diagnostic> result;
  for (auto& p : desc.library_plugins) {
    auto key = "plugin." + p.name;
    auto fail = [&](const std::string& suffix, std::string message) {
      result.push_back(diagnostic{severity::error, desc.position(key + suffix),
                                  "plugin '" + p.name + "': " + message});
    };
    if (p.library.empty() || p.factory.empty())
      continue; // reported by the loader
    std::string problem;
    auto lib = open(p, problem);
    if (!lib) {
      fail(".library", problem);
      continue;
    }
    library_factory make = nullptr;
    std::vector<std::string> names;
    for (std::size_t i = 0; i < lib->info->factory_count; ++i) {
      auto& entry = lib->info->factories[i];
      if (!entry.name)
        continue;
      names.emplace_back(entry.name);
      if (p.factory == entry.name)
        make = entry.make;
    }
    if (!make) {
      std::string msg = "library '" + lib->path + "' (version " +
                        text_or(lib->info->library_version) +
                        ") has no factory '" + p.factory + "'";
      auto guess = util::closest(p.factory, names);
      if (!guess.empty())
        msg += "; did you mean '" + guess + "'?";
      if (guess.empty())
        msg += '.';
      msg += names.empty() ? " It has none." : " It has: " + util::join(names);
      fail(".factory", msg);
      continue;
    }
    std::unique_ptr<plugin_base> first;
    try {
      first = make(p.config);
    } catch (const std::exception& e) {
      // The plugin's own errors often name it already (plugin_config).
      std::string what = e.what();
      auto named = "plugin '" + p.name + "': ";
      if (what.rfind(named, 0) == 0)
        what.erase(0, named.size());
      fail("", "factory '" + p.factory + "' failed: " + what);
      continue;
    } catch (...) {
      fail("", "factory '" + p.factory + "' threw a non-standard exception");
      continue;
    }
    if (!first) {
      fail("", "factory '" + p.factory + "' returned no plugin");
      continue;
    }
    std::string name;
    try {
      name = first->name();
    } catch (const std::exception& e) {
      fail("", std::string{"its name() threw: "} + e.what());
      continue;
    }
    if (name != p.name) {
      fail("", "factory '" + p.factory + "' made a plugin named '" + name +
                   "', not '" + p.name +
                   "': return plugin_config::name() from name(), so that "
                   "each [[plugin]] entry names its own plugin");
      continue;
    }
    plugins_[p.name] = prepared{make, lib->path, std::move(first)};
  }
  return result;
}

void plugin_loader::register_plugins(app& a, const app_description& desc) {
  for (auto& name : desc.plugin_order) {
    for (auto& p : desc.plugins)
      if (p.name == name)
        a.register_external_plugin(p);
    for (auto& p : desc.library_plugins) {
      if (p.name != name)
        continue;
      auto& prep = plugins_.at(name);
      // The instance built by load() serves the first start; restarts call
      // the library's factory again.
      auto first =
          std::make_shared<std::unique_ptr<plugin_base>>(std::move(prep.first));
      auto cfg = std::make_shared<plugin_config>(p.config);
      auto make = prep.make;
      a.register_plugin(
          [first, cfg, make]() -> std::unique_ptr<plugin_base> {
            if (*first)
              return std::move(*first);
            return make(*cfg);
          },
          p.options);
    }
  }
}

std::vector<std::string> plugin_loader::describe() const {
  std::vector<std::string> result;
  for (auto& [name, prep] : plugins_) {
    auto& info = *libraries_.at(prep.library_path).info;
    result.push_back(name + ": " + prep.library_path + " (version " +
                     text_or(info.library_version) +
                     ", built with event-engine " +
                     text_or(info.engine_version) + ")");
  }
  return result;
}

} // namespace ee::host
