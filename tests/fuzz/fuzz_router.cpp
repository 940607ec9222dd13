// Fuzz target: the router (src/core/router.hpp) driven the way the engine
// drives it, by any sequence of operations.
//
// Input: first the topology (raw byte budget; 1..6 subscribers with their
// queue bounds, window, overflow policy, custody, filters and whether they
// start active; 1..4 publishers, most of them a subscriber's own publisher
// side; whether the router starts closed, before the barrier), then one
// operation after another: publish, system events, acks (router custody)
// and settlements (owner custody, of exactly what the owner was handed),
// dead letters, requeues, activity, filters, retirement, abandonment,
// credit resets, raw subscriptions and releases, flushes, cycle breaking,
// opening.
//
// Checks, after every operation: every subscriber's books balance
// (routed == handled + dead_letters + dropped + queued); queues stay within
// their bounds in events and bytes (plus one event larger than the byte
// budget into an empty queue), and so do raw events; nothing is in flight
// beyond the window; a dead letter is the oldest event in flight; nobody
// gets deliveries while inactive, retired or while its own publisher waits;
// credit never comes back for more than was published, nor to a waiting
// publisher. At the end: opened, every subscriber active and consuming,
// everything drains and no publisher stays waiting.

#include "src/core/router.hpp"

#include <algorithm>
#include <deque>

#include "fuzz_input.hpp"

using namespace ee;

namespace {

constexpr std::string_view alphabet{"abc"};
constexpr std::size_t max_event = 10;

struct sub_state {
  subscriber_limits limits;
  custody who = custody::router;
  pub_id self;
  bool active = false;
  bool gone = false;
  // What its holder has in flight: the router (router custody) or the
  // owner (owner custody), in delivery order.
  std::deque<event> in_flight;
};

struct pub_state {
  std::uint64_t published = 0;
  std::uint64_t published_bytes = 0;
  std::uint64_t granted = 0;
  std::uint64_t granted_bytes = 0;
};

class harness : public router_sink {
public:
  harness(std::size_t raw_budget) : raw_budget_(raw_budget), r_(raw_budget) {
    // nop
  }

  void setup(fuzz::input& in) {
    // Event types to count by (some prefixes of others).
    std::vector<std::pair<std::string, std::string>> types;
    for (auto k = in.below(4); k > 0; --k)
      types.emplace_back(
          "t" + std::to_string(k),
          std::string(1 + in.below(2), static_cast<char>('a' + in.below(3))));
    r_.set_types(types);
    auto n_subs = 1 + in.below(6);
    for (std::size_t i = 0; i < n_subs; ++i) {
      sub_state s;
      s.limits.capacity = 1 + in.below(6);
      s.limits.bytes = 1 + in.below(24);
      s.limits.window = 1 + in.below(4);
      s.limits.overflow = static_cast<overflow_policy>(in.below(3));
      s.who = in.flag() ? custody::owner : custody::router;
      auto id = r_.add_subscriber("s" + std::to_string(i), s.limits, s.who);
      EE_FUZZ_TRACE(
          "subscriber " + to_string(id) + ": capacity " +
          std::to_string(s.limits.capacity) + ", bytes " +
          std::to_string(s.limits.bytes) + ", window " +
          std::to_string(s.limits.window) + ", overflow " +
          std::to_string(static_cast<int>(s.limits.overflow)) +
          (s.who == custody::owner ? ", owner custody" : ", router custody"));
      EE_FUZZ_CHECK(id == subs_.push_back(s), "the same ids");
      r_.subscribe(id, filters(in));
      set_active(id, in.flag());
    }
    auto n_pubs = 1 + in.below(4);
    for (std::size_t i = 0; i < n_pubs; ++i) {
      credit window{1 + in.below(8), 1 + in.below(40)};
      // Most publishers are plugins (a subscriber too); some are not (the
      // raw publish port).
      auto self = i < n_subs && in.below(4) > 0 ? sub_id{i} : sub_id::none();
      auto id = r_.add_publisher("p" + std::to_string(i), window, self);
      EE_FUZZ_TRACE("publisher " + to_string(id) + ": window " +
                    std::to_string(window.events) + "/" +
                    std::to_string(window.bytes) + ", self " +
                    (self.valid() ? to_string(self) : "none"));
      EE_FUZZ_CHECK(id == pubs_.push_back(pub_state{}), "the same ids");
      if (self.valid())
        subs_[self].self = id;
    }
    // Before the barrier the router is closed; it opens once.
    if (in.flag()) {
      EE_FUZZ_TRACE("closed");
      r_.set_open(false);
    }
  }

