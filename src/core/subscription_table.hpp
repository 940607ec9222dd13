#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace ee {

/// Maps filters (byte-string prefixes) to subscribers. `match` finds every
/// subscriber with a filter that prefixes an event, each exactly once, with
/// one hash look-up per distinct filter length (not a scan over filters).
/// Adding or removing one filter of a subscriber costs O(its own number of
/// filters), however many other subscribers share the filter.
///
/// Subscribers are small dense integers. Not thread-safe.
class subscription_table {
public:
  using subscriber = std::uint32_t;

  /// Adds `filter` for `sub`. Adding the same pair twice counts twice (as
  /// ZeroMQ does): it stays until removed as often.
  void add(std::string_view filter, subscriber sub);

  /// Removes one count of `filter` for `sub`. @returns false if absent.
  bool remove(std::string_view filter, subscriber sub);

  /// Removes every filter of `sub`.
  void remove_all(subscriber sub);

  /// Appends to `out` every subscriber with a filter that prefixes `bytes`,
  /// each once, in ascending order of first match. `out` is not cleared.
  /// With `skip_empty`, the empty filter matches nothing (used for the
  /// engine's own events, which only explicit subscriptions receive).
  void match(std::string_view bytes, std::vector<subscriber>& out,
             bool skip_empty = false) const;

  /// @returns true if any subscriber matches `bytes` (see `match`).
  bool matches_any(std::string_view bytes, bool skip_empty = false) const;

  /// @returns the number of distinct filters.
  std::size_t size() const noexcept { return filters_.size(); }

  /// @returns true if there are no filters.
  bool empty() const noexcept { return filters_.empty(); }

private:
  // Calls `f(entry)` for each filter that prefixes `bytes` (see `match`),
  // shortest first, until it returns true. @returns whether one did.
  template <class F>
  bool each_filter_of(std::string_view bytes, bool skip_empty, F f) const;

  struct member {
    subscriber sub;
    std::uint32_t count;
  };

  struct entry {
    std::string filter;
    std::vector<member> subs;
  };

  // Where `sub` sits in one entry.
  struct place {
    entry* e;
    std::uint32_t index;
  };

  place* find_place(subscriber sub, const entry* e);
  void erase_member(entry& e, std::uint32_t index);
  void erase_entry(entry& e);

  // A filter and its hash. `match` looks up every distinct filter length's
  // prefix of one event: an incremental hash (FNV-1a) hashes the event's
  // bytes once for all of them, where std::hash would hash each prefix
  // anew (and libstdc++, which deems std::hash<std::string_view> slow,
  // looks keys up in tables of up to 20 by comparing with each).
  struct key {
    std::string_view bytes;
    std::size_t hash;
  };

  struct key_hash {
    std::size_t operator()(const key& k) const noexcept { return k.hash; }
  };

  struct key_eq {
    bool operator()(const key& x, const key& y) const noexcept {
      return x.bytes == y.bytes;
    }
  };

  // The hash of a byte string's prefixes, longer and longer: whole 8-byte
  // words are mixed once (`words` is how far), the tail byte by byte.
  class prefix_hash {
  public:
    explicit prefix_hash(std::string_view bytes) noexcept : bytes_(bytes) {
      // nop
    }

    // @returns the hash of the first `len` bytes (`len` never shrinks).
    std::uint64_t at(std::size_t len) noexcept {
      for (; words_ + 8 <= len; words_ += 8) {
        std::uint64_t w;
        std::memcpy(&w, bytes_.data() + words_, 8);
        h_ = (h_ ^ w) * 0x9e3779b97f4a7c15ull;
        h_ ^= h_ >> 29;
      }
      auto h = h_;
      for (auto i = words_; i < len; ++i)
        h = (h ^ static_cast<unsigned char>(bytes_[i])) * 1099511628211ull;
      return h;
    }

  private:
    std::string_view bytes_;
    std::uint64_t h_ = 14695981039346656037ull;
    std::size_t words_ = 0;
  };

  static key key_of(std::string_view filter) noexcept {
    return {filter, prefix_hash{filter}.at(filter.size())};
  }

  // The filters of one length: how many, and a one-bit-per-value sketch
  // of their last bytes (value mod 64; bits are not cleared on removal, so
  // a set bit may be stale). A prefix whose last byte has no bit cannot
  // match: no hashing, no look-up.
  struct length_class {
    std::size_t len;
    std::size_t count;
    std::uint64_t last_bytes;

    bool may_match(std::string_view bytes) const noexcept {
      return len == 0 || ((last_bytes >>
                           (static_cast<unsigned char>(bytes[len - 1]) & 63)) &
                          1) != 0;
    }
  };

  std::vector<length_class>::iterator lower_length(std::size_t len);

  // Keys point into the entries' own strings (entries never move).
  std::unordered_map<key, std::unique_ptr<entry>, key_hash, key_eq> filters_;
  // Per subscriber: the entries it is in, with its index there.
  std::vector<std::vector<place>> places_;
  // Distinct filter lengths, ascending.
  std::vector<length_class> lengths_;
  // Per-subscriber marker for de-duplication in `match`.
  mutable std::vector<std::uint64_t> seen_;
  mutable std::uint64_t stamp_ = 0;
};

} // namespace ee
