#pragma once

// The engine's ids: distinct types, so that a subscriber id passed where a
// publisher id or a plugin's slot is expected does not compile. Each is a
// 32-bit index; `id_vector` is a vector indexed only by its own id type.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace ee {

/// An index that names one kind of thing (`Tag`). Explicit construction from
/// a number; `.value` for the number. Default-constructed: `none()`.
template <class Tag>
struct tagged_id {
  using value_type = std::uint32_t;

  static constexpr value_type none_value =
      std::numeric_limits<value_type>::max();

  value_type value = none_value;

  constexpr tagged_id() noexcept = default;

  template <class Int, class = std::enable_if_t<std::is_integral<Int>::value>>
  constexpr explicit tagged_id(Int x) noexcept
      : value(static_cast<value_type>(x)) {
    // nop
  }

  /// @returns the id that names nothing.
  static constexpr tagged_id none() noexcept { return tagged_id{}; }

  constexpr bool valid() const noexcept { return value != none_value; }

  friend constexpr bool operator==(tagged_id x, tagged_id y) noexcept {
    return x.value == y.value;
  }

  friend constexpr bool operator!=(tagged_id x, tagged_id y) noexcept {
    return x.value != y.value;
  }

  friend constexpr bool operator<(tagged_id x, tagged_id y) noexcept {
    return x.value < y.value;
  }
};

/// Prints the number (tests, logs).
template <class CharT, class Traits, class Tag>
std::basic_ostream<CharT, Traits>&
operator<<(std::basic_ostream<CharT, Traits>& out, tagged_id<Tag> x) {
  return out << x.value;
}

/// @returns the number as text.
template <class Tag>
std::string to_string(tagged_id<Tag> x) {
  return std::to_string(x.value);
}

/// CAF's inspection (messages that carry an id): the number.
template <class Inspector, class Tag>
typename Inspector::result_type inspect(Inspector& f, tagged_id<Tag>& x) {
  return f(x.value);
}

/// A plugin's place in the engine (its spec, host and ids).
using slot_id = tagged_id<struct slot_tag>;

/// A subscriber in the router.
using sub_id = tagged_id<struct sub_tag>;

/// A publisher in the router.
using pub_id = tagged_id<struct pub_tag>;

/// An event type in the router (the "other" type is `router::types()`).
using type_id = tagged_id<struct type_tag>;

/// A child of the supervisor.
using child_id = tagged_id<struct child_tag>;

/// An external plugin's port in the bridge.
using endpoint_id = tagged_id<struct endpoint_tag>;

/// A vector of `T` indexed by `Id` only.
template <class Id, class T>
class id_vector {
public:
  using iterator = typename std::vector<T>::iterator;
  using const_iterator = typename std::vector<T>::const_iterator;

  T& operator[](Id id) { return xs_[id.value]; }

  const T& operator[](Id id) const { return xs_[id.value]; }

  /// Appends `x`. @returns its id.
  Id push_back(T x) {
    xs_.push_back(std::move(x));
    return Id{xs_.size() - 1};
  }

  /// @returns the id the next `push_back` returns.
  Id next_id() const noexcept { return Id{xs_.size()}; }

  /// @returns true if `id` names an element.
  bool contains(Id id) const noexcept { return id.value < xs_.size(); }

  void resize(std::size_t n) { xs_.resize(n); }

  void resize(std::size_t n, const T& x) { xs_.resize(n, x); }

  void assign(std::size_t n, const T& x) { xs_.assign(n, x); }

  void clear() noexcept { xs_.clear(); }

  void reserve(std::size_t n) { xs_.reserve(n); }

  std::size_t size() const noexcept { return xs_.size(); }

  bool empty() const noexcept { return xs_.empty(); }

  T& back() { return xs_.back(); }

  iterator begin() noexcept { return xs_.begin(); }

  iterator end() noexcept { return xs_.end(); }

  const_iterator begin() const noexcept { return xs_.begin(); }

  const_iterator end() const noexcept { return xs_.end(); }

  /// The ids of all elements, in order: `for (auto id : v.ids())`.
  class id_range {
  public:
    class iterator {
    public:
      explicit iterator(typename Id::value_type x) : x_(x) {
        // nop
      }
      Id operator*() const noexcept { return Id{x_}; }
      iterator& operator++() noexcept {
        ++x_;
        return *this;
      }
      bool operator!=(const iterator& other) const noexcept {
        return x_ != other.x_;
      }

    private:
      typename Id::value_type x_;
    };

    explicit id_range(std::size_t n) : n_(n) {
      // nop
    }

    iterator begin() const noexcept { return iterator{0}; }

    iterator end() const noexcept {
      return iterator{static_cast<typename Id::value_type>(n_)};
    }

  private:
    std::size_t n_;
  };

  id_range ids() const noexcept { return id_range{xs_.size()}; }

private:
  std::vector<T> xs_;
};

} // namespace ee

namespace std {

template <class Tag>
struct hash<ee::tagged_id<Tag>> {
  size_t operator()(ee::tagged_id<Tag> x) const noexcept {
    return std::hash<std::uint32_t>{}(x.value);
  }
};

} // namespace std
