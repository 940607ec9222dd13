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

/// Builds metric families from the counter lists of `ee/stats.hpp`.
class families {
public:
  /// Adds one sample per entry of `fields` (a sum entry names its family;
  /// Prometheus sums the samples of its parts).
  template <class Stats, std::size_t N>
  void add(const stat_field<Stats> (&fields)[N], const Stats& x,
           const std::vector<ClientMetric::Label>& labels,
           bool external = false) {
    for (auto& f : fields) {
      if (f.external_only && !external)
        continue;
      auto& fam = family(f);
      if (f.kind == stat_kind::sum)
        continue;
      ClientMetric m;
      m.label = labels;
      if (*f.reason != '\0')
        m.label.push_back({"reason", f.reason});
      auto value = static_cast<double>(x.*f.member);
      if (in_microseconds(f))
        value /= 1e6; // a `_us` field is exported in seconds
      if (f.kind == stat_kind::gauge)
        m.gauge.value = value;
      else
        m.counter.value = value;
      fam.metric.push_back(std::move(m));
    }
  }

  std::vector<MetricFamily> take() { return std::move(all_); }

private:
  template <class Stats>
  static bool in_microseconds(const stat_field<Stats>& f) {
    std::string_view key{f.key};
    std::string_view fam{f.family};
    auto ends = [](std::string_view s, std::string_view suffix) {
      return s.size() >= suffix.size() &&
             s.substr(s.size() - suffix.size()) == suffix;
    };
    return ends(key, "_us") && ends(fam, "_seconds");
  }

  template <class Stats>
  MetricFamily& family(const stat_field<Stats>& f) {
    for (auto& fam : all_)
      if (fam.name == f.family)
        return fam;
    auto& fam = all_.emplace_back();
    fam.name = f.family;
    fam.help = f.help;
    fam.type =
        f.kind == stat_kind::gauge ? MetricType::Gauge : MetricType::Counter;
    return fam;
  }

  std::vector<MetricFamily> all_;
};

std::vector<MetricFamily> collect(const engine_stats& st) {
  families out;
  out.add(engine_fields, st, {});
  for (auto& [name, x] : st.plugins)
    out.add(plugin_fields, x, {{"plugin", name}, {"kind", x.kind}},
            x.kind == "external");
  for (auto& [name, x] : st.types)
    out.add(type_fields, x, {{"type", name}});
  if (!st.federation.name.empty()) {
    out.add(federation_fields, st.federation, {});
    for (auto& [name, x] : st.federation.peers)
      out.add(peer_fields, x, {{"peer", name}});
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
  auto gauge = [](const char* name, const char* help, double value,
                  std::vector<ClientMetric::Label> labels) {
    MetricFamily f;
    f.name = name;
    f.help = help;
    f.type = MetricType::Gauge;
    ClientMetric m;
    m.label = std::move(labels);
    m.gauge.value = value;
    f.metric.push_back(std::move(m));
    return f;
  };
  return {gauge("ee_build_info", "The event-engine build (always 1)", 1,
                {{"version", EE_VERSION}}),
          gauge("process_start_time_seconds",
                "Start time of the process since the Unix epoch, in seconds",
                process_start, {})};
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
  out << "event-engine stats: routed " << st.routed << " (engine's own "
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
  if (auto& fed = st.federation; !fed.name.empty()) {
    out << "  federation '" << fed.name << "': refused " << fed.refused
        << ", duplicates " << fed.duplicates << "\n";
    out << "  " << std::left << std::setw(24) << "peer" << std::right
        << std::setw(11) << "up" << std::setw(11) << "forwarded"
        << std::setw(11) << "received" << std::setw(11) << "buffered"
        << std::setw(11) << "dropped" << std::setw(11) << "rtt_us"
        << "\n";
    for (auto& [name, x] : fed.peers)
      row(name, {x.up, x.forwarded, x.received, x.buffered_bytes, x.dropped,
                 x.rtt_us});
  }
  return out.str();
}

} // namespace ee::host
