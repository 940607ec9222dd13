#pragma once

#include <string>
#include <unordered_set>
#include <vector>

#include "bridge/setting_problem.hpp"
#include "ee/app_config.hpp"
#include "ee/external_plugin.hpp"

namespace ee {

/// A set of CURVE public keys (32 bytes each).
using key_set = std::unordered_set<std::string>;

/// The keys of `app_config::security` and of each external plugin, read
/// from their files and checked.
struct resolved_security {
  /// The engine's secret key (32 bytes) and its public key (Z85).
  std::string secret;
  std::string public_z85;
  /// The engine's allow-list, and words that say where it comes from.
  key_set global;
  std::string global_source;
  /// One per plugin, in the order given.
  struct plugin_keys {
    key_set keys;
    std::string source;
    /// Absolute, or empty.
    std::string client_key_file;
  };
  std::vector<plugin_keys> plugins;
};

/// Reads every key the security settings and the plugins name (with
/// `sec.curve` only; without it, returns nothing). Appends to `problems`
/// an error per missing, unreadable or malformed key (files are read only
/// if they are regular files: a FIFO cannot hang it), and a warning per
/// secret key file other users can read, per allow-list folder or file
/// other users can write, and per plugin whose own key is also on the
/// engine's allow-list. @returns the keys (complete if no error was added).
resolved_security
resolve_security(const security_config& sec,
                 const std::vector<const external_plugin_config*>& plugins,
                 std::vector<setting_problem>& problems);

} // namespace ee
