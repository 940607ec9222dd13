// The event-engine host program plus one internal plugin, for the Python
// tests: "echo" subscribes to "Ping" and publishes "Pong" + the payload for
// each event; "PingStop" makes it stop. It counts what it saw in
// "PongCount:<n>" events published on "PingCount".

#include <ee/host.hpp>

namespace {

class echo : public ee::plugin {
public:
  std::string name() const override { return "echo"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"Ping"}};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto payload = ev.after(4);
    if (ev.bytes() == "PingStop") {
      ctx.stop();
      return;
    }
    if (ev.bytes() == "PingCount") {
      ctx.publish("PongCount:" + std::to_string(seen_));
      return;
    }
    ++seen_;
    ctx.publish(ee::event::concat("Pong", payload));
  }

private:
  std::size_t seen_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  return ee::run_host(argc, argv,
                      [](ee::app& app) { app.emplace_plugin<echo>(); });
}
