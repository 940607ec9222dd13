#include "src/core/subscription_table.hpp"

#include <algorithm>

namespace ee {

std::vector<subscription_table::length_class>::iterator
subscription_table::lower_length(std::size_t len) {
  return std::lower_bound(
      lengths_.begin(), lengths_.end(), len,
      [](const length_class& l, std::size_t n) { return l.len < n; });
}

void subscription_table::add(std::string_view filter, subscriber sub) {
  if (places_.size() <= sub) {
    places_.resize(sub + 1);
    seen_.resize(sub + 1, 0);
  }
  auto i = filters_.find(key_of(filter));
  if (i == filters_.end()) {
    auto e = std::make_unique<entry>();
    e->filter = std::string{filter};
    auto k = key_of(e->filter);
    i = filters_.emplace(k, std::move(e)).first;
    auto len = k.bytes.size();
    auto l = lower_length(len);
    if (l == lengths_.end() || l->len != len)
      l = lengths_.insert(l, length_class{len, 0, 0});
    ++l->count;
    if (len > 0)
      l->last_bytes |= std::uint64_t{1}
                       << (static_cast<unsigned char>(filter[len - 1]) & 63);
  }
  auto& e = *i->second;
  if (auto p = find_place(sub, &e)) {
    ++e.subs[p->index].count;
    return;
  }
  places_[sub].push_back({&e, static_cast<std::uint32_t>(e.subs.size())});
  e.subs.push_back({sub, 1});
}

subscription_table::place* subscription_table::find_place(subscriber sub,
                                                          const entry* e) {
  if (sub >= places_.size())
    return nullptr;
  for (auto& p : places_[sub])
    if (p.e == e)
      return &p;
  return nullptr;
}

void subscription_table::erase_member(entry& e, std::uint32_t index) {
  auto gone = e.subs[index].sub;
  auto& mine = places_[gone];
  mine.erase(std::find_if(mine.begin(), mine.end(),
                          [&](const place& p) { return p.e == &e; }));
  auto last = static_cast<std::uint32_t>(e.subs.size() - 1);
  if (index != last) {
    e.subs[index] = e.subs[last];
    find_place(e.subs[index].sub, &e)->index = index;
  }
  e.subs.pop_back();
  if (e.subs.empty())
    erase_entry(e);
}

void subscription_table::erase_entry(entry& e) {
  auto len = e.filter.size();
  // Erase by iterator: a key-based erase would read the key after freeing it.
  filters_.erase(filters_.find(key_of(e.filter))); // destroys e
  auto l = lower_length(len);
  if (--l->count == 0)
    lengths_.erase(l);
}

bool subscription_table::remove(std::string_view filter, subscriber sub) {
  auto i = filters_.find(key_of(filter));
  if (i == filters_.end())
    return false;
  auto& e = *i->second;
  auto p = find_place(sub, &e);
  if (!p)
    return false;
  if (--e.subs[p->index].count == 0)
    erase_member(e, p->index);
  return true;
}

void subscription_table::remove_all(subscriber sub) {
  if (sub >= places_.size())
    return;
  while (!places_[sub].empty()) {
    auto p = places_[sub].back();
    erase_member(*p.e, p.index);
  }
}

template <class F>
bool subscription_table::each_filter_of(std::string_view bytes, bool skip_empty,
                                        F f) const {
  prefix_hash h{bytes};
  for (auto& l : lengths_) {
    auto len = l.len;
    if (len > bytes.size())
      break;
    if ((len == 0 && skip_empty) || !l.may_match(bytes))
      continue;
    auto i = filters_.find(key{bytes.substr(0, len), h.at(len)});
    if (i != filters_.end() && f(*i->second))
      return true;
  }
  return false;
}

void subscription_table::match(std::string_view bytes,
                               std::vector<subscriber>& out,
                               bool skip_empty) const {
  ++stamp_;
  each_filter_of(bytes, skip_empty, [&](const entry& e) {
    for (auto& m : e.subs) {
      if (seen_[m.sub] != stamp_) {
        seen_[m.sub] = stamp_;
        out.push_back(m.sub);
      }
    }
    return false; // all of them
  });
}

bool subscription_table::matches_any(std::string_view bytes,
                                     bool skip_empty) const {
  return each_filter_of(bytes, skip_empty, [](const entry&) { return true; });
}

} // namespace ee
