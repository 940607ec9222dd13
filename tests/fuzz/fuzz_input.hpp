#pragma once

// What the fuzz targets share: a reader that takes the input front to back
// (so a mutation changes one decision, not every later one), a check that
// aborts with a message (libFuzzer reports it as a crash) and a trace of
// what an input does.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

/// Aborts (a finding for libFuzzer) unless `cond` holds.
#define EE_FUZZ_CHECK(cond, what)                                              \
  do {                                                                         \
    if (!(cond))                                                               \
      ::ee::fuzz::fail(__FILE__, __LINE__, #cond, what);                       \
  } while (false)

namespace ee::fuzz {

/// @returns true if EE_FUZZ_TRACE is set.
inline bool tracing() {
  static const bool on = std::getenv("EE_FUZZ_TRACE") != nullptr;
  return on;
}

/// Prints what failed and aborts (see EE_FUZZ_CHECK).
[[noreturn]] inline void fail(const char* file, int line, const char* cond,
                              const std::string& what) {
  std::fprintf(stderr, "%s:%d: check failed: %s\n  %s\n", file, line, cond,
               what.c_str());
  std::abort();
}

/// Prints `what` to stderr when EE_FUZZ_TRACE is set (to see what an input
/// does: `EE_FUZZ_TRACE=1 build-fuzz/fuzz_router crash-...`); `what` is not
/// evaluated otherwise.
#define EE_FUZZ_TRACE(what)                                                    \
  do {                                                                         \
    if (::ee::fuzz::tracing())                                                 \
      std::fprintf(stderr, "%s\n", std::string{what}.c_str());                 \
  } while (false)

/// Reads an input front to back; past the end, every read yields zeros.
class input {
public:
  input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {
    // nop
  }

  /// @returns true if every byte was read.
  bool done() const noexcept { return pos_ >= size_; }

  /// @returns the next byte.
  std::uint8_t byte() noexcept { return done() ? 0 : data_[pos_++]; }

  /// @returns a number in 0..n-1 (from one byte). @pre 0 < n <= 256.
  std::size_t below(std::size_t n) noexcept { return byte() % n; }

  /// @returns true or false (from one byte).
  bool flag() noexcept { return (byte() & 1) != 0; }

  /// @returns a string of 0..max_len characters of `alphabet`: one byte
  /// for the length, one per character.
  std::string text(std::size_t max_len, std::string_view alphabet) {
    std::string result;
    for (auto n = below(max_len + 1); n > 0; --n)
      result += alphabet[below(alphabet.size())];
    return result;
  }

  /// @returns a string of 0..max_len arbitrary bytes: one byte for the
  /// length, then the bytes.
  std::string bytes(std::size_t max_len) {
    std::string result;
    for (auto n = below(max_len + 1); n > 0 && !done(); --n)
      result += static_cast<char>(byte());
    return result;
  }

private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

} // namespace ee::fuzz
