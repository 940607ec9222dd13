#pragma once

// Writing plugins that `event-engine run` loads from a shared library.
//
// A plugin library exports one entry point, written with `EE_PLUGIN`, that
// names its factories; a `[[plugin]]` entry of the app's TOML file picks
// one by name and gives it a `config` table:
//
// ~~~{.cpp}
// #include <ee/plugin_library.hpp>
//
// class counter : public ee::plugin {
// public:
//   explicit counter(const ee::plugin_config& cfg)
//     : name_(cfg.name()), input_(cfg.type("TypeA")),
//       limit_(cfg.get_int("limit", 5)) {}
//   std::string name() const override { return name_; }
//   std::vector<ee::event_type> subscriptions() const override {
//     return {input_};
//   }
//   void on_event(ee::context& ctx, const ee::event& ev) override { ... }
// private:
//   std::string name_;
//   ee::event_type input_;
//   std::int64_t limit_;
// };
//
// std::unique_ptr<ee::plugin_base> make_counter(const ee::plugin_config& c) {
//   return std::make_unique<counter>(c);
// }
//
// EE_PLUGIN("1.0.0", EE_FACTORY(make_counter))
// ~~~
//
// ~~~{.toml}
// [[plugin]]
// name = "counter"
// library = "libmy_plugins.so"
// factory = "make_counter"
// config = { limit = 10 }
// ~~~
//
// Build the library with `find_package(event_engine)` and
// `ee_add_plugin(my_plugins SOURCES counter.cpp)`: it links only the
// headers (`ee::plugin_api`) and uses the engine's code and state (log
// sink, RTTI) from the `event-engine` program that loads it. Do not link
// `ee::event_engine` into a plugin library.

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ee/event_type.hpp"
#include "ee/plugin.hpp"
#include "ee/version.hpp"

namespace ee {

// -- configuration values
// ------------------------------------------------------

/// A value of a plugin's `config` table: boolean, integer, floating-point
/// number, string, array or table (TOML's types; dates are not supported).
class config_value {
public:
  /// An array of values.
  using array = std::vector<config_value>;

  /// A table of values by key.
  using table = std::map<std::string, config_value, std::less<>>;

  /// The value itself.
  using variant =
      std::variant<bool, std::int64_t, double, std::string, array, table>;

  /// An empty table.
  config_value() : value_(table{}) {
    // nop
  }

  /// A value of one of the supported types.
  template <class T, class = std::enable_if_t<
                         std::is_constructible_v<variant, T&&> &&
                         !std::is_same_v<std::decay_t<T>, config_value>>>
  config_value(T&& x) : value_(std::forward<T>(x)) {
    // nop
  }

  /// @returns the value.
  const variant& get() const noexcept { return value_; }

  /// @returns a pointer to the value if it holds a `T`, else null.
  template <class T>
  const T* get_if() const noexcept {
    return std::get_if<T>(&value_);
  }

  /// @returns "boolean", "integer", "float", "string", "array" or "table".
  const char* type_name() const noexcept;

  /// @returns true if both hold the same type and value.
  friend bool operator==(const config_value& x, const config_value& y) {
    return x.value_ == y.value_;
  }

private:
  variant value_;
};

/// Thrown by the getters of `plugin_config` when a key is missing or has the
/// wrong type; the message names the plugin, the key and the fix. A factory
/// that lets it escape is reported by `event-engine check` and `run`.
class config_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// What a plugin factory gets: the `[[plugin]]` entry's name, its `config`
/// table, the app's named event types and the entry's `subscriptions`.
class plugin_config {
public:
  /// An empty configuration (no name, values, types or subscriptions).
  plugin_config() = default;

  /// A configuration (the host builds it from the TOML file).
  plugin_config(std::string name, config_value::table values,
                std::vector<event_type> types,
                std::vector<event_type> subscriptions);

  /// @returns the plugin's name from `[[plugin]] name`: the factory's plugin
  /// must return it from `name()`.
  const std::string& name() const noexcept { return name_; }

  /// @returns the whole `config` table.
  const config_value::table& values() const noexcept { return values_; }

  /// @returns the value at `key` (a dotted path such as `"limits.max"`
  /// descends into tables), or null.
  const config_value* find(std::string_view key) const noexcept;

  /// @returns true if `key` is set.
  bool has(std::string_view key) const noexcept { return find(key) != nullptr; }

  /// @returns the string at `key`. @throws config_error if it is missing or
  /// not a string.
  std::string get_string(std::string_view key) const;

  /// @returns the string at `key`, or `fallback` if it is missing.
  /// @throws config_error if it is not a string.
  std::string get_string(std::string_view key, std::string fallback) const;

