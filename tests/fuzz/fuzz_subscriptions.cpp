// Fuzz target: the subscription table (src/core/subscription_table.hpp)
// against a naive reference model (a count per subscriber and filter, and a
// linear scan), for any sequence of adds, removes, remove_alls and matches.
//
// Input: one operation after another, each a byte for the kind and bytes for
// its arguments (see `fuzz::input`). Filters and events are short strings
// over four characters ('a', 'b', NUL, 0xff), so that they share prefixes.
//
// Checks, after every operation: `remove` reports what the model has; a
// match delivers the same subscribers as the model (as sets), each once,
// in ascending order of their shortest matching filter, and leaves what was
// already in `out`; `matches_any` agrees; `size` counts the distinct
// filters.

#include "src/core/subscription_table.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "fuzz_input.hpp"

using ee::subscription_table;
using subscriber = subscription_table::subscriber;

namespace {

constexpr std::string_view alphabet{"ab\0\xff", 4};

class model {
public:
  void add(const std::string& filter, subscriber sub) {
    ++counts_[{sub, filter}];
  }

  bool remove(const std::string& filter, subscriber sub) {
    auto i = counts_.find({sub, filter});
    if (i == counts_.end())
      return false;
    if (--i->second == 0)
      counts_.erase(i);
    return true;
  }

  void remove_all(subscriber sub) {
    for (auto i = counts_.begin(); i != counts_.end();)
      i = i->first.first == sub ? counts_.erase(i) : std::next(i);
  }

  // Every matching subscriber with the length of its shortest matching
  // filter.
  std::map<subscriber, std::size_t> match(std::string_view ev,
                                          bool skip_empty) const {
    std::map<subscriber, std::size_t> result;
    for (auto& [key, count] : counts_) {
      auto& [sub, filter] = key;
      if ((skip_empty && filter.empty()) ||
          ev.substr(0, filter.size()) != filter)
        continue;
      auto [i, added] = result.emplace(sub, filter.size());
      if (!added)
        i->second = std::min(i->second, filter.size());
    }
    return result;
  }

  std::size_t distinct_filters() const {
    std::set<std::string> filters;
    for (auto& entry : counts_)
      filters.insert(entry.first.second);
    return filters.size();
  }

private:
  std::map<std::pair<subscriber, std::string>, std::size_t> counts_;
};

std::string show(std::string_view bytes) {
  std::string result;
  for (unsigned char c : bytes)
    result += c == 0 ? "\\0" : c == 0xff ? "\\xff" : std::string(1, c);
  return "\"" + result + "\"";
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  ee::fuzz::input in{data, size};
  subscription_table table;
  model ref;
  // Subscribers are small dense integers (plugin slots).
  auto pick_sub = [&] { return static_cast<subscriber>(in.below(24)); };
  for (int ops = 0; !in.done() && ops < 4096; ++ops) {
    switch (in.below(6)) {
    case 0:
    case 1: {
      auto sub = pick_sub();
      auto filter = in.text(5, alphabet);
      table.add(filter, sub);
      ref.add(filter, sub);
      break;
    }
    case 2: {
      auto sub = pick_sub();
      auto filter = in.text(5, alphabet);
      EE_FUZZ_CHECK(table.remove(filter, sub) == ref.remove(filter, sub),
                    "remove " + show(filter) + " of " + std::to_string(sub));
      break;
    }
    case 3: {
      auto sub = pick_sub();
      table.remove_all(sub);
      ref.remove_all(sub);
      break;
    }
    default: {
      auto ev = in.text(8, alphabet);
      bool skip_empty = in.flag();
      // `out` is appended to, not cleared.
      std::vector<subscriber> out{1000000};
      table.match(ev, out, skip_empty);
      auto expected = ref.match(ev, skip_empty);
      auto what = "match " + show(ev) + (skip_empty ? " (skip empty)" : "");
      EE_FUZZ_CHECK(!out.empty() && out.front() == 1000000,
                    what + ": kept what was in out");
      out.erase(out.begin());
      EE_FUZZ_CHECK(out.size() == expected.size(),
                    what + ": " + std::to_string(out.size()) +
                        " subscribers, the model has " +
                        std::to_string(expected.size()));
      std::size_t last_len = 0;
      std::set<subscriber> seen;
      for (auto sub : out) {
        auto i = expected.find(sub);
        EE_FUZZ_CHECK(i != expected.end(),
                      what + ": " + std::to_string(sub) + " does not match");
        EE_FUZZ_CHECK(seen.insert(sub).second,
                      what + ": " + std::to_string(sub) + " twice");
        EE_FUZZ_CHECK(i->second >= last_len,
                      what + ": not in order of first match");
        last_len = i->second;
      }
      EE_FUZZ_CHECK(table.matches_any(ev, skip_empty) == !expected.empty(),
                    what + ": matches_any");
      break;
    }
    }
    EE_FUZZ_CHECK(table.size() == ref.distinct_filters(),
                  "size: " + std::to_string(table.size()) +
                      ", model: " + std::to_string(ref.distinct_filters()));
    EE_FUZZ_CHECK(table.empty() == (table.size() == 0), "empty()");
  }
  return 0;
}
