#pragma once

#include <string>

namespace ee {

/// @returns `what()` of the current exception with its type name, e.g.
/// `std::runtime_error: boom`. @pre called inside a catch block.
std::string describe_current_exception();

} // namespace ee
