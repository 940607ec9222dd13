#include "host/metrics.hpp"

#include <iomanip>
#include <sstream>
#include <vector>

#include <chrono>
#include <cstring>

#include <civetweb.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include "ee/version.hpp"

namespace ee::host {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// When the process started (static initialization), in Unix seconds.
const double process_start =
    std::chrono::duration<double>(
        std::chrono::system_clock::now().time_since_epoch())
        .count();

/// Builds metric families, one call per sample.
class families {
public:
  void counter(const std::string& name, const std::string& help, double value,
               std::vector<ClientMetric::Label> labels = {}) {
    auto& f = family(name, help, MetricType::Counter);
    ClientMetric m;
    m.label = std::move(labels);
    m.counter.value = value;
    f.metric.push_back(std::move(m));
  }

  void gauge(const std::string& name, const std::string& help, double value,
             std::vector<ClientMetric::Label> labels = {}) {
    auto& f = family(name, help, MetricType::Gauge);
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
  }

  std::vector<MetricFamily> take() { return std::move(all_); }

private:
  MetricFamily& family(const std::string& name, const std::string& help,
                       MetricType type) {
    for (auto& f : all_)
      if (f.name == name)
        return f;
    auto& f = all_.emplace_back();
    f.name = name;
    f.help = help;
    f.type = type;
    return f;
  }

