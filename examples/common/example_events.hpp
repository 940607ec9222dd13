#pragma once

// The original example's three event types, as typed events: each event is
// the type's name (its filter) followed by the payload.

#include <charconv>
#include <optional>
#include <string>
#include <string_view>

#include <ee/event_type.hpp>

namespace example {

/// `TypeA` + a message.
struct type_a_event {
  std::string message;
  static ee::event_type type() { return ee::event_type{"TypeA"}; }
  void encode(std::string& out) const { out += message; }
  static std::optional<type_a_event> decode(std::string_view payload) {
    return type_a_event{std::string{payload}};
  }
};

/// `TypeB` + a decimal count.
struct type_b_event {
  std::size_t count = 0;
  static ee::event_type type() { return ee::event_type{"TypeB"}; }
  void encode(std::string& out) const { out += std::to_string(count); }
  static std::optional<type_b_event> decode(std::string_view payload) {
    type_b_event result;
    auto [end, ec] = std::from_chars(
        payload.data(), payload.data() + payload.size(), result.count);
    if (ec != std::errc{} || end != payload.data() + payload.size())
      return std::nullopt;
    return result;
  }
};

/// `TypeC` + a message.
struct type_c_event {
  std::string message;
  static ee::event_type type() { return ee::event_type{"TypeC"}; }
  void encode(std::string& out) const { out += message; }
  static std::optional<type_c_event> decode(std::string_view payload) {
    return type_c_event{std::string{payload}};
  }
};

} // namespace example
