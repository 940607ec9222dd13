#pragma once

#include <cassert>
#include <optional>
#include <type_traits>
#include <utility>

#include "ee/error.hpp"

namespace ee {

/// A value of type `T` or the `error` that prevented it: the result type of
/// public functions that produce something and can fail (C++17's stand-in
/// for `std::expected<T, error>`).
///
/// ~~~{.cpp}
/// auto desc = ee::read_config_file("app.toml").result();
/// if (!desc) {
///   std::cerr << desc.error().to_string() << '\n';
///   return 2;
/// }
/// use(*desc);
/// ~~~
template <class T>
class [[nodiscard]] expected {
public:
  static_assert(!std::is_same_v<T, ee::error>, "expected<error> is ambiguous");

  /// A value.
  expected(T value) : value_(std::move(value)) {
    // nop
  }

  /// A failure. @pre `err` is a failure (not `ec::none`).
  expected(ee::error err) : err_(std::move(err)) {
    assert(static_cast<bool>(err_));
  }

  /// @returns true if this holds a value.
  bool has_value() const noexcept { return value_.has_value(); }

  /// @returns true if this holds a value.
  explicit operator bool() const noexcept { return has_value(); }

  /// @returns the value. @pre `has_value()`.
  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }

  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

  /// @returns the error (success if this holds a value).
  const ee::error& error() const noexcept { return err_; }

private:
  std::optional<T> value_;
  ee::error err_;
};

} // namespace ee
