#pragma once

// Small text helpers shared by the config loader and the host program:
// hexadecimal, UTF-8, JSON text and "did you mean" suggestions.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "ee/expected.hpp"

namespace ee::util {

/// @returns `bytes` as lowercase hexadecimal, two digits per byte.
std::string to_hex(std::string_view bytes);

/// Decodes `hex` (two digits per byte, either case; spaces, '_' and ':'
/// between bytes are ignored). @returns the bytes, or an error saying which
/// character is wrong.
expected<std::string> from_hex(std::string_view hex);

/// Decodes one UTF-8 code point at `pos`. @returns its length (1..4) and
/// stores it in `cp`, or 0 if the bytes at `pos` are not valid UTF-8
/// (overlong forms, surrogates and values above U+10FFFF are invalid).
std::size_t decode_utf8(std::string_view text, std::size_t pos,
                        std::uint32_t& cp) noexcept;

/// @returns true if `bytes` is valid UTF-8 without control characters
/// (tab allowed): text a terminal shows as it is.
bool is_printable(std::string_view bytes) noexcept;

/// @returns `value` as one line of JSON text (nlohmann-json): keys in the
/// order they were added; bytes of strings that are not valid UTF-8 become
/// U+FFFD, so the result is always valid JSON.
std::string to_json_text(const nlohmann::ordered_json& value);

/// @returns the candidate closest to `word` (edit distance), or an empty
/// string if none is close enough to be a likely typo.
std::string closest(std::string_view word,
                    const std::vector<std::string>& candidates);

/// @returns "N WORD" with WORD in the plural unless N is 1 ("1 plugin",
/// "2 plugins"; WORD takes an "s").
std::string count_of(std::size_t n, std::string_view word);

/// @returns the range "LO..HI", a large power of two written as 2^N
/// ("1..2^40").
std::string show_range(long long lo, long long hi);

/// @returns the `items` as "a, b, c".
std::string join(const std::vector<std::string>& items,
                 std::string_view separator = ", ");

} // namespace ee::util
