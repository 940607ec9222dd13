// Supervision in action: a consumer that crashes on every 1,000th event is
// restarted each time (a fresh instance from its factory); the events it had
// not handled yet are delivered again to the new instance, and the event it
// crashed on goes to dead letters, which another plugin watches. At the end
// the counts prove that nothing was lost:
//
//   handled + dead letters == published, and no event handled twice.

#include <atomic>
#include <iostream>
#include <set>
#include <vector>

#include <ee/app.hpp>
#include <ee/log.hpp>

namespace {

constexpr int total = 10000;
constexpr int poison_every = 1000;

// Shared by every incarnation of the consumer (they are fresh objects).
std::vector<int> handled_times(total, 0);
std::atomic<int> handled{0};

class numbers : public ee::blocking_plugin {
public:
  std::string name() const override { return "numbers"; }
  std::vector<ee::event_type> subscriptions() const override { return {}; }
  void run(ee::publisher& pub, ee::subscriber&) override {
    for (int i = 0; i < total; ++i)
      pub.publish("Number:" + std::to_string(i));
  }
};

class flaky_consumer : public ee::plugin {
public:
  std::string name() const override { return "flaky_consumer"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Number:"}};
  }

  void on_start(ee::context& ctx) override {
    if (ctx.restarts() > 0)
      std::cout << "flaky_consumer: incarnation #" << ctx.restarts()
                << " started\n";
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    int i = std::stoi(std::string{ev.after(7)});
    if (i % poison_every == poison_every / 2)
      throw std::runtime_error("cannot digest number " + std::to_string(i));
    ++handled_times[static_cast<std::size_t>(i)];
    if (++handled == total - total / poison_every)
      ctx.stop();
  }
};

class dead_letter_watcher : public ee::plugin {
public:
  std::string name() const override { return "watcher"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{ee::dead_letter_prefix},
            ee::event_type{ee::lifecycle::restarted}};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    if (ev.starts_with(ee::lifecycle::restarted)) {
      ++restarts;
    } else {
      auto text = ev.bytes();
      std::cout << "watcher: dead letter: " << text.substr(text.find('\n') + 1)
                << '\n';
      ++dead_letters;
    }
    if (dead_letters == total / poison_every &&
        restarts == total / poison_every)
      ctx.stop();
  }

  static inline int dead_letters = 0;
  static inline int restarts = 0;
};

} // namespace

int main() {
  ee::app_config cfg;
  cfg.enable_tcp = false;
  cfg.max_restarts = 20;     // within restart_period (10 s)
  cfg.queue_capacity = 1000; // the producer waits meanwhile
  ee::app app{cfg};
  ee::plugin_options opts;
  opts.restart = ee::restart_policy::transient; // restart after a crash only
  opts.backoff.initial = std::chrono::milliseconds{1};
  opts.backoff.max = std::chrono::milliseconds{20};
  app.register_plugin([] { return std::make_unique<flaky_consumer>(); }, opts);
  app.emplace_plugin<numbers>().emplace_plugin<dead_letter_watcher>();
  ee::set_log_level(ee::log_level::error); // show the crashes, not the rest
  auto err = app.run();
  auto stats = app.stats();
  int twice = 0;
  for (auto n : handled_times)
    if (n > 1)
      ++twice;
  auto& flaky = stats.plugins["flaky_consumer"];
  std::cout << "published:        " << total << '\n'
            << "handled:          " << handled << '\n'
            << "dead letters:     " << dead_letter_watcher::dead_letters << '\n'
            << "restarts:         " << flaky.restarts << " (watcher saw "
            << dead_letter_watcher::restarts << ")\n"
            << "handled twice:    " << twice << '\n'
            << "lost:             "
            << total - handled - dead_letter_watcher::dead_letters << '\n';
  if (err) {
    std::cerr << "supervision example failed: " << err.to_string() << '\n';
    return 1;
  }
  bool ok = handled + dead_letter_watcher::dead_letters == total && twice == 0;
  return ok ? 0 : 1;
}
