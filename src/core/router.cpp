#include "src/core/router.hpp"

#include <algorithm>

#include "src/event_access.hpp"

namespace ee {

router_sink::~router_sink() = default;

namespace {

bool contains(const std::vector<sub_id>& xs, sub_id x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

} // namespace

router::router(std::size_t raw_bytes) : raw_budget_(raw_bytes) {
  type_counters_.resize(1); // the "other" type
}

router::~router() {
  for (auto& s : subs_)
    for (std::size_t i = 0; i < s.pending.size(); ++i)
      release_spare(s, s.pending[i].ev);
}

void router::release_spare(const subscriber& s, const event& ev) {
  if (s.who != custody::router)
    return;
  event spare = detail::event_access::adopt(ev);
  // Released here, as it goes out of scope.
}

// -- topology -----------------------------------------------------------------

sub_id router::add_subscriber(std::string name, subscriber_limits limits,
                              custody who) {
  auto id = subs_.push_back(subscriber{});
  auto& s = subs_[id];
  s.name = std::move(name);
  limits.capacity = std::max<std::size_t>(1, limits.capacity);
  limits.bytes = std::max<std::size_t>(1, limits.bytes);
  limits.window = std::max<std::size_t>(1, limits.window);
  s.limits = limits;
  s.who = who;
  s.owned_by_type.assign(type_counters_.size(), 0);
  visit_stamp_.push_back(0);
  return id;
}

pub_id router::add_publisher(std::string name, credit window, sub_id self,
                             bool echo) {
  auto id = pubs_.push_back(publisher{});
  auto& p = pubs_[id];
  p.name = std::move(name);
  p.echo = echo;
  p.window.events = std::max<std::uint64_t>(1, window.events);
  p.window.bytes = std::max<std::uint64_t>(1, window.bytes);
  p.self = self;
  if (self.valid())
    subs_[self].self = id;
  return id;
}

void router::subscribe(sub_id sub, const std::vector<std::string>& filters) {
  table_.remove_all(sub.value);
  if (subs_[sub].gone)
    return;
  for (auto& f : filters)
    table_.add(f, sub.value);
}

void router::set_active(sub_id sub, bool active) {
  auto& s = subs_[sub];
  s.active = active && !s.gone;
  if (s.active && !s.pending.empty())
    mark_dirty(sub);
}

void router::retire(sub_id sub) {
  auto& s = subs_[sub];
  if (s.gone)
    return;
  s.gone = true;
  s.active = false;
  table_.remove_all(sub.value);
  auto dropped = s.pending.size();
  for (std::size_t i = 0; i < s.pending.size(); ++i) {
    drop_typed(s.pending[i].type, &type_counters::dropped_retired);
    release_spare(s, s.pending[i].ev);
  }
  s.pending.clear_and_release();
  // What is queued beyond the events in flight was pending.
  auto dropped_bytes = s.counters.queued_bytes - s.in_flight_bytes;
  if (s.who == custody::router) {
    dropped += s.in_flight.size();
    for (std::size_t i = 0; i < s.in_flight.size(); ++i)
      drop_typed(s.in_flight[i].type, &type_counters::dropped_retired);
    dropped_bytes += s.in_flight_bytes;
    s.in_flight.clear_and_release();
    s.in_flight_count = 0;
    s.in_flight_bytes = 0;
  }
  s.counters.dropped_retired += dropped;
  s.counters.queued -= dropped;
  s.counters.queued_bytes -= dropped_bytes;
  room_freed(sub);
}

void router::reset_credit(pub_id pub) {
  auto& p = pubs_[pub];
  p.owed_events = 0;
  p.owed_bytes = 0;
}

void router::set_types(
    const std::vector<std::pair<std::string, std::string>>& types) {
  type_table_ = subscription_table{};
  type_names_.clear();
  type_lengths_.clear();
  for (auto& [name, prefix] : types) {
    auto id = type_names_.push_back(name);
    type_lengths_.push_back(prefix.size());
    type_table_.add(prefix, id.value);
  }
  type_counters_.assign(type_names_.size() + 1, type_counters{});
  for (auto& sub : subs_)
    sub.owned_by_type.assign(type_counters_.size(), 0);
}

const std::string& router::type_name(type_id t) const {
  static const std::string other;
  return type_names_.contains(t) ? type_names_[t] : other;
}

type_id router::classify(std::string_view bytes) const {
  auto other = types();
  if (type_names_.empty())
    return other;
  type_matched_.clear();
  type_table_.match(bytes, type_matched_, false);
  // The longest prefix wins (a type whose prefix starts another's).
  type_id best = other;
  for (auto raw : type_matched_)
    if (type_id id{raw};
        best == other || type_lengths_[id] > type_lengths_[best])
      best = id;
  return best;
}

void router::raw_subscribe(std::string_view filter, bool on) {
  if (on)
    raw_table_.add(filter, 0);
  else
    raw_table_.remove(filter, 0);
}

void router::set_open(bool open) {
  if (open_ == open)
    return;
  open_ = open;
  if (!open_)
    return;
  auto held = std::move(held_);
  held_.clear();
  for (auto pub : held)
    retry(pub);
}

// -- events -------------------------------------------------------------------

void router::publish(pub_id pub, event ev) {
  auto& p = pubs_[pub];
  ++p.counters.published;
  auto park = [&](std::vector<sub_id> skip) {
    p.parked.push_back(parked_event{std::move(ev), std::move(skip)});
    ++p.counters.parked;
    p.counters.peak_parked =
        std::max(p.counters.peak_parked, p.counters.parked);
  };
  if (!open_) {
    if (!p.blocked) {
      p.blocked = true;
      ++waiting_;
      held_.push_back(pub);
    }
    park({});
    return;
  }
  if (!p.parked.empty()) {
    park({});
    return;
  }
  no_skip_.clear();
  if (try_route(pub, ev, no_skip_) == outcome::routed) {
    owe(pub, 1, ev.size());
    return;
  }
  park(no_skip_);
  block(pub);
}

void router::publish_system(event ev) {
  ++totals_.routed;
  ++totals_.system;
  auto t = classify(ev.bytes());
  ++type_counters_[t].published;
  matched_.clear();
  table_.match(ev.bytes(), matched_, true);
  sort_matched();
  matched_.erase(std::remove_if(matched_.begin(), matched_.end(),
                                [this](subscription_table::subscriber raw) {
                                  return subs_[sub_id{raw}].gone;
                                }),
                 matched_.end());
  fan_out(ev, t);
  bool any = !matched_.empty();
  if (raw_table_.matches_any(ev.bytes(), true)) {
    route_raw(ev, true);
    any = true;
  }
  if (!any)
    ++totals_.unmatched;
}

void router::sort_matched() {
  // Subscriber order decides which cycle is broken first and who waits on
  // whom: keep it canonical. The table usually yields it already (one
  // filter, subscribed in id order): then a check is enough.
  if (!std::is_sorted(matched_.begin(), matched_.end()))
    std::sort(matched_.begin(), matched_.end());
}

router::outcome router::try_route(pub_id pub, const event& ev,
                                  std::vector<sub_id>& skip) {
  matched_.clear();
  table_.match(ev.bytes(), matched_, false);
  if (!pubs_[pub].echo) // never its own subscriber side
    matched_.erase(
        std::remove(matched_.begin(), matched_.end(), pubs_[pub].self.value),
        matched_.end());
  sort_matched();
  // One pass: keep who takes the event (not gone, not skipped), collect
  // who is full.
  std::vector<sub_id> wait;
  auto keep = matched_.begin();
  for (auto raw : matched_) {
    sub_id id{raw};
    auto& s = subs_[id];
    if (s.gone || (!skip.empty() && contains(skip, id)))
      continue;
    *keep++ = raw;
    if (s.limits.overflow == overflow_policy::block && full(s, ev.size()))
      wait.push_back(id);
  }
  matched_.erase(keep, matched_.end());
  if (!wait.empty()) {
    // A subscriber that (transitively) waits on this publisher would never
    // make room: waiting for it is a deadlock. Drop the event for it.
    auto self = pubs_[pub].self;
    if (self.valid()) {
      for (auto i = wait.begin(); i != wait.end();) {
        if (!reaches(*i, self)) {
          ++i;
          continue;
        }
        auto& s = subs_[*i];
        ++s.counters.routed;
        ++s.counters.dropped_cycle;
        auto& tc = type_counters_[classify(ev.bytes())];
        ++tc.routed;
        ++tc.dropped_cycle;
        ++pubs_[pub].counters.cycles_broken;
        cycles_.emplace_back(pub, *i);
        skip.push_back(*i);
        matched_.erase(std::find(matched_.begin(), matched_.end(), i->value));
        i = wait.erase(i);
      }
    }
    if (!wait.empty()) {
      set_waits_on(pub, std::move(wait));
      return outcome::waiting;
    }
  }
  ++totals_.routed;
  auto t = classify(ev.bytes());
  ++type_counters_[t].published;
  bool any = !skip.empty() || !matched_.empty();
  fan_out(ev, t);
  if (raw_table_.matches_any(ev.bytes(), false)) {
    route_raw(ev, false);
    any = true;
  }
  if (!any)
    ++totals_.unmatched;
  return outcome::routed;
}

void router::fan_out(const event& ev, type_id t) {
  // One atomic addition for all of them, not one per subscriber (and not
  // one more per delivery: router custody's spare references).
  std::uint32_t refs = 0;
  for (auto raw : matched_)
    refs += subs_[sub_id{raw}].who == custody::router ? 2 : 1;
  detail::event_access::add(ev, refs);
  for (auto raw : matched_)
    enqueue(sub_id{raw}, detail::event_access::adopt(ev), t);
}

void router::enqueue(sub_id id, event ev, type_id t) {
  auto& s = subs_[id];
  auto& c = s.counters;
  ++c.routed;
  ++type_counters_[t].routed;
  if (full(s, ev.size())) {
    switch (s.limits.overflow) {
    case overflow_policy::drop_oldest:
      while (!s.pending.empty() && full(s, ev.size()))
        drop_pending_front(s);
      if (!full(s, ev.size()))
        break;
      [[fallthrough]];
    case overflow_policy::drop_newest:
    case overflow_policy::block: // only the engine's own events get here
      ++c.dropped_policy;
      ++type_counters_[t].dropped_policy;
      release_spare(s, ev);
      return;
    }
  }
  auto size = ev.size();
  c.queued_bytes += size;
  s.pending.push_back(item{std::move(ev), t, size});
  ++type_counters_[t].queued;
  ++c.queued;
  note_queue(s);
  if (s.active)
    mark_dirty(id);
}

void router::drop_typed(type_id t, std::uint64_t type_counters::*reason) {
  auto& tc = type_counters_[t];
  ++(tc.*reason);
  --tc.queued;
}

void router::drop_pending_front(subscriber& s) {
  auto size = s.pending.front().size;
  drop_typed(s.pending.front().type, &type_counters::dropped_policy);
  release_spare(s, s.pending.front().ev);
  s.pending.pop_front();
  --s.counters.queued;
  s.counters.queued_bytes -= size;
  ++s.counters.dropped_policy;
}

void router::route_raw(const event& ev, bool) {
  if (totals_.raw_bytes > 0 && totals_.raw_bytes + ev.size() > raw_budget_) {
    ++totals_.raw_dropped;
    return;
  }
  raw_batch_.push_back(ev);
  totals_.raw_bytes += ev.size();
  ++totals_.raw_routed;
}

// -- subscriber feedback ------------------------------------------------------

void router::ack(sub_id sub, std::uint64_t n) {
  auto& s = subs_[sub];
  n = std::min<std::uint64_t>(n, s.in_flight.size());
  if (n == 0)
    return;
  std::uint64_t bytes = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto& front = s.in_flight.front();
    bytes += front.size;
    auto& tc = type_counters_[front.type];
    ++tc.handled;
    --tc.queued;
    s.in_flight.pop_front();
  }
  s.in_flight_count -= n;
  s.in_flight_bytes -= bytes;
  s.counters.handled += n;
  s.counters.queued -= n;
  s.counters.queued_bytes -= bytes;
  if (!s.pending.empty() && s.active)
    mark_dirty(sub);
  room_freed(sub);
}

std::optional<event> router::take_dead_letter(sub_id sub) {
  auto& s = subs_[sub];
  if (s.in_flight.empty())
    return std::nullopt;
  auto& tc = type_counters_[s.in_flight.front().type];
  ++tc.dead_letters;
  --tc.queued;
  auto ev = std::move(s.in_flight.front().ev);
  s.in_flight.pop_front();
  --s.in_flight_count;
  s.in_flight_bytes -= ev.size();
  ++s.counters.dead_letters;
  --s.counters.queued;
  s.counters.queued_bytes -= ev.size();
  room_freed(sub);
  return ev;
}

void router::requeue(sub_id sub) {
  auto& s = subs_[sub];
  if (s.in_flight.empty())
    return;
  s.counters.redelivered += s.in_flight.size();
  while (!s.in_flight.empty()) {
    // Pending again: it needs its spare reference back (a rare path).
    detail::event_access::add(s.in_flight.back().ev, 1);
    s.pending.push_front(std::move(s.in_flight.back()));
    s.in_flight.pop_back();
  }
  s.in_flight_count = 0;
  s.in_flight_bytes = 0;
  if (s.active)
    mark_dirty(sub);
}

void router::settle(sub_id sub, const settlement& st) {
  auto& s = subs_[sub];
  std::uint64_t n = 0;
  std::uint64_t bytes = 0;
  // Each settled event leaves its type's queue for `reason`.
  auto count = [&](const event_batch& evs,
                   std::uint64_t type_counters::*reason) -> std::uint64_t {
    auto before = n;
    for (auto& ev : evs) {
      if (n == s.in_flight_count)
        break; // more than was delivered: ignore the rest
      auto t = classify(ev.bytes());
      drop_typed(t, reason);
      if (s.owned_by_type[t] > 0)
        --s.owned_by_type[t];
      ++n;
      bytes += ev.size();
    }
    return n - before;
  };
  s.counters.handled += count(st.handled, &type_counters::handled);
  s.counters.dropped_retired +=
      count(st.discarded, &type_counters::dropped_retired);
  s.counters.dead_letters +=
      count(st.dead_letters, &type_counters::dead_letters);
  bytes = std::min<std::uint64_t>(bytes, s.in_flight_bytes);
  s.in_flight_count -= n;
  s.in_flight_bytes -= bytes;
  s.counters.queued -= n;
  s.counters.queued_bytes -= bytes;
  if (!s.pending.empty() && s.active)
    mark_dirty(sub);
  room_freed(sub);
}

void router::abandon_in_flight(sub_id sub) {
  auto& s = subs_[sub];
  if (s.who != custody::owner || s.in_flight_count == 0)
    return;
  s.counters.dropped_retired += s.in_flight_count;
  s.counters.queued -= s.in_flight_count;
  for (auto t : s.owned_by_type.ids()) {
    auto& tc = type_counters_[t];
    tc.dropped_retired += s.owned_by_type[t];
    tc.queued -= s.owned_by_type[t];
    s.owned_by_type[t] = 0;
  }
  s.counters.queued_bytes -= s.in_flight_bytes;
  s.in_flight_count = 0;
  s.in_flight_bytes = 0;
  room_freed(sub);
}

void router::raw_released(std::uint64_t bytes) {
  totals_.raw_bytes -= std::min(bytes, totals_.raw_bytes);
}

// -- output -------------------------------------------------------------------

void router::mark_dirty(sub_id sub) {
  auto& s = subs_[sub];
  if (!s.dirty) {
    s.dirty = true;
    dirty_.push_back(sub);
  }
}

void router::note_queue(subscriber& s) {
  auto& c = s.counters;
  c.peak_queue = std::max(c.peak_queue, c.queued);
  c.peak_bytes = std::max(c.peak_bytes, c.queued_bytes);
}

void router::deliver(sub_id id, router_sink& sink) {
  auto& s = subs_[id];
  if (!s.active || s.gone || s.pending.empty())
    return;
  // A subscriber whose own events wait for room gets nothing new:
  // backpressure travels upstream.
  if (s.self.valid() && pubs_[s.self].blocked)
    return;
  // One queued event stays undelivered when the queue is full, so
  // drop_oldest always has an old event to drop for a new one.
  auto window = std::min<std::uint64_t>(
      s.limits.window, std::max<std::size_t>(1, s.limits.capacity - 1));
  if (s.in_flight_count >= window)
    return;
  auto n =
      std::min<std::uint64_t>(window - s.in_flight_count, s.pending.size());
  event_batch batch;
  batch.reserve(n);
  std::uint64_t bytes = 0;
  for (std::uint64_t i = 0; i < n; ++i) {
    auto& x = s.pending.front();
    bytes += x.size;
    ++type_counters_[x.type].delivered;
    if (s.who == custody::router) {
      // The batch takes the pending item's spare reference (no atomic).
      batch.push_back(detail::event_access::adopt(x.ev));
      s.in_flight.push_back(std::move(x));
    } else {
      ++s.owned_by_type[x.type];
      batch.push_back(std::move(x.ev));
    }
    s.pending.pop_front();
  }
  s.in_flight_count += n;
  s.in_flight_bytes += bytes;
  s.counters.delivered += n;
  sink.deliver(id, std::move(batch));
}

void router::flush(router_sink& sink) {
  // A sink never calls back into the router, so one pass over the
  // swapped-out list is enough; both lists keep their capacity.
  flushing_.swap(dirty_);
  for (auto id : flushing_) {
    subs_[id].dirty = false;
    deliver(id, sink);
  }
  flushing_.clear();
  granting_.swap(grants_);
  for (auto pub : granting_) {
    auto& p = pubs_[pub];
    p.grant_due = false;
    if (p.blocked || (p.owed_events == 0 && p.owed_bytes == 0))
      continue;
    credit c{p.owed_events, p.owed_bytes};
    p.owed_events = 0;
    p.owed_bytes = 0;
    sink.grant(pub, c);
  }
  granting_.clear();
  if (!raw_batch_.empty()) {
    event_batch raw;
    raw.swap(raw_batch_);
    sink.deliver_raw(std::move(raw));
  }
  if (!cycles_.empty()) {
    std::sort(cycles_.begin(), cycles_.end());
    cycles_.erase(std::unique(cycles_.begin(), cycles_.end()), cycles_.end());
    for (auto [pub, sub] : cycles_)
      sink.cycle(pub, sub);
    cycles_.clear();
  }
}

// -- queries ------------------------------------------------------------------

bool router::drained(sub_id sub) const {
  auto& s = subs_[sub];
  return s.pending.empty() &&
         (s.who == custody::owner || s.in_flight_count == 0);
}

} // namespace ee