  /// @returns the integer at `key`. @throws config_error if it is missing or
  /// not an integer.
  std::int64_t get_int(std::string_view key) const;

  /// @returns the integer at `key`, or `fallback` if it is missing.
  /// @throws config_error if it is not an integer.
  std::int64_t get_int(std::string_view key, std::int64_t fallback) const;

  /// @returns the number at `key` (an integer is converted). @throws
  /// config_error if it is missing or not a number.
  double get_double(std::string_view key) const;

  /// @returns the number at `key`, or `fallback` if it is missing.
  /// @throws config_error if it is not a number.
  double get_double(std::string_view key, double fallback) const;

  /// @returns the boolean at `key`. @throws config_error if it is missing or
  /// not a boolean.
  bool get_bool(std::string_view key) const;

  /// @returns the boolean at `key`, or `fallback` if it is missing.
  /// @throws config_error if it is not a boolean.
  bool get_bool(std::string_view key, bool fallback) const;

  /// @returns the array of strings at `key` (empty if missing). @throws
  /// config_error if it is not an array of strings.
  std::vector<std::string> get_strings(std::string_view key) const;

  /// @returns every named event type of the app's `[types]` table.
  const std::vector<event_type>& types() const noexcept { return types_; }

  /// @returns the event type called `name` in `[types]`. @throws
  /// config_error if there is none.
  const event_type& type(std::string_view name) const;

  /// @returns the `[[plugin]] subscriptions` (names resolved to their
  /// prefixes); empty if the entry has none.
  const std::vector<event_type>& subscriptions() const noexcept {
    return subscriptions_;
  }

  /// Reports a bad setting the getters cannot catch (e.g. a range).
  /// @throws config_error with `text`, prefixed with the plugin's name.
  [[noreturn]] void fail(const std::string& text) const;

private:
  const config_value& require(std::string_view key, const char* type) const;

  std::string name_;
  config_value::table values_;
  std::vector<event_type> types_;
  std::vector<event_type> subscriptions_;
};

// -- the entry point
// -----------------------------------------------------------

/// The plugin ABI: bumped whenever a change to the public plugin types
/// (`plugin_base`, `plugin`, `blocking_plugin`, `context`, `event`,
/// `plugin_config`, the structures below, ...) breaks plugins built against
/// an older version. `event-engine` refuses a library built for another.
inline constexpr std::uint32_t plugin_abi_version = 1;

/// A factory of a plugin library: builds a fresh plugin from its
/// configuration. Called once per start and once per restart (and once by
/// `event-engine check`); it may throw (`config_error` for bad settings).
using library_factory = std::unique_ptr<plugin_base> (*)(const plugin_config&);

/// One named factory of a plugin library.
struct plugin_factory_entry {
  /// The name `[[plugin]] factory = "..."` refers to.
  const char* name;
  /// The factory.
  library_factory make;
};

/// What a plugin library's entry point returns. The layout after
/// `abi_version` belongs to that ABI version: the host reads `abi_version`
/// first and nothing else if it differs from its own.
struct plugin_library_info {
  /// `plugin_abi_version` of the headers the library was built with.
  std::uint32_t abi_version;
  /// The event-engine version of those headers (`EE_VERSION`).
  const char* engine_version;
  /// The library's own version (free text, e.g. "1.2.0").
  const char* library_version;
  /// The factories.
  const plugin_factory_entry* factories;
  /// How many factories there are.
  std::size_t factory_count;
};

/// The name of the entry point `EE_PLUGIN` defines.
inline constexpr const char* plugin_entry_symbol = "ee_plugin_library";

} // namespace ee

/// `EE_FACTORY(fn)`: a factory entry named like the function `fn`.
#define EE_FACTORY(fn)                                                         \
  ::ee::plugin_factory_entry {                                                 \
#fn, &fn                                                                   \
  }

/// `EE_PLUGIN(version, EE_FACTORY(a), EE_FACTORY(b), ...)`: defines the
/// library's entry point, an `extern "C"` function `ee_plugin_library`
/// returning its `plugin_library_info` (the ABI version of these headers,
/// the event-engine version, `version` and the factories). Use it once per
/// library, at namespace scope. Entries may also be written
/// `{"name", &function}`.
#define EE_PLUGIN(version, ...)                                                \
  extern "C" __attribute__((visibility("default"), used))                      \
  const ::ee::plugin_library_info*                                             \
  ee_plugin_library() {                                                        \
    static const ::ee::plugin_factory_entry ee_factories[] = {__VA_ARGS__};    \
    static const ::ee::plugin_library_info ee_info{                            \
        ::ee::plugin_abi_version, EE_VERSION, version, ee_factories,           \
        sizeof(ee_factories) / sizeof(ee_factories[0])};                       \
    return &ee_info;                                                           \
  }
