#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace ee {

/// An immutable byte string whose first bytes are the filter of its type.
///
/// Copies share one buffer (reference-counted), so fanning an event out to
/// many subscribers never copies its bytes. Safe to share between threads.
class event {
public:
  /// An empty event (zero bytes).
  event();

  /// Copies `bytes` into a new shared buffer.
  explicit event(std::string_view bytes);

  /// Takes `bytes` without copying.
  explicit event(std::string&& bytes);

  /// Copies the NUL-terminated string `str` (without the NUL).
  explicit event(const char* str) : event(std::string_view{str}) {
    // nop
  }

  /// Copies `bytes`.
  explicit event(const std::string& bytes) : event(std::string_view{bytes}) {
    // nop
  }

  /// Builds `filter + payload` in one allocation.
  static event concat(std::string_view filter, std::string_view payload);

  /// @returns the bytes.
  std::string_view bytes() const noexcept { return *data_; }

  /// @returns a pointer to the first byte.
  const char* data() const noexcept { return data_->data(); }

  /// @returns the number of bytes.
  std::size_t size() const noexcept { return data_->size(); }

  /// @returns true if the event has zero bytes.
  bool empty() const noexcept { return data_->empty(); }

  /// @returns true if the event's bytes start with `prefix`.
  bool starts_with(std::string_view prefix) const noexcept {
    return bytes().substr(0, prefix.size()) == prefix;
  }

  /// @returns the bytes after the first `n` bytes (the payload after a filter
  /// of length `n`), or an empty view if the event is shorter.
  std::string_view after(std::size_t n) const noexcept {
    return n >= size() ? std::string_view{} : bytes().substr(n);
  }

  /// @returns a copy of the bytes as a string.
  std::string str() const { return *data_; }

  /// @returns true if both events hold the same buffer (not just equal bytes).
  bool shares_buffer_with(const event& other) const noexcept {
    return data_ == other.data_;
  }

  friend bool operator==(const event& x, const event& y) noexcept {
    return x.bytes() == y.bytes();
  }

  friend bool operator!=(const event& x, const event& y) noexcept {
    return !(x == y);
  }

private:
  std::shared_ptr<const std::string> data_;
};

} // namespace ee
