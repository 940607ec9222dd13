#pragma once

#include <cstdint>
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

  // Keys point into the entries' own strings (entries never move).
  std::unordered_map<std::string_view, std::unique_ptr<entry>> filters_;
  // Per subscriber: the entries it is in, with its index there.
  std::vector<std::vector<place>> places_;
  // Distinct filter lengths, ascending, with the number of filters each.
  std::vector<std::pair<std::size_t, std::size_t>> lengths_;
  // Per-subscriber marker for de-duplication in `match`.
  mutable std::vector<std::uint64_t> seen_;
  mutable std::uint64_t stamp_ = 0;
};

} // namespace ee
