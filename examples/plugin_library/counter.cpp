// An actor plugin: for every event of its input type it publishes an event
// of its output type whose payload is the input payload's length, and stops
// after `limit` events.
//
//   [[plugin]]
//   name = "counter"
//   library = "libexample_plugins.so"
//   factory = "make_counter"
//   config = { input = "TypeA", output = "TypeB", limit = 5 }

#include <ee/log.hpp>
#include <ee/plugin_library.hpp>

namespace {

class counter : public ee::plugin {
public:
  explicit counter(const ee::plugin_config& cfg)
      : name_(cfg.name()), input_(cfg.type(cfg.get_string("input", "TypeA"))),
        output_(cfg.type(cfg.get_string("output", "TypeB"))),
        limit_(cfg.get_int("limit", 5)) {
    if (limit_ < 1)
      cfg.fail("config.limit must be at least 1");
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    return {input_};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto payload = input_.payload(ev);
    if (!payload)
      return;
    ctx.publish(output_.make(std::to_string(payload->size())));
    if (++seen_ == limit_) {
      ee::log(ee::log_level::info, name_,
              "counted " + std::to_string(seen_) + " events");
      ctx.stop();
    }
  }

private:
  std::string name_;
  ee::event_type input_;
  ee::event_type output_;
  std::int64_t limit_;
  std::int64_t seen_ = 0;
};

} // namespace

std::unique_ptr<ee::plugin_base> make_counter(const ee::plugin_config& cfg) {
  return std::make_unique<counter>(cfg);
}
