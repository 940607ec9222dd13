#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "ee/error.hpp"
#include "ee/external_plugin.hpp"
#include "ee/log.hpp"
#include "ee/supervision.hpp"

namespace ee {

/// The names of an enum's values, as written in config files and logs: one
/// table per enum (`enum_names<E>::table`), one pair of functions for all.
template <class E>
struct enum_names;

template <>
struct enum_names<restart_policy> {
  static constexpr std::array<std::pair<restart_policy, std::string_view>, 3>
      table{{{restart_policy::permanent, "permanent"},
             {restart_policy::transient, "transient"},
             {restart_policy::temporary, "temporary"}}};
};

template <>
struct enum_names<restart_strategy> {
  static constexpr std::array<std::pair<restart_strategy, std::string_view>, 3>
      table{{{restart_strategy::one_for_one, "one_for_one"},
             {restart_strategy::one_for_all, "one_for_all"},
             {restart_strategy::rest_for_one, "rest_for_one"}}};
};

template <>
struct enum_names<overflow_policy> {
  static constexpr std::array<std::pair<overflow_policy, std::string_view>, 3>
      table{{{overflow_policy::block, "block"},
             {overflow_policy::drop_oldest, "drop_oldest"},
             {overflow_policy::drop_newest, "drop_newest"}}};
};

template <>
struct enum_names<delivery_mode> {
  static constexpr std::array<std::pair<delivery_mode, std::string_view>, 2>
      table{{{delivery_mode::at_least_once, "at_least_once"},
             {delivery_mode::at_most_once, "at_most_once"}}};
};

template <>
struct enum_names<log_level> {
  static constexpr std::array<std::pair<log_level, std::string_view>, 5> table{
      {{log_level::debug, "debug"},
       {log_level::info, "info"},
       {log_level::warning, "warning"},
       {log_level::error, "error"},
       {log_level::off, "off"}}};
};

template <>
struct enum_names<ec> {
  static constexpr std::array<std::pair<ec, std::string_view>, 13> table{{
      {ec::none, "none"},
      {ec::invalid_config, "invalid_config"},
      {ec::duplicate_name, "duplicate_name"},
      {ec::duplicate_port, "duplicate_port"},
      {ec::already_running, "already_running"},
      {ec::bind_failed, "bind_failed"},
      {ec::plugin_failed, "plugin_failed"},
      {ec::launch_failed, "launch_failed"},
      {ec::restart_limit, "restart_limit"},
      {ec::stopped, "stopped"},
      {ec::config_file, "config_file"},
    {ec::shutdown_timeout, "shutdown_timeout"},
      {ec::internal, "internal"},
  }};
};

/// @returns the name of `x` (e.g. `"drop_oldest"`), or `"unknown"`.
template <class E>
constexpr std::string_view name_of(E x) noexcept {
  for (auto& [value, name] : enum_names<E>::table)
    if (value == x)
      return name;
  return "unknown";
}

/// @returns the value named `name`, or nothing.
template <class E>
constexpr std::optional<E> from_name(std::string_view name) noexcept {
  for (auto& [value, text] : enum_names<E>::table)
    if (text == name)
      return value;
  return std::nullopt;
}

/// @returns the valid names of `E` as `"a, b or c"` (for error messages).
template <class E>
std::string names_of() {
  std::string result;
  auto& t = enum_names<E>::table;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (i > 0)
      result += i + 1 == t.size() ? " or " : ", ";
    result += t[i].second;
  }
  return result;
}

} // namespace ee
