#pragma once

// The naive reference model the router is checked against
// (router_model_test.cpp): linear scans, std::deque, no indexes, no batching
// tricks. It takes the same operations as the router and keeps the same
// counters; `flush` returns what the router's flush would emit.

#include "src/core/router.hpp"

#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace ee::test {

/// "None" for the model's own plain ids.
constexpr std::uint32_t no_id = std::numeric_limits<std::uint32_t>::max();

// -- what a flush emitted -----------------------------------------------------

struct outputs {
  std::map<std::uint32_t, std::vector<std::string>> delivered;
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> granted;
  std::vector<std::string> raw;
  std::vector<std::pair<pub_id, sub_id>> cycles;

  bool operator==(const outputs& o) const {
    return delivered == o.delivered && granted == o.granted && raw == o.raw &&
           cycles == o.cycles;
  }
};

/// A router sink that records what the router's flush emitted.
struct capture : router_sink {
  outputs out;
  void deliver(sub_id s, event_batch&& evs) override {
    for (auto& e : evs)
      out.delivered[s.value].push_back(e.str());
  }
  void grant(pub_id p, credit c) override {
    out.granted[p.value].first += c.events;
    out.granted[p.value].second += c.bytes;
  }
  void deliver_raw(event_batch&& evs) override {
    for (auto& e : evs)
      out.raw.push_back(e.str());
  }
  void cycle(pub_id p, sub_id s) override { out.cycles.emplace_back(p, s); }
};

// -- the reference model ------------------------------------------------------

class model {
public:
  explicit model(std::size_t raw_budget) : raw_budget_(raw_budget) {}

  struct msub {
    subscriber_limits lim;
    custody who;
    std::uint32_t self = no_id;
    bool active = false, gone = false;
    std::vector<std::string> filters;
    std::deque<std::string> pending, flight;
    std::uint64_t flight_n = 0, flight_b = 0;
    std::vector<std::uint32_t> waiters;
    subscriber_counters c;
    std::uint64_t bytes() const {
      std::uint64_t b = flight_b;
      for (auto& e : pending)
        b += e.size();
      return b;
    }
  };

  struct mparked {
    std::string ev;
    std::vector<std::uint32_t> skip;
  };

  struct mpub {
    credit window;
    std::uint32_t self = no_id;
    std::deque<mparked> parked;
    bool blocked = false, due = false;
    std::vector<std::uint32_t> waits_on;
    std::uint64_t owed_e = 0, owed_b = 0;
    publisher_counters c;
  };

  std::vector<msub> subs;
  std::vector<mpub> pubs;
  router_totals totals;

  std::uint32_t add_subscriber(subscriber_limits l, custody who);
  std::uint32_t add_publisher(credit w, std::uint32_t self);
  void subscribe(std::uint32_t s, std::vector<std::string> fs);
  void set_active(std::uint32_t s, bool a);
  void set_open(bool o);
  void raw_subscribe(const std::string& f, bool on);
  void publish(std::uint32_t p, const std::string& ev);
  void publish_system(const std::string& ev);
  void ack(std::uint32_t s, std::uint64_t n);
  std::optional<std::string> take_dead_letter(std::uint32_t s);
  void requeue(std::uint32_t s);

  // Owner custody: the owner settles its `k` oldest events as handled.
  // @returns the settlement to give the router.
  settlement settle_oldest(std::uint32_t s, std::uint64_t k);

  void retire(std::uint32_t s);
  void raw_released(std::uint64_t b);
  void break_cycles();
  outputs flush();

  bool waiting(std::uint32_t p) const { return pubs[p].blocked; }

private:
  bool matches(std::uint32_t s, const std::string& ev, bool system) const;
  bool raw_matches(const std::string& ev, bool system) const;
  bool full(const msub& x, std::size_t size) const;
  bool skips(const std::vector<std::uint32_t>& skip, std::uint32_t s) const;
  std::vector<std::uint32_t>
  full_blockers(const std::string& ev,
                const std::vector<std::uint32_t>& skip) const;
  bool reaches(std::uint32_t from, std::uint32_t target,
               std::set<std::uint32_t>& seen) const;
  bool route(std::uint32_t p, const std::string& ev,
             std::vector<std::uint32_t>& skip);
  void enqueue(std::uint32_t s, const std::string& ev);
  void raw(const std::string& ev);
  void park(std::uint32_t p, const std::string& ev,
            std::vector<std::uint32_t> skip);
  void owe(std::uint32_t p, std::uint64_t e, std::uint64_t b);
  void wait_on(std::uint32_t p, std::vector<std::uint32_t> subs_now);
  void retry(std::uint32_t p);
  void freed(std::uint32_t s);
  void dirty(std::uint32_t s);
  void deliver(std::uint32_t s, outputs& o);

  bool open_ = true;
  std::size_t raw_budget_;
  std::vector<std::uint32_t> held_, dirty_, grants_;
  std::vector<std::string> raw_filters_, raw_;
  std::vector<std::pair<pub_id, sub_id>> cycles_;
};

} // namespace ee::test
