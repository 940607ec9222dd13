#include "ee/error.hpp"

#include "ee/names.hpp"

namespace ee {

const char* to_string(ec code) noexcept {
  // The names are string literals: their data() is NUL-terminated.
  return name_of(code).data();
}

std::string error::to_string() const {
  if (code_ == ec::none)
    return "ok";
  std::string result = ee::to_string(code_);
  result += ": ";
  result += message_;
  return result;
}

} // namespace ee
