#pragma once

// The TOML reader behind `read_config` (src/config_file.cpp): maps the keys
// of an app file to the fields of `app_description`, checking each key's
// type and range. Rules about the settings themselves live in one place,
// `validate_app` (src/app_validation.hpp), which `check_environment` runs.
// Split by job: loader.cpp (the file, [engine], [engine.security]),
// types.cpp ([types], prefixes, subscriptions), plugins.cpp ([[plugin]]).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "ee/config_file.hpp"
#include "ee/names.hpp"
#include "util/text.hpp"

namespace ee::config {

/// Upper bound of size and duration settings.
constexpr long long max_size = 1LL << 40;

/// @returns true if `xs` holds `x`.
bool contains(const std::vector<std::string>& xs, std::string_view x);

/// @returns "a table", "an integer", ... for messages.
const char* type_name(const toml::node& n);

/// @returns `path` relative to `base` (unchanged if absolute or empty).
std::string resolve(const std::string& base, const std::string& path);

/// Reads one file into a `config_report`: every check appends a diagnostic
/// and carries on, so one pass reports every problem.
class loader {
public:
  /// `file` names the text in diagnostics; relative paths in it are
  /// resolved against `base_dir`.
  loader(std::string file, std::string base_dir)
      : file_(std::move(file)), base_dir_(std::move(base_dir)) {
    report_.description.file = file_;
  }

  /// Reads `text`. @returns every problem and what could be read.
  config_report run(std::string_view text);

private:
  // -- diagnostics
  // ---------------------------------------------------------------

  source_position position(std::size_t line, std::size_t column) const;
  source_position position(const toml::source_region& src) const;
  void add(severity sev, std::size_t line, std::size_t column,
           std::string message);
  void add(severity sev, const source_position& where, std::string message);
  void fail(const toml::node& n, std::string message);
  void fail(const toml::source_region& src, std::string message);
  void remember(const std::string& key, const toml::node& n);
  config_report finish();

  // -- generic readers
  // ---------------------------------------------------------

  void unknown_keys(const toml::table& t, const std::vector<std::string>& known,
                    const std::string& section,
                    const std::vector<std::string>& elsewhere = {},
                    const std::string& elsewhere_hint = {});

  // Reads an integer in lo..hi into `out`. @returns false if absent or bad.
  template <class T>
  bool integer(const toml::table& t, const char* key, T& out, long long lo,
               long long hi, const std::string& section) {
    auto n = t.get(key);
    if (!n)
      return false;
    // Not value<long long>(): toml++ converts a float to it with a cast
    // that is undefined beyond 64 bits (`port = 7e200`).
    auto i = n->as_integer();
    if (!i) {
      fail(*n, section + " " + key + " must be an integer (" +
                   util::show_range(lo, hi) + "), not " + type_name(*n));
      return false;
    }
    long long v = i->get();
    if (v < lo || v > hi) {
      fail(*n, section + " " + key + " is " + std::to_string(v) +
                   ", out of range " + util::show_range(lo, hi));
      return false;
    }
    out = static_cast<T>(v);
    return true;
  }
  bool milliseconds(const toml::table& t, const char* key,
                    std::chrono::milliseconds& out, long long lo,
                    const std::string& section);
  bool string(const toml::table& t, const char* key, std::string& out,
              const std::string& section);
  void boolean(const toml::table& t, const char* key, bool& out,
               const std::string& section);

  // Reads a value named in names.hpp. @returns false if absent or bad.
  template <class E>
  bool enumeration(const toml::table& t, const char* key, E& out,
                   const std::string& section) {
    std::string text;
    if (!string(t, key, text, section))
      return false;
    if (auto value = from_name<E>(text)) {
      out = *value;
      return true;
    }
    std::vector<std::string> names;
    for (auto& entry : enum_names<E>::table)
      names.emplace_back(entry.second);
    std::string msg = section + " " + key + " is '" + text + "'";
    auto guess = util::closest(text, names);
    if (!guess.empty())
      msg += "; did you mean '" + guess + "'?";
    msg += (guess.empty() ? ". Use " : " Use ") + names_of<E>();
    fail(*t.get(key), msg);
    return false;
  }

  // -- [engine]
  // ----------------------------------------------------------------

  void engine(const toml::table& t);

  // [engine] inherit_env: an array of variable names (or NAME* patterns).
  void inherit_env(const toml::table& t, app_config& c);

  // -- [engine.security]
  // ---------------------------------------------------------

  void security(const toml::table& t);

  // Reads a path relative to the file's folder. @returns false if absent
  // or bad.
  bool path(const toml::table& t, const char* key, std::string& out,
            const std::string& section, const std::string& example);

  // allowed_keys = ["clients/a.key", ...]: public certificate files,
  // relative to the file's folder; their positions are remembered as
  // "<where>.allowed_keys.<index>".
  void key_files(const toml::table& t, const std::string& section,
                 const std::string& where, std::vector<std::string>& out);

  // Settings that only make sense together.
  void security_checks();

  // -- [federation] (federation.cpp)

  void federation(const toml::table& t);
  void federation_tls(const toml::table& t);

  // -- prefixes
  // ------------------------------------------------------------------

  // The bytes of `{ hex = "..." }`, `{ prefix = "..." }` (if allowed) or
  // `[1, 0]`; `what` names the setting in messages.
  std::optional<std::string>
  literal(const toml::node& n, const std::string& what, bool allow_prefix_key);

  // TOML stores text as UTF-8: "\u00ff" is the bytes c3 bf, not ff.
  void non_ascii_warning(const toml::node& n, const std::string& what,
                         const std::string& bytes);

  // -- [types]
  // -------------------------------------------------------------------

  void types(const toml::table& t);

  // A type's prefix that starts another's: its subscribers get both. One
  // warning per such pair, at most `max_type_warnings` (then one that counts
  // the rest): a file of many types with one prefix would otherwise get a
  // warning per pair, quadratic in time and memory.
  void type_warnings();

  // -- subscriptions ---------------------------------------------------------

  std::vector<event_type> subscriptions(const toml::table& t,
                                        const std::string& section);

  // -- [[plugin]]
  // ----------------------------------------------------------------

  void plugin(const toml::table& t, std::size_t index);
  void external_plugin(const toml::table& t, const std::string& section,
                       const std::string& name, std::vector<event_type> subs,
                       const plugin_options& opts, bool add);
  void library_plugin(const toml::table& t, const std::string& section,
                      const std::string& name, std::vector<event_type> subs,
                      const plugin_options& opts, bool add);
  config_value::table table_value(const toml::table& t,
                                  const std::string& what);
  std::optional<config_value> value(const toml::node& n,
                                    const std::string& what);
  std::string file_;
  std::string base_dir_;
  bool has_types_ = false;

  // Types of [types] whose prefix is wrong (already reported).
  std::vector<std::string> bad_types_;
  config_report report_;
};

} // namespace ee::config
