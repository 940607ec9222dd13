#pragma once

#include <string>
#include <vector>

#include "ee/event_type.hpp"

namespace ee {

/// Event types as the router takes them: their filters and, in parallel,
/// their names.
struct type_lists {
  std::vector<std::string> filters;
  std::vector<std::string> names;
};

/// @returns the filters and names of `types`, in order.
inline type_lists split_types(const std::vector<event_type>& types) {
  type_lists result;
  result.filters.reserve(types.size());
  result.names.reserve(types.size());
  for (auto& t : types) {
    result.filters.push_back(t.filter());
    result.names.push_back(t.name());
  }
  return result;
}

} // namespace ee
