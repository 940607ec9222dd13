#include "src/core/stats_snapshot.hpp"

namespace ee {

namespace {

void copy_queue(subscriber_stats& to, const subscriber_counters& from) {
  EE_PLUGIN_QUEUE_COUNTERS(EE_COPY)
}

void copy_publish(subscriber_stats& to, const publisher_counters& from) {
  EE_PLUGIN_PUBLISH_COUNTERS(EE_COPY)
}

void copy_type(type_stats& to, const type_counters& from) {
  EE_TYPE_COUNTERS(EE_COPY)
}

} // namespace

engine_stats make_stats(const router& r, const supervisor* sup,
                        const std::vector<plugin_ids>& plugins,
                        std::uint64_t raw_published) {
  engine_stats st;
  auto& t = r.totals();
  st.routed = t.routed;
  st.system_events = t.system;
  st.unmatched = t.unmatched;
  st.raw_routed = t.raw_routed;
  st.raw_dropped = t.raw_dropped;
  st.raw_published = raw_published;
  for (auto& p : plugins) {
    subscriber_stats x;
    x.kind = p.kind;
    copy_queue(x, r.counters(p.sub));
    if (p.pub.valid())
      copy_publish(x, r.counters_of_publisher(p.pub));
    if (sup && p.child.valid()) {
      x.failures = sup->failures(p.child);
      x.restarts = sup->restarts(p.child);
    }
    st.delivered += x.delivered;
    st.dropped += x.dropped;
    st.dead_letters += x.dead_letters;
    st.plugins[r.name(p.sub)] = x;
  }
  for (std::uint32_t i = 0; i <= r.types().value; ++i) {
    type_id ty{i};
    auto& c = r.counters_of_type(ty);
    if (ty == r.types() && c.published == 0 && c.routed == 0)
      continue; // no "(other)" entry when every event had a type
    copy_type(st.types[ty == r.types() ? "(other)" : r.type_name(ty)], c);
  }
  return st;
}

} // namespace ee
