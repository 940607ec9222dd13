#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ee/app.hpp"
#include "ee/config_file.hpp"
#include "ee/plugin_library.hpp"

namespace ee::host {

/// Loads the shared libraries of an app's `library` plugins, checks them
/// (entry point, ABI version, factory) and builds each plugin once to check
/// its configuration. Libraries stay loaded until the process exits (a
/// plugin's code must outlive every instance and every thread it started).
class plugin_loader {
public:
  /// Loads and checks every library plugin of `desc`. @returns the errors
  /// (with the `[[plugin]]` entry's position), empty if all are usable.
  std::vector<diagnostic> load(const app_description& desc);

  /// Checks, without loading anything, that each library plugin's library
  /// given as a path is a file. @returns an error per missing one, with
  /// the text `load` gives for it.
  std::vector<diagnostic> locate(const app_description& desc) const;

  /// Registers the plugins of `desc` with `app` in file order: external
  /// ones as they are, library ones with a factory (called again for every
  /// restart). @pre `load(desc)` returned no error.
  void register_plugins(app& a, const app_description& desc);

  /// @returns "NAME: library PATH (version V, built with event-engine E)"
  /// lines for `check`.
  std::vector<std::string> describe() const;

private:
  struct library {
    std::string path;
    const plugin_library_info* info = nullptr;
  };

  struct prepared {
    library_factory make = nullptr;
    std::string library_path;
    // The instance built by `load`, handed out at registration.
    std::unique_ptr<plugin_base> first;
  };

  // @returns the library (loaded once per path) or an error text.
  const library* open(const library_plugin_config& p, std::string& problem);

  std::map<std::string, library> libraries_; // by resolved path
  std::map<std::string, prepared> plugins_;  // by plugin name
};

} // namespace ee::host