  std::vector<MetricFamily> all_;
};

std::vector<MetricFamily> collect(const engine_stats& st) {
  families out;
  out.counter("ee_events_published_total",
              "Events routed (each once), the engine's own included",
              st.published);
  out.counter("ee_system_events_total",
              "The engine's own events (lifecycle, dead letters, stats)",
              st.system_events);
  out.counter("ee_events_delivered_total",
              "Events handed to plugins (each copy)", st.delivered);
  out.counter("ee_events_dropped_total", "Event copies dropped", st.dropped);
  out.counter("ee_dead_letters_total", "Dead letters", st.dead_letters);
  out.counter("ee_events_unmatched_total",
              "Events that matched no subscription", st.unmatched);
  out.counter("ee_wire_rejected_total",
              "Malformed or oversized messages rejected from the wire",
              st.rejected);
  out.counter("ee_refused_connections_total",
              "Connections refused by CurveZMQ authentication",
              st.refused_connections);
  out.counter("ee_raw_events_published_total",
              "Events published by raw PUB clients", st.raw_published);
  out.counter("ee_raw_events_routed_total", "Events handed to raw SUB clients",
              st.raw_routed);
  out.counter("ee_raw_events_dropped_total",
              "Events dropped for raw SUB clients", st.raw_dropped);
  for (auto& [name, x] : st.plugins) {
    std::vector<ClientMetric::Label> l{{"plugin", name}, {"kind", x.kind}};
    auto with = [&](const char* key, const char* value) {
      auto r = l;
      r.push_back({key, value});
      return r;
    };
    out.counter("ee_plugin_events_routed_total",
                "Events that matched the plugin's subscriptions", x.routed, l);
    out.counter("ee_plugin_events_delivered_total",
                "Hand-offs to the plugin (redeliveries count again)",
                x.delivered, l);
    out.counter("ee_plugin_events_handled_total",
                "Events the plugin finished with", x.handled, l);
    out.counter("ee_plugin_events_dropped_total",
                "Events dropped for the plugin, by reason", x.dropped_policy,
                with("reason", "policy"));
    out.counter("ee_plugin_events_dropped_total",
                "Events dropped for the plugin, by reason", x.dropped_cycle,
                with("reason", "cycle"));
    out.counter("ee_plugin_events_dropped_total",
                "Events dropped for the plugin, by reason", x.dropped_retired,
                with("reason", "retired"));
    out.counter("ee_plugin_dead_letters_total",
                "Events of the plugin that went to dead letters",
                x.dead_letters, l);
    out.counter("ee_plugin_events_redelivered_total",
                "Events delivered again after a failure or a vanished "
                "connection",
                x.redelivered, l);
    out.counter("ee_plugin_events_published_total",
                "Events the plugin published", x.published, l);
    out.counter("ee_plugin_credit_waits_total",
                "Times the plugin waited for room to publish", x.credit_waits,
                l);
    out.counter("ee_plugin_failures_total", "Times the plugin failed",
                x.failures, l);
    out.counter("ee_plugin_restarts_total", "Times the plugin was restarted",
                x.restarts, l);
    out.gauge("ee_plugin_queue_events",
              "Events queued for the plugin or in flight", x.queued, l);
    out.gauge("ee_plugin_queue_bytes",
              "Bytes queued for the plugin or in flight", x.queued_bytes, l);
    out.gauge("ee_plugin_queue_peak_events", "Largest queue seen, in events",
              x.peak_queue, l);
    out.gauge("ee_plugin_queue_peak_bytes", "Largest queue seen, in bytes",
              x.peak_bytes, l);
    if (x.kind == "external") {
      out.counter("ee_plugin_requests_total",
                  "Requests read from the external plugin's port", x.requests,
                  l);
      out.counter("ee_plugin_round_trips_total",
                  "Requests of the external plugin answered", x.round_trips, l);
      out.counter("ee_plugin_bad_requests_total",
                  "Requests of the external plugin answered with bad msg",
                  x.bad_requests, l);
      out.counter("ee_plugin_disconnects_total",
                  "Connections to the external plugin's port that closed",
                  x.disconnects, l);
    }
  }
  for (auto& [name, x] : st.types) {
    std::vector<ClientMetric::Label> l{{"type", name}};
    auto with = [&](const char* value) {
      auto r = l;
      r.push_back({"reason", value});
      return r;
    };
    out.counter("ee_type_events_published_total",
                "Events of the type published (each once)", x.published, l);
    out.counter("ee_type_events_routed_total",
                "Copies of the type's events that matched a plugin", x.routed,
                l);
    out.counter("ee_type_events_delivered_total",
                "Hand-offs of the type's events to plugins", x.delivered, l);
    out.counter("ee_type_events_handled_total",
                "Copies of the type's events their plugin finished with",
                x.handled, l);
    out.counter("ee_type_dead_letters_total",
                "Copies of the type's events that went to dead letters",
                x.dead_letters, l);
    out.counter("ee_type_events_dropped_total",
                "Copies of the type's events dropped, by reason",
                x.dropped_policy, with("policy"));
    out.counter("ee_type_events_dropped_total",
                "Copies of the type's events dropped, by reason",
                x.dropped_cycle, with("cycle"));
    out.counter("ee_type_events_dropped_total",
                "Copies of the type's events dropped, by reason",
                x.dropped_retired, with("retired"));
    out.gauge("ee_type_queue_events",
              "Copies of the type's events queued or in flight", x.queued, l);
  }
  return out.take();
}

// The address as civetweb wants it ("127.0.0.1:9464", "[::1]:9464").
expected<std::pair<std::string, bool>> listen_address(const std::string& in) {
  auto bad = [&](const std::string& why) {
    return error{ec::invalid_config,
                 "--metrics '" + in + "': " + why +
                     "; use PORT, HOST:PORT or [IPv6]:PORT (a bare port "
                     "listens on loopback)"};
  };
  auto colon = in.rfind(':');
  std::string host =
      colon == std::string::npos ? "127.0.0.1" : in.substr(0, colon);
  std::string port = colon == std::string::npos ? in : in.substr(colon + 1);
  if (port.empty() ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      port.size() > 5 || std::stoi(port) > 65535)
    return bad("the port must be a number in 0..65535");
  if (host.empty())
    return bad("the host is empty");
  if (host == "localhost")
    host = "127.0.0.1";
  bool loopback =
      host == "127.0.0.1" || host == "[::1]" || host.rfind("127.", 0) == 0;
  if (host == "*" || host == "0.0.0.0")
    host = "0.0.0.0";
  return std::make_pair(host + ":" + port, loopback);
}

// What every exporter serves besides its own metrics: the build and the
// start of the process.
std::vector<MetricFamily> process_families() {
  families out;
  out.gauge("ee_build_info", "The event-engine build (always 1)", 1,
            {{"version", EE_VERSION}});
  out.gauge("process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds",
            process_start);
  return out.take();
}

// The civetweb options: enough workers that idle connections leave room
// for scrapes, and a short timeout that frees the worker of an idle one.
constexpr const char* worker_threads = "8";
constexpr const char* request_timeout_ms = "5000";

} // namespace

struct metrics_endpoint::impl {
  explicit impl(const app& a) : app_(a) {
    // nop
  }

