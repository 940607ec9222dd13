#pragma once

#include <exception>
#include <string>

namespace ee {

/// @returns `what()` of the current exception with its type name, e.g.
/// `std::runtime_error: boom`. @pre called inside a catch block.
std::string describe_current_exception();

/// @returns the text of `ptr` as `describe_current_exception` does.
std::string describe_exception(const std::exception_ptr& ptr);

} // namespace ee
