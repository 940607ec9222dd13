#include "actors/stats_snapshot.hpp"

namespace ee {

engine_stats make_stats(const router& r, const supervisor* sup,
                        const std::vector<std::string>& kinds,
                        std::uint64_t raw_published) {
  engine_stats st;
  auto& t = r.totals();
  st.published = t.routed;
  st.system_events = t.system;
  st.unmatched = t.unmatched;
  st.raw_routed = t.raw_routed;
  st.raw_dropped = t.raw_dropped;
  st.raw_published = raw_published;
  for (sub_id id = 0; id < r.subscribers(); ++id) {
    auto& c = r.counters(id);
    auto& p = r.counters_of_publisher(id);
    subscriber_stats x;
    x.kind = id < kinds.size() ? kinds[id] : std::string{};
    x.routed = c.routed;
    x.delivered = c.delivered;
    x.handled = c.handled;
    x.dropped = c.dropped();
    x.dropped_policy = c.dropped_policy;
    x.dropped_cycle = c.dropped_cycle;
    x.dropped_retired = c.dropped_retired;
    x.dead_letters = c.dead_letters;
    x.redelivered = c.redelivered;
    x.queued = c.queued;
    x.queued_bytes = c.queued_bytes;
    x.peak_queue = c.peak_queued;
    x.peak_bytes = c.peak_bytes;
    x.published = p.published;
    x.credit_waits = p.credit_waits;
    if (sup && id < sup->size()) {
      x.failures = sup->failures(id);
      x.restarts = sup->restarts(id);
    }
    st.delivered += x.delivered;
    st.dropped += x.dropped;
    st.dead_letters += x.dead_letters;
    st.plugins[r.name(id)] = x;
  }
  for (type_id ty = 0; ty <= r.types(); ++ty) {
    auto& c = r.counters_of_type(ty);
    if (ty == r.types() && c.published == 0 && c.routed == 0)
      continue; // no "(other)" entry when every event had a type
    type_stats x;
    x.published = c.published;
    x.routed = c.routed;
    x.delivered = c.delivered;
    x.handled = c.handled;
    x.dead_letters = c.dead_letters;
    x.dropped = c.dropped();
    x.dropped_policy = c.dropped_policy;
    x.dropped_cycle = c.dropped_cycle;
    x.dropped_retired = c.dropped_retired;
    x.queued = c.queued;
    st.types[ty == r.types() ? "(other)" : r.type_name(ty)] = x;
  }
  return st;
}

} // namespace ee
