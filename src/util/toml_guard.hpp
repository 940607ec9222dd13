#pragma once

// Input validation in front of toml++ 3.3.0 (Debian 12), which reaches
// undefined behaviour or a failed assertion on some malformed input:
//
// * a non-ASCII character where the parser asks whether it is white space
//   (outside quotes, inside a bare value such as `1'''é'''`, or after a
//   backslash and white space in a """ string): its white-space table has
//   holes (U+00A1..U+0499, U+2C8E..U+3088, U+FB26..U+FEFE, e.g. the bytes
//   EF B9 BF) that end in TOML_UNREACHABLE;
// * a table header whose name does not start with a key character
//   (`[?`, `[ ?`, `[[?`), an array element that starts with '}'
//   (`v = [}`) or a date followed by a space or 'T' and a malformed time
//   (`1979-05-27 0`, `197y-05-27 0`, `1_979-05-27 0`, `1979-05-27T@7:32`):
//   assertions in builds without NDEBUG (a false TOML_ASSUME with NDEBUG).
//
// Found by reading the parser and by fuzzing it (built with assertions and
// -fsanitize=address,undefined) behind this check.
//
// Everything rejected here is invalid TOML anyway (except a non-ASCII
// character after a line-ending backslash, which is rare and can be written
// as an escape), so valid files are unaffected.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace ee::util {

/// A problem found in TOML text before parsing it.
struct toml_input_problem {
  /// 1-based line and column (column in characters, as toml++ counts).
  std::size_t line = 0;
  std::size_t column = 0;
  /// What is wrong and how to fix it.
  std::string message;
};

/// Checks `text` for input toml++ cannot be trusted with: invalid UTF-8,
/// non-ASCII characters outside quotes and comments (or after a backslash
/// in a basic string), table headers without a name, array elements that
/// start with '}' and a date followed by a malformed time. @returns the first
/// problem, or nothing.
std::optional<toml_input_problem> check_toml_input(std::string_view text);

} // namespace ee::util
