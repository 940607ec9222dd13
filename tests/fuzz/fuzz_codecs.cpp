// Fuzz target: events and typed events (include/ee/event.hpp,
// include/ee/event_type.hpp): event types with any name and filter, events
// of any bytes, and the typed codecs (decode, encode, is, type_of) of the
// examples' three types plus a binary one.
//
// Input: one round after another: a type's name and filter, an event's
// bytes and a payload, each a length byte and that many bytes.
//
// Checks: an event holds exactly its bytes whichever constructor built it,
// copies share the buffer, `starts_with` and `after` agree with the bytes;
// a type matches exactly the events its filter prefixes, `make` builds
// filter + payload and `payload` gives it back; a typed event decodes only
// from its own type's events, and what decodes encodes back to an event
// that decodes to the same value (to the same bytes where the encoding is
// canonical).

#include <cstring>

#include "ee/event.hpp"
#include "ee/event_type.hpp"
#include "examples/common/example_events.hpp"
#include "fuzz_input.hpp"

using ee::event;
using ee::event_type;

namespace {

// A binary typed event: a 2-byte big-endian sensor id and a length-prefixed
// unit, after the filter 01 A0 (the README's `Reading = { hex = "01a0" }`).
struct reading_event {
  std::uint16_t sensor = 0;
  std::string unit;
  static event_type type() { return event_type{"Reading", "\x01\xa0"}; }
  void encode(std::string& out) const {
    out += static_cast<char>(sensor >> 8);
    out += static_cast<char>(sensor & 0xff);
    out += static_cast<char>(unit.size());
    out += unit;
  }
  static std::optional<reading_event> decode(std::string_view payload) {
    if (payload.size() < 3)
      return std::nullopt;
    auto byte = [&](std::size_t i) {
      return static_cast<unsigned char>(payload[i]);
    };
    std::size_t len = byte(2);
    if (payload.size() != 3 + len)
      return std::nullopt;
    return reading_event{static_cast<std::uint16_t>(byte(0) << 8 | byte(1)),
                         std::string{payload.substr(3)}};
  }
  bool operator==(const reading_event& x) const {
    return sensor == x.sensor && unit == x.unit;
  }
};

bool same(const example::type_a_event& x, const example::type_a_event& y) {
  return x.message == y.message;
}
bool same(const example::type_b_event& x, const example::type_b_event& y) {
  return x.count == y.count;
}
bool same(const example::type_c_event& x, const example::type_c_event& y) {
  return x.message == y.message;
}
bool same(const reading_event& x, const reading_event& y) {
  return x == y;
}

bool starts(std::string_view bytes, std::string_view prefix) {
  return bytes.substr(0, prefix.size()) == prefix;
}

void check_event(const event& ev, std::string_view bytes) {
  EE_FUZZ_CHECK(ev.bytes() == bytes && ev.size() == bytes.size() &&
                    ev.empty() == bytes.empty() && ev.str() == bytes,
                "an event holds exactly its bytes");
  EE_FUZZ_CHECK(bytes.empty() ||
                    std::memcmp(ev.data(), bytes.data(), bytes.size()) == 0,
                "data() points at them");
  event copy = ev;
  EE_FUZZ_CHECK(copy.shares_buffer_with(ev) && copy == ev && !(copy != ev),
                "a copy shares the buffer");
  for (std::size_t n = 0; n <= bytes.size() + 1; ++n) {
    EE_FUZZ_CHECK(ev.after(n) == (n >= bytes.size() ? std::string_view{}
                                                    : bytes.substr(n)),
                  "after(n) is the bytes after the first n");
    EE_FUZZ_CHECK(ev.starts_with(bytes.substr(0, n)), "starts with its "
                                                      "prefixes");
  }
}

// Decoding `ev` as a `T`, and encoding back.
template <class T>
void check_typed(const event& ev, bool canonical) {
  auto type = ee::type_of<T>();
  EE_FUZZ_CHECK(type == T::type(), "type_of is T::type()");
  bool is_t = starts(ev.bytes(), type.filter());
  EE_FUZZ_CHECK(ee::is<T>(ev) == is_t, "is<T> is a prefix test");
  auto x = ee::decode<T>(ev);
  if (!is_t) {
    EE_FUZZ_CHECK(!x, "only events of T decode as T");
    return;
  }
  EE_FUZZ_CHECK(
      x.has_value() ==
          T::decode(ev.bytes().substr(type.filter().size())).has_value(),
      "decode<T> decodes the payload");
  if (!x)
    return;
  auto back = ee::encode(*x);
  EE_FUZZ_CHECK(ee::is<T>(back), "an encoded T is a T");
  auto y = ee::decode<T>(back);
  EE_FUZZ_CHECK(y && same(*x, *y), "decodes to the same value");
  if (canonical)
    EE_FUZZ_CHECK(back == ev, "encodes to the same bytes");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  ee::fuzz::input in{data, size};
  for (int round = 0; round < 64 && (round == 0 || !in.done()); ++round) {
    auto name = in.bytes(16);
    auto filter = in.bytes(8);
    auto bytes = in.bytes(32);
    auto payload = in.bytes(16);

    // Events, whichever way they are built.
    check_event(event{std::string_view{bytes}}, bytes);
    check_event(event{std::string{bytes}}, bytes);
    check_event(event{bytes}, bytes);
    check_event(event{bytes.c_str()}, std::string_view{bytes.c_str()});
    check_event(event::concat(filter, payload), filter + payload);
    check_event(event{}, {});
    event ev{bytes};

    // Types: explicit filter, the name as the filter, everything.
    for (auto& type :
         {event_type{name, filter}, event_type{name}, event_type::all()}) {
      auto& f = type.filter();
      EE_FUZZ_CHECK(type.matches(ev) == starts(bytes, f),
                    "a type matches the events its filter prefixes");
      auto p = type.payload(ev);
      EE_FUZZ_CHECK(p.has_value() == type.matches(ev) &&
                        (!p || *p == std::string_view{bytes}.substr(f.size())),
                    "the payload is what follows the filter");
      auto made = type.make(payload);
      check_event(made, f + payload);
      EE_FUZZ_CHECK(type.matches(made) && type.payload(made) == payload,
                    "make(payload) is of the type, with that payload");
    }
    EE_FUZZ_CHECK(event_type{name}.filter() == name &&
                      event_type{name}.name() == name,
                  "a type named alone filters by its name");
    EE_FUZZ_CHECK((event_type{name, filter} == event_type{name, filter}),
                  "types compare equal");

    // Typed events, from the raw bytes and from a type's own prefix.
    for (auto& x :
         {ev, event::concat("TypeA", payload), event::concat("TypeB", payload),
          event::concat("\x01\xa0", payload)}) {
      check_typed<example::type_a_event>(x, true);
      check_typed<example::type_b_event>(x, false); // "TypeB007" -> 7
      check_typed<example::type_c_event>(x, true);
      check_typed<reading_event>(x, true);
    }
  }
  return 0;
}