  ~impl() {
    if (ctx_)
      mg_stop(ctx_); // waits for the workers before the app goes
  }

  // A GET (or HEAD) of /metrics: the page built from the app's counters.
  static int serve(mg_connection* conn, void* self) {
    auto req = mg_get_request_info(conn);
    bool head = std::strcmp(req->request_method, "HEAD") == 0;
    if (!head && std::strcmp(req->request_method, "GET") != 0) {
      mg_send_http_error(conn, 405, "only GET and HEAD are served");
      return 405;
    }
    auto& app = static_cast<impl*>(self)->app_;
    auto body = to_prometheus(app.stats()) +
                prometheus::TextSerializer{}.Serialize(process_families());
    mg_send_http_ok(conn, "text/plain; version=0.0.4; charset=utf-8",
                    static_cast<long long>(body.size()));
    if (!head)
      mg_write(conn, body.data(), body.size());
    return 200;
  }

  const app& app_;
  mg_context* ctx_ = nullptr;
};

expected<std::unique_ptr<metrics_endpoint>>
metrics_endpoint::open(std::string address, const app& a) {
  auto where = listen_address(address);
  if (!where)
    return where.error();
  auto result = std::unique_ptr<metrics_endpoint>{new metrics_endpoint};
  result->impl_ = std::make_unique<impl>(a);
  const char* options[] = {"listening_ports",
                           where->first.c_str(),
                           "num_threads",
                           worker_threads,
                           "request_timeout_ms",
                           request_timeout_ms,
                           "enable_keep_alive",
                           "no",
                           nullptr};
  mg_callbacks callbacks{};
  auto ctx = mg_start(&callbacks, nullptr, options);
  if (!ctx)
    return error{ec::bind_failed,
                 "cannot serve metrics on " + where->first +
                     ": the port is in use or the address is not this "
                     "machine's; pick another (--metrics 0 picks a free port)"};
  result->impl_->ctx_ = ctx;
  mg_set_request_handler(ctx, "/metrics$", impl::serve, result->impl_.get());
  mg_server_port port{};
  result->port_ = mg_get_server_ports(ctx, 1, &port) == 1 ? port.port : -1;
  result->loopback_ = where->second;
  return result;
}

metrics_endpoint::~metrics_endpoint() = default;

std::string to_prometheus(const engine_stats& st) {
  return prometheus::TextSerializer{}.Serialize(collect(st));
}

std::string to_table(const engine_stats& st) {
  std::ostringstream out;
  out << "event-engine stats: published " << st.published << " (engine's own "
      << st.system_events << "), delivered " << st.delivered << ", dropped "
      << st.dropped << ", dead letters " << st.dead_letters << ", unmatched "
      << st.unmatched << ", rejected " << st.rejected
      << "; raw subscribers: " << st.raw_routed << " sent, " << st.raw_dropped
      << " dropped; raw "
      << "publishers: " << st.raw_published << "\n";
  auto row = [&](const std::string& name,
                 std::initializer_list<std::uint64_t> xs) {
    out << "  " << std::left << std::setw(24) << name << std::right;
    for (auto x : xs)
      out << std::setw(11) << x;
    out << "\n";
  };
  out << "  " << std::left << std::setw(24) << "plugin" << std::right
      << std::setw(11) << "routed" << std::setw(11) << "handled"
      << std::setw(11) << "dropped" << std::setw(11) << "dead" << std::setw(11)
      << "published" << std::setw(11) << "waits" << std::setw(11) << "restarts"
      << std::setw(11) << "peak"
      << "\n";
  for (auto& [name, x] : st.plugins)
    row(name, {x.routed, x.handled, x.dropped, x.dead_letters, x.published,
               x.credit_waits, x.restarts, x.peak_queue});
  if (!st.types.empty()) {
    out << "  " << std::left << std::setw(24) << "type" << std::right
        << std::setw(11) << "published" << std::setw(11) << "routed"
        << std::setw(11) << "handled" << std::setw(11) << "dropped"
        << std::setw(11) << "dead" << std::setw(11) << "queued"
        << "\n";
    for (auto& [name, x] : st.types)
      row(name, {x.published, x.routed, x.handled, x.dropped, x.dead_letters,
                 x.queued});
  }
  return out.str();
}

} // namespace ee::host
