#include "src/core/exception_text.hpp"

#include <cstdlib>
#include <cxxabi.h>
#include <exception>
#include <typeinfo>

namespace ee {

std::string describe_current_exception() {
  try {
    throw;
  } catch (const std::exception& e) {
    std::string type = typeid(e).name();
    int status = 0;
    if (char* demangled =
            abi::__cxa_demangle(type.c_str(), nullptr, nullptr, &status)) {
      if (status == 0)
        type = demangled;
      std::free(demangled);
    }
    return type + ": " + e.what();
  } catch (const std::string& s) {
    return "std::string: " + s;
  } catch (const char* s) {
    return std::string{"const char*: "} + s;
  } catch (...) {
    return "unknown exception (not derived from std::exception)";
  }
}

std::string describe_exception(const std::exception_ptr& ptr) {
  try {
    std::rethrow_exception(ptr);
  } catch (...) {
    return describe_current_exception();
  }
}

} // namespace ee
