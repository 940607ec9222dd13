#include "actors/links.hpp"

#include <caf/all.hpp>

#include "actors/messages.hpp"

namespace ee {

namespace {

class caf_blocking_link final : public blocking_link {
public:
  caf_blocking_link(engine_handle engine, slot_id slot, std::uint32_t inc)
      : engine_(std::move(engine)), slot_(slot), inc_(inc) {
    // nop
  }

  void ready(std::vector<std::string> filters,
             std::vector<std::string> type_names) override {
    caf::anon_send(engine_, ready_atom::value, slot_, inc_, std::move(filters),
                   std::move(type_names));
  }

  void drain() override { caf::anon_send(engine_, drain_atom::value, slot_); }

  void ack(std::uint64_t n) override {
    caf::anon_send(engine_, ack_atom::value, slot_, n);
  }

  void failure(std::uint64_t handled, bool poisoned,
               std::string what) override {
    caf::anon_send(engine_, failure_atom::value, slot_, inc_, handled, poisoned,
                   std::move(what));
  }

  void ended(bool abnormal, std::string reason) override {
    caf::anon_send(engine_, ended_atom::value, slot_, inc_, abnormal,
                   std::move(reason));
  }

private:
  engine_handle engine_;
  slot_id slot_;
  std::uint32_t inc_;
};

class caf_engine_link final : public engine_link {
public:
  explicit caf_engine_link(engine_handle engine) : engine_(std::move(engine)) {
    // nop
  }

  void published(endpoint_id pub, event_batch&& events) override {
    caf::anon_send(engine_, publish_atom::value, pub, std::move(events));
  }

  void settled(endpoint_id id, settlement&& s) override {
    caf::anon_send(engine_, settle_atom::value, id, std::move(s));
  }

  void first_request(endpoint_id id) override {
    caf::anon_send(engine_, first_atom::value, id);
  }

  void quit(endpoint_id id) override {
    caf::anon_send(engine_, quit_atom::value, id);
  }

  void exited(endpoint_id id, bool normal, std::string text) override {
    caf::anon_send(engine_, exited_atom::value, id, normal, std::move(text));
  }

  void raw_subscription(std::string filter, bool subscribed) override {
    caf::anon_send(engine_, raw_sub_atom::value, std::move(filter), subscribed);
  }

  void failed(std::string what) override {
    caf::anon_send(engine_, bridge_failed_atom::value, std::move(what));
  }

private:
  engine_handle engine_;
};

} // namespace

std::unique_ptr<engine_link> make_engine_link(engine_handle engine) {
  return std::make_unique<caf_engine_link>(std::move(engine));
}

std::unique_ptr<blocking_link> make_blocking_link(engine_handle engine,
                                                  slot_id slot,
                                                  std::uint32_t incarnation) {
  return std::make_unique<caf_blocking_link>(std::move(engine), slot,
                                             incarnation);
}

} // namespace ee
