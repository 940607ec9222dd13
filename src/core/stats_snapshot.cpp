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
                        const std::vector<std::string>& kinds,
                        std::uint64_t raw_published) {
  engine_stats st;
  auto& t = r.totals();
  st.routed = t.routed;
  st.system_events = t.system;
  st.unmatched = t.unmatched;
  st.raw_routed = t.raw_routed;
  st.raw_dropped = t.raw_dropped;
  st.raw_published = raw_published;
  for (sub_id id = 0; id < r.subscribers(); ++id) {
    subscriber_stats x;
    x.kind = id < kinds.size() ? kinds[id] : std::string{};
    copy_queue(x, r.counters(id));
    if (auto pub = r.publisher_of(id); pub != no_id)
      copy_publish(x, r.counters_of_publisher(pub));
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
    copy_type(st.types[ty == r.types() ? "(other)" : r.type_name(ty)], c);
  }
  return st;
}

} // namespace ee
