// The actor plugin of the federation tests (tests/python/test_federation_*.py),
// loaded by `event-engine run` on a middle engine:
//
// * make_fed_counter (actor): counts the events "Fed.ORIGIN:SEQ" per origin
//   and checks that each origin's sequence numbers come 1, 2, 3... with no
//   gap, repetition or reordering. When an origin's SEQ reaches the
//   config's `expect`, it logs "from ORIGIN: SEQ reached, C events, B out
//   of order" (exactly N in order: C == N and B == 0). Every event out of
//   order is logged too. A probe "Fed?ORIGIN:..." is logged once per
//   origin ("probe from ORIGIN"): the tests start publishing once each
//   subscriber saw one, that is once the subscriptions crossed the links.

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include <ee/log.hpp>
#include <ee/plugin_library.hpp>

namespace {

constexpr std::string_view data_prefix = "Fed.";
constexpr std::string_view probe_prefix = "Fed?";

struct origin_count {
  std::int64_t last = 0;
  std::int64_t events = 0;
  std::int64_t out_of_order = 0;
};

class fed_counter : public ee::plugin {
public:
  explicit fed_counter(const ee::plugin_config& cfg)
      : cfg_(cfg), expect_(cfg.get_int("expect", 0)) {
    // nop
  }

  std::string name() const override { return cfg_.name(); }

  std::vector<ee::event_type> subscriptions() const override {
    return cfg_.subscriptions();
  }

  void on_event(ee::context&, const ee::event& ev) override {
    auto bytes = ev.bytes();
    auto colon = bytes.find(':');
    if (colon == std::string_view::npos || bytes.size() < 4)
      return;
    std::string origin{bytes.substr(4, colon - 4)};
    if (bytes.substr(0, 4) == probe_prefix) {
      if (probed_.insert(origin).second)
        say("probe from " + origin);
      return;
    }
    if (bytes.substr(0, 4) != data_prefix)
      return;
    auto seq = std::stoll(std::string{bytes.substr(colon + 1)});
    count(origin, seq);
  }

private:
  void count(const std::string& origin, std::int64_t seq) {
    auto& c = counts_[origin];
    ++c.events;
    if (seq != c.last + 1) {
      ++c.out_of_order;
      say("out of order from " + origin + ": " + std::to_string(seq) +
          " after " + std::to_string(c.last));
    }
    c.last = seq;
    if (seq == expect_)
      say("from " + origin + ": " + std::to_string(seq) + " reached, " +
          std::to_string(c.events) + " events, " +
          std::to_string(c.out_of_order) + " out of order");
  }

  void say(const std::string& line) {
    ee::log(ee::log_level::info, cfg_.name(), line);
  }

  ee::plugin_config cfg_;
  std::int64_t expect_;
  std::map<std::string, origin_count> counts_;
  std::set<std::string> probed_;
};

} // namespace

std::unique_ptr<ee::plugin_base>
make_fed_counter(const ee::plugin_config& cfg) {
  return std::make_unique<fed_counter>(cfg);
}

EE_PLUGIN("2.5.0", EE_FACTORY(make_fed_counter))
