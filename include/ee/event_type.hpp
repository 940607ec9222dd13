#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "ee/event.hpp"

namespace ee {

/// An event type: a name plus the filter that prefixes its events. A
/// subscription to a type matches every event whose bytes start with the
/// filter; the empty filter matches every event.
class event_type {
public:
  /// A type whose filter is the bytes of `name` (the usual convention).
  explicit event_type(std::string name)
      : name_(name), filter_(std::move(name)) {
    // nop
  }

  /// A type with an explicit `filter`.
  event_type(std::string name, std::string filter)
      : name_(std::move(name)), filter_(std::move(filter)) {
    // nop
  }

  /// A type matching every event (empty filter).
  static event_type all() { return event_type{"*", std::string{}}; }

  /// @returns the name.
  const std::string& name() const noexcept { return name_; }

  /// @returns the filter bytes.
  const std::string& filter() const noexcept { return filter_; }

  /// @returns true if `ev` is of this type (starts with the filter).
  bool matches(const event& ev) const noexcept {
    return ev.starts_with(filter_);
  }

  /// @returns an event `filter + payload`.
  event make(std::string_view payload) const {
    return event::concat(filter_, payload);
  }

  /// @returns the payload of `ev` if it is of this type.
  std::optional<std::string_view> payload(const event& ev) const noexcept {
    if (!matches(ev))
      return std::nullopt;
    return ev.after(filter_.size());
  }

  friend bool operator==(const event_type& x, const event_type& y) {
    return x.name_ == y.name_ && x.filter_ == y.filter_;
  }

private:
  std::string name_;
  std::string filter_;
};

// -- typed events -------------------------------------------------------------

/// Customization point for typed events. A type `T` is a typed event when it
/// provides:
///
/// ~~~
/// struct type_a_event {
///   std::string message;
///   static ee::event_type type() { return ee::event_type{"TypeA"}; }
///   void encode(std::string& payload) const { payload += message; }
///   static std::optional<type_a_event> decode(std::string_view payload) {
///     return type_a_event{std::string{payload}};
///   }
/// };
/// ~~~
///
/// `encode` appends the payload (the bytes after the filter); `decode` parses
/// it back and returns `std::nullopt` for malformed input.
template <class T, class = void>
struct is_typed_event : std::false_type {};

template <class T>
struct is_typed_event<T, std::void_t<decltype(T::type()),
                                     decltype(std::declval<const T&>().encode(
                                         std::declval<std::string&>())),
                                     decltype(T::decode(std::string_view{}))>>
    : std::true_type {};

template <class T>
inline constexpr bool is_typed_event_v = is_typed_event<T>::value;

/// @returns the event type of the typed event `T`.
template <class T>
event_type type_of() {
  static_assert(is_typed_event_v<T>, "T is not a typed event");
  return T::type();
}

/// Encodes `x` as `filter + payload`.
template <class T>
event encode(const T& x) {
  static_assert(is_typed_event_v<T>, "T is not a typed event");
  auto type = T::type();
  std::string buf = type.filter();
  x.encode(buf);
  return event{std::move(buf)};
}

/// Decodes `ev` as a `T`: `std::nullopt` if `ev` is not of type `T` or its
/// payload does not parse.
template <class T>
std::optional<T> decode(const event& ev) {
  static_assert(is_typed_event_v<T>, "T is not a typed event");
  auto type = T::type();
  if (!type.matches(ev))
    return std::nullopt;
  return T::decode(ev.after(type.filter().size()));
}

/// @returns true if `ev` is of the typed event `T`.
template <class T>
bool is(const event& ev) {
  return T::type().matches(ev);
}

} // namespace ee
