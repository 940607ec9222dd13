// Section e's floor: what CAF alone costs for what the barrier does to K
// plugins. A bare actor system on the engine's scheduler settings spawns K
// `lazy_init` actors and sends each one message; the time from the first
// spawn to the last message handled, and the RSS growth per actor (the
// bytes of CAF's own actor, its mailbox and the one message). The
// `reserve`d handles (8 bytes each) count too, as the engine's count its.

#include "tests/benchmark/sections.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <caf/all.hpp>

#include "src/scheduler_config.hpp"

namespace ee::bench {

namespace {

struct floor_shared {
  std::size_t k = 0;
  std::atomic<std::size_t> handled{0};
  std::mutex mtx;
  std::condition_variable cv;
  bool done = false;           // guarded by mtx
  clock_type::time_point last; // guarded by mtx
};

caf::behavior floor_actor(caf::event_based_actor*, floor_shared* s) {
  return {[s](int) {
    if (s->handled.fetch_add(1, std::memory_order_acq_rel) + 1 != s->k)
      return;
    auto now = clock_type::now();
    std::lock_guard<std::mutex> guard{s->mtx};
    s->last = now;
    s->done = true;
    s->cv.notify_all();
  }};
}

} // namespace

int child_caf_floor(std::size_t k) {
  floor_shared s;
  s.k = k;
  std::vector<caf::actor> actors;
  actors.reserve(k);
  // As the barrier's figures: from before the actor system starts (run()
  // starts the engine's), RSS from before it.
  long before_kb = status_kb("VmRSS");
  auto t0 = clock_type::now();
  caf::actor_system_config sys_cfg;
  configure_scheduler(sys_cfg, child_app_config().scheduler_threads);
  caf::actor_system sys{sys_cfg};
  for (std::size_t i = 0; i < k; ++i)
    actors.push_back(sys.spawn<caf::lazy_init>(floor_actor, &s));
  for (auto& a : actors)
    caf::anon_send(a, 1);
  bool done = false;
  {
    std::unique_lock<std::mutex> lock{s.mtx};
    done = s.cv.wait_for(lock, std::chrono::seconds{60 + k / 1000},
                         [&] { return s.done; });
  }
  long running_kb = status_kb("VmRSS");
  print_child({{"ok", done},
               {"floor_s", done ? seconds(t0, s.last) : -1.0},
               {"before_kb", static_cast<double>(before_kb)},
               {"running_kb", static_cast<double>(running_kb)}});
  for (auto& a : actors)
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace ee::bench