  void step(fuzz::input& in) {
    auto s = sub_id{in.below(subs_.size())};
    auto p = pub_id{in.below(pubs_.size())};
    auto& sub = subs_[s];
    switch (in.below(20)) {
    case 0:
    case 1:
    case 2:
    case 3:
    case 4: {
      auto ev = in.text(max_event, alphabet);
      ++pubs_[p].published;
      pubs_[p].published_bytes += ev.size();
      EE_FUZZ_TRACE("publish " + to_string(p) + " '" + ev + "'");
      r_.publish(p, event{ev});
      break;
    }
    case 5: {
      auto ev = in.text(max_event, alphabet);
      EE_FUZZ_TRACE("publish_system '" + ev + "'");
      r_.publish_system(event{ev});
      break;
    }
    case 6:
    case 7: {
      auto n = 1 + in.below(4);
      if (sub.who == custody::router)
        ack(s, n);
      else
        settle(s, n, in);
      break;
    }
    case 8: {
      EE_FUZZ_TRACE("take_dead_letter " + to_string(s));
      auto dead = r_.take_dead_letter(s);
      if (sub.who == custody::owner || sub.in_flight.empty()) {
        EE_FUZZ_CHECK(!dead, "a dead letter only from the router's custody");
      } else {
        EE_FUZZ_CHECK(dead && dead->shares_buffer_with(sub.in_flight.front()),
                      "the dead letter is the oldest event in flight");
        sub.in_flight.pop_front();
      }
      break;
    }
    case 9:
      EE_FUZZ_TRACE("requeue " + to_string(s));
      r_.requeue(s);
      if (sub.who == custody::router)
        sub.in_flight.clear(); // back in the queue, delivered again
      break;
    case 10:
      set_active(s, in.flag());
      break;
    case 11: {
      auto fs = filters(in);
      std::string text;
      for (auto& f : fs)
        text += " '" + f + "'";
      EE_FUZZ_TRACE("subscribe " + to_string(s) + text);
      r_.subscribe(s, fs);
      break;
    }
    case 12:
      if (in.below(4) == 0) {
        EE_FUZZ_TRACE("retire " + to_string(s));
        r_.retire(s);
        sub.gone = true;
        sub.active = false;
        if (sub.who == custody::router)
          sub.in_flight.clear(); // dropped
      }
      break;
    case 13:
      EE_FUZZ_TRACE("abandon_in_flight " + to_string(s));
      r_.abandon_in_flight(s);
      if (sub.who == custody::owner)
        sub.in_flight.clear(); // the owner will not settle them
      break;
    case 14:
      EE_FUZZ_TRACE("reset_credit " + to_string(p));
      r_.reset_credit(p);
      break;
    case 15:
      if (in.flag()) {
        auto f = in.text(3, alphabet);
        bool on = in.flag();
        EE_FUZZ_TRACE("raw_subscribe '" + f + "' " + (on ? "on" : "off"));
        r_.raw_subscribe(f, on);
      } else {
        auto bytes = raw_outstanding_ * in.byte() / 255;
        raw_outstanding_ -= bytes;
        EE_FUZZ_TRACE("raw_released " + std::to_string(bytes));
        r_.raw_released(bytes);
      }
      break;
    case 16:
      EE_FUZZ_TRACE("break_cycles");
      r_.break_cycles();
      break;
    case 17:
      if (in.below(4) == 0) {
        EE_FUZZ_TRACE("open");
        r_.set_open(true);
      }
      break;
    default:
      flush();
      break;
    }
    check();
  }

