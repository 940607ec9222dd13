// A blocking plugin in the original crate's style: publishes `count` events
// "This is message <i>" of its output type, then waits for as many events
// of its input type and logs their payloads.
//
//   [[plugin]]
//   name = "producer"
//   library = "libexample_plugins.so"
//   factory = "make_producer"
//   config = { output = "TypeA", input = "TypeB", count = 5 }

#include <ee/log.hpp>
#include <ee/plugin_library.hpp>

std::unique_ptr<ee::plugin_base> make_counter(const ee::plugin_config& cfg);

namespace {

class producer : public ee::blocking_plugin {
public:
  explicit producer(const ee::plugin_config& cfg)
      : name_(cfg.name()), output_(cfg.type(cfg.get_string("output", "TypeA"))),
        input_(cfg.type(cfg.get_string("input", "TypeB"))),
        count_(cfg.get_int("count", 5)) {
    // nop
  }

  std::string name() const override { return name_; }

  std::vector<ee::event_type> subscriptions() const override {
    return {input_};
  }

  void run(ee::publisher& pub, ee::subscriber& sub) override {
    for (std::int64_t i = 0; i < count_; ++i)
      pub.publish(output_.make("This is message " + std::to_string(i)));
    std::string replies;
    for (std::int64_t i = 0; i < count_; ++i) {
      auto ev = sub.recv();
      replies += (i > 0 ? " " : "") + std::string{*input_.payload(ev)};
    }
    ee::log(ee::log_level::info, name_, "got replies " + replies);
  }

private:
  std::string name_;
  ee::event_type output_;
  ee::event_type input_;
  std::int64_t count_;
};

} // namespace

std::unique_ptr<ee::plugin_base> make_producer(const ee::plugin_config& cfg) {
  return std::make_unique<producer>(cfg);
}

// The library's entry point: its version and its factories.
EE_PLUGIN("1.0.0", EE_FACTORY(make_counter), EE_FACTORY(make_producer))
