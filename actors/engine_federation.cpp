// The engine's side of the federation: its subscriber and publisher in the
// router, the local filters it tells the federation actor about, and the
// peers' lifecycle events.

#include "actors/engine_state.hpp"

#include <set>

#include "actors/federation.hpp"

namespace ee {

void engine_state::configure_federation() {
  auto& cfg = params_->cfg;
  if (!cfg.federation.enabled())
    return;
  subscriber_limits lim;
  lim.capacity = cfg.queue_capacity;
  lim.bytes = cfg.queue_bytes;
  lim.window = cfg.delivery_window;
  lim.overflow = overflow_policy::block;
  fed_sub_ = router_.add_subscriber(fed_name_, lim, custody::router);
  credit window{cfg.publish_window, cfg.publish_window_bytes};
  // Events from peers never flow back into the federation's subscriber.
  fed_pub_ = router_.add_publisher(fed_name_, window, fed_sub_, false);
  router_.set_active(fed_sub_, true);
  fed_stats_ = std::make_shared<federation_stats_box>();
  auto fp = std::make_shared<federation_params>();
  fp->cfg = cfg.federation;
  fp->engine = caf::actor_cast<engine_handle>(self_);
  fp->window = window;
  fp->stats = fed_stats_;
  fed_ = spawn_federation(self_->system(), std::move(fp));
  local_dirty_ = true;
}

void engine_state::subscribe(slot_id id,
                             const std::vector<std::string>& filters) {
  router_.subscribe(slots_[id].sub, filters);
  slot_filters_[id] = filters;
  local_dirty_ = true;
}

void engine_state::send_local_filters() {
  if (!fed_ || !local_dirty_)
    return;
  local_dirty_ = false;
  std::set<std::string> all;
  auto add = [&all](const std::string& f) {
    // Filters of the engine's own events: those stay local.
    if (f.rfind("ee.", 0) != 0)
      all.insert(f);
  };
  for (auto& [id, fs] : slot_filters_)
    for (auto& f : fs)
      add(f);
  for (auto& [f, n] : raw_filters_)
    add(f);
  std::vector<std::string> result{all.begin(), all.end()};
  if (result == local_sent_)
    return;
  local_sent_ = result;
  caf::anon_send(fed_, federation::local_atom::value, std::move(result));
}

void engine_state::on_fed_publish(event_batch& events) {
  take_raw_released();
  for (auto& ev : events)
    router_.publish(fed_pub_, std::move(ev));
}

void engine_state::on_fed_peer(const std::string& name, bool up) {
  std::string buf = up ? lifecycle::peer_up : lifecycle::peer_down;
  buf += name;
  if (!sup_ || !sup_->barrier_passed()) {
    early_peer_events_.emplace_back(std::move(buf));
    return;
  }
  router_.publish_system(event{std::move(buf)});
}

} // namespace ee