  // Opens, activates every subscriber and consumes everything: no event
  // may stay queued, no publisher waiting.
  void drain() {
    EE_FUZZ_TRACE("-- drain");
    r_.set_open(true);
    for (auto s : subs_.ids())
      set_active(s, true);
    // Each round moves at least one event while any is left (a queue
    // holds at most 6; 4 publishers park at most 2048).
    for (int round = 0; round < 4096 && !drained(); ++round) {
      flush();
      r_.break_cycles();
      for (auto s : subs_.ids()) {
        if (subs_[s].in_flight.empty())
          continue;
        if (subs_[s].who == custody::router) {
          ack(s, subs_[s].in_flight.size());
        } else {
          fuzz::input none{nullptr, 0};
          settle(s, subs_[s].in_flight.size(), none);
        }
      }
      check();
    }
    for (auto s : subs_.ids())
      EE_FUZZ_CHECK(r_.counters(s).queued == 0 && r_.drained(s),
                    "subscriber " + to_string(s) + " keeps " +
                        std::to_string(r_.counters(s).queued) + " events");
    for (auto p : pubs_.ids())
      EE_FUZZ_CHECK(!r_.waiting(p) && r_.counters_of_publisher(p).parked == 0,
                    "publisher " + to_string(p) + " is stuck");
    EE_FUZZ_CHECK(r_.waiting_publishers() == 0, "nobody waits");
  }

  bool drained() const {
    for (auto s : subs_.ids())
      if (r_.counters(s).queued > 0)
        return false;
    return r_.waiting_publishers() == 0;
  }

  // -- router_sink ------------------------------------------------------------

  void deliver(sub_id id, event_batch&& events) override {
    EE_FUZZ_CHECK(subs_.contains(id), "a known subscriber");
    auto& s = subs_[id];
    EE_FUZZ_CHECK(!events.empty(), "no empty deliveries");
    EE_FUZZ_CHECK(s.active && !s.gone, "deliveries only to active "
                                       "subscribers");
    EE_FUZZ_CHECK(!s.self.valid() || !r_.waiting(s.self),
                  "nothing new while its own publisher waits");
    EE_FUZZ_TRACE("  deliver " + to_string(id) + ": " +
                  std::to_string(events.size()) + " events");
    for (auto& ev : events)
      s.in_flight.push_back(std::move(ev));
    auto window = std::min<std::size_t>(
        s.limits.window, std::max<std::size_t>(1, s.limits.capacity - 1));
    EE_FUZZ_CHECK(s.in_flight.size() <= window,
                  std::to_string(s.in_flight.size()) + " in flight, window " +
                      std::to_string(window));
  }

  void grant(pub_id pub, credit c) override {
    EE_FUZZ_CHECK(pubs_.contains(pub), "a known publisher");
    EE_FUZZ_CHECK(!r_.waiting(pub), "no credit while waiting");
    EE_FUZZ_CHECK(c.events > 0 || c.bytes > 0, "no empty grants");
    auto& p = pubs_[pub];
    p.granted += c.events;
    p.granted_bytes += c.bytes;
    EE_FUZZ_CHECK(p.granted <= p.published &&
                      p.granted_bytes <= p.published_bytes,
                  "credit back for more than was published");
  }

  void deliver_raw(event_batch&& events) override {
    EE_FUZZ_CHECK(!events.empty(), "no empty raw deliveries");
    for (auto& ev : events)
      raw_outstanding_ += ev.size();
  }

  void cycle(pub_id pub, sub_id sub) override {
    EE_FUZZ_CHECK(pubs_.contains(pub) && subs_.contains(sub),
                  "a cycle between known parties");
  }

private:
  std::vector<std::string> filters(fuzz::input& in) {
    std::vector<std::string> result;
    for (auto n = in.below(4); n > 0; --n)
      result.push_back(in.text(3, alphabet));
    return result;
  }

  void set_active(sub_id s, bool on) {
    EE_FUZZ_TRACE("set_active " + to_string(s) + (on ? " on" : " off"));
    r_.set_active(s, on);
    subs_[s].active = on && !subs_[s].gone;
  }

  void ack(sub_id s, std::size_t n) {
    auto& q = subs_[s].in_flight;
    n = std::min(n, q.size());
    EE_FUZZ_TRACE("ack " + to_string(s) + " " + std::to_string(n));
    r_.ack(s, n);
    q.erase(q.begin(), q.begin() + static_cast<std::ptrdiff_t>(n));
  }

