#include "ee/plugin_library.hpp"

namespace ee {

const char* config_value::type_name() const noexcept {
  switch (value_.index()) {
  case 0:
    return "boolean";
  case 1:
    return "integer";
  case 2:
    return "float";
  case 3:
    return "string";
  case 4:
    return "array";
  default:
    return "table";
  }
}

plugin_config::plugin_config(std::string name, config_value::table values,
                             std::vector<event_type> types,
                             std::vector<event_type> subscriptions)
    : name_(std::move(name)), values_(std::move(values)),
      types_(std::move(types)), subscriptions_(std::move(subscriptions)) {
  // nop
}

const config_value* plugin_config::find(std::string_view key) const noexcept {
  const config_value::table* table = &values_;
  while (true) {
    auto dot = key.find('.');
    auto i = table->find(key.substr(0, dot));
    if (i == table->end())
      return nullptr;
    if (dot == std::string_view::npos)
      return &i->second;
    table = i->second.get_if<config_value::table>();
    if (!table)
      return nullptr;
    key.remove_prefix(dot + 1);
  }
}

void plugin_config::fail(const std::string& text) const {
  throw config_error{"plugin '" + name_ + "': " + text};
}

const config_value& plugin_config::require(std::string_view key,
                                           const char* type) const {
  auto x = find(key);
  if (!x)
    fail("config." + std::string{key} + " is missing: add " + std::string{key} +
         " = <" + type +
         "> to the [[plugin]]'s config "
         "table");
  return *x;
}

namespace {

template <class T>
const T& typed(const plugin_config& cfg, const config_value& x,
               std::string_view key, const char* type) {
  auto result = x.get_if<T>();
  if (!result)
    cfg.fail("config." + std::string{key} + " must be " + type + ", not " +
             x.type_name());
  return *result;
}

} // namespace

std::string plugin_config::get_string(std::string_view key) const {
  return typed<std::string>(*this, require(key, "string"), key, "a string");
}

std::string plugin_config::get_string(std::string_view key,
                                      std::string fallback) const {
  auto x = find(key);
  return x ? typed<std::string>(*this, *x, key, "a string")
           : std::move(fallback);
}

std::int64_t plugin_config::get_int(std::string_view key) const {
  return typed<std::int64_t>(*this, require(key, "integer"), key, "an integer");
}

std::int64_t plugin_config::get_int(std::string_view key,
                                    std::int64_t fallback) const {
  auto x = find(key);
  return x ? typed<std::int64_t>(*this, *x, key, "an integer") : fallback;
}

double plugin_config::get_double(std::string_view key) const {
  auto& x = require(key, "number");
  if (auto i = x.get_if<std::int64_t>())
    return static_cast<double>(*i);
  return typed<double>(*this, x, key, "a number");
}

double plugin_config::get_double(std::string_view key, double fallback) const {
  return has(key) ? get_double(key) : fallback;
}

bool plugin_config::get_bool(std::string_view key) const {
  return typed<bool>(*this, require(key, "true|false"), key, "true or false");
}

bool plugin_config::get_bool(std::string_view key, bool fallback) const {
  auto x = find(key);
  return x ? typed<bool>(*this, *x, key, "true or false") : fallback;
}

std::vector<std::string>
plugin_config::get_strings(std::string_view key) const {
  std::vector<std::string> result;
  auto x = find(key);
  if (!x)
    return result;
  auto& arr = typed<config_value::array>(*this, *x, key, "an array of strings");
  for (auto& item : arr) {
    auto s = item.get_if<std::string>();
    if (!s)
      fail("config." + std::string{key} +
           " must be an array of strings, but holds a " + item.type_name());
    result.push_back(*s);
  }
  return result;
}

const event_type& plugin_config::type(std::string_view name) const {
  for (auto& t : types_)
    if (t.name() == name)
      return t;
  std::string known;
  for (auto& t : types_)
    known += (known.empty() ? "" : ", ") + t.name();
  fail("the app defines no event type '" + std::string{name} +
       "': add it to the [types] table" +
       (known.empty() ? std::string{} : " (it has " + known + ")"));
}

} // namespace ee
