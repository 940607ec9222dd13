#include "actors/subscription_table.hpp"

#include <algorithm>

namespace ee {

void subscription_table::add(std::string_view filter, subscriber sub) {
  auto i = filters_.find(filter);
  if (i == filters_.end()) {
    auto owned = std::make_unique<std::string>(filter);
    std::string_view key{*owned};
    keys_.emplace(key, std::move(owned));
    i = filters_.emplace(key, entry{}).first;
    auto len = key.size();
    auto l = std::lower_bound(lengths_.begin(), lengths_.end(),
                              std::make_pair(len, std::size_t{0}));
    if (l != lengths_.end() && l->first == len)
      ++l->second;
    else
      lengths_.insert(l, {len, 1});
  }
  auto& subs = i->second.subs;
  auto s = std::find_if(subs.begin(), subs.end(),
                        [&](auto& x) { return x.first == sub; });
  if (s != subs.end())
    ++s->second;
  else
    subs.emplace_back(sub, 1);
  if (seen_.size() <= sub)
    seen_.resize(sub + 1, 0);
}

bool subscription_table::remove(std::string_view filter, subscriber sub) {
  auto i = filters_.find(filter);
  if (i == filters_.end())
    return false;
  auto& subs = i->second.subs;
  auto s = std::find_if(subs.begin(), subs.end(),
                        [&](auto& x) { return x.first == sub; });
  if (s == subs.end())
    return false;
  if (--s->second == 0)
    subs.erase(s);
  if (subs.empty()) {
    auto len = filter.size();
    auto key = i->first;
    filters_.erase(i);
    keys_.erase(key);
    auto l = std::lower_bound(lengths_.begin(), lengths_.end(),
                              std::make_pair(len, std::size_t{0}));
    if (--l->second == 0)
      lengths_.erase(l);
  }
  return true;
}

void subscription_table::remove_all(subscriber sub) {
  std::vector<std::string> mine;
  for (auto& [key, e] : filters_)
    for (auto& [s, n] : e.subs)
      if (s == sub)
        for (std::uint32_t k = 0; k < n; ++k)
          mine.emplace_back(key);
  for (auto& f : mine)
    remove(f, sub);
}

void subscription_table::match(std::string_view bytes,
                               std::vector<subscriber>& out,
                               bool skip_empty) const {
  ++stamp_;
  for (auto& [len, count] : lengths_) {
    if (len > bytes.size())
      break;
    if (len == 0 && skip_empty)
      continue;
    auto i = filters_.find(bytes.substr(0, len));
    if (i == filters_.end())
      continue;
    for (auto& [s, n] : i->second.subs) {
      if (seen_[s] != stamp_) {
        seen_[s] = stamp_;
        out.push_back(s);
      }
    }
  }
}

bool subscription_table::matches_any(std::string_view bytes,
                                     bool skip_empty) const {
  for (auto& [len, count] : lengths_) {
    if (len > bytes.size())
      break;
    if (len == 0 && skip_empty)
      continue;
    if (filters_.count(bytes.substr(0, len)) > 0)
      return true;
  }
  return false;
}

} // namespace ee