  // The owner settles its `n` oldest events: handled, discarded or dead.
  void settle(sub_id s, std::size_t n, fuzz::input& in) {
    auto& q = subs_[s].in_flight;
    settlement st;
    for (; n > 0 && !q.empty(); --n) {
      auto ev = std::move(q.front());
      q.pop_front();
      switch (in.below(4)) {
      case 0:
      case 1:
        st.handled.push_back(std::move(ev));
        break;
      case 2:
        st.discarded.push_back(std::move(ev));
        break;
      default:
        st.dead_letters.push_back(std::move(ev));
        break;
      }
    }
    EE_FUZZ_TRACE("settle " + to_string(s) + ": handled " +
                  std::to_string(st.handled.size()) + ", discarded " +
                  std::to_string(st.discarded.size()) + ", dead " +
                  std::to_string(st.dead_letters.size()));
    r_.settle(s, st);
  }

  void flush() {
    EE_FUZZ_TRACE("flush");
    r_.flush(*this);
    EE_FUZZ_CHECK(r_.totals().raw_bytes == raw_outstanding_,
                  "raw bytes: the router counts " +
                      std::to_string(r_.totals().raw_bytes) +
                      ", handed out and not released: " +
                      std::to_string(raw_outstanding_));
  }

  void check() {
    std::size_t waiting = 0;
    for (auto p : pubs_.ids()) {
      waiting += r_.waiting(p);
      auto& c = r_.counters_of_publisher(p);
      EE_FUZZ_CHECK(c.published == pubs_[p].published, "publisher count");
      EE_FUZZ_CHECK(c.parked <= c.published && c.parked <= c.peak_parked,
                    "parked events of publisher " + to_string(p));
    }
    EE_FUZZ_CHECK(r_.waiting_publishers() == waiting, "waiting publishers");
    std::uint64_t type_routed = 0, type_queued = 0, type_published = 0;
    for (auto t : r_.type_ids()) {
      auto& c = r_.counters_of_type(t);
      EE_FUZZ_CHECK(c.routed ==
                        c.handled + c.dead_letters + c.dropped() + c.queued,
                    "the books of type " + to_string(t));
      type_routed += c.routed;
      type_queued += c.queued;
      type_published += c.published;
    }
    EE_FUZZ_CHECK(type_published == r_.totals().routed,
                  "every routed event has one type");
    std::uint64_t sub_routed = 0, sub_queued = 0;
    for (auto id : subs_.ids()) {
      auto& s = subs_[id];
      auto& c = r_.counters(id);
      auto name = "subscriber " + to_string(id) + ": ";
      EE_FUZZ_CHECK(c.routed ==
                        c.handled + c.dead_letters + c.dropped() + c.queued,
                    name + "routed " + std::to_string(c.routed) +
                        " != handled " + std::to_string(c.handled) +
                        " + dead " + std::to_string(c.dead_letters) +
                        " + dropped " + std::to_string(c.dropped()) +
                        " + queued " + std::to_string(c.queued));
      EE_FUZZ_CHECK(c.queued <= s.limits.capacity,
                    name + std::to_string(c.queued) + " queued, capacity " +
                        std::to_string(s.limits.capacity));
      EE_FUZZ_CHECK(c.queued_bytes <= s.limits.bytes || c.queued <= 1,
                    name + std::to_string(c.queued_bytes) +
                        " bytes queued, budget " +
                        std::to_string(s.limits.bytes));
      EE_FUZZ_CHECK(c.queued <= c.peak_queue && c.queued_bytes <= c.peak_bytes,
                    name + "peaks");
      EE_FUZZ_CHECK(s.in_flight.size() <= c.queued,
                    name + "more in flight than queued");
      sub_routed += c.routed;
      sub_queued += c.queued;
      EE_FUZZ_CHECK(c.queued > 0 || r_.drained(id), name + "drained");
      EE_FUZZ_CHECK(c.delivered >= c.handled + c.dead_letters,
                    name + "handled or dead more than delivered");
    }
    EE_FUZZ_CHECK(type_routed == sub_routed && type_queued == sub_queued,
                  "the types' copies are the subscribers' copies");
    EE_FUZZ_CHECK(r_.totals().raw_bytes <= std::max(raw_budget_, max_event),
                  "raw bytes within their budget");
  }

  std::size_t raw_budget_;
  router r_;
  id_vector<sub_id, sub_state> subs_;
  id_vector<pub_id, pub_state> pubs_;
  std::uint64_t raw_outstanding_ = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data,
                                      std::size_t size) {
  fuzz::input in{data, size};
  harness h{1 + in.below(32)};
  h.setup(in);
  for (int ops = 0; !in.done() && ops < 2048; ++ops)
    h.step(in);
  h.drain();
  return 0;
}
