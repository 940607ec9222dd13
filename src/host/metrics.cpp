#include "host/metrics.hpp"

#include <iomanip>
#include <sstream>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/exposer.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

namespace ee::host {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

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

} // namespace

struct metrics_endpoint::impl {
  class collectable final : public prometheus::Collectable {
  public:
    explicit collectable(const app& a) : app_(a) {
      // nop
    }
    std::vector<MetricFamily> Collect() const override {
      return collect(app_.stats());
    }

  private:
    const app& app_;
  };

  std::shared_ptr<collectable> source;
  std::unique_ptr<prometheus::Exposer> exposer;
};

expected<std::unique_ptr<metrics_endpoint>>
metrics_endpoint::open(std::string address, const app& a) {
  auto where = listen_address(address);
  if (!where)
    return where.error();
  auto result = std::unique_ptr<metrics_endpoint>{new metrics_endpoint};
  result->impl_ = std::make_unique<impl>();
  try {
    result->impl_->exposer =
        std::make_unique<prometheus::Exposer>(where->first, 1);
  } catch (const std::exception& e) {
    return error{ec::bind_failed,
                 "cannot serve metrics on " + where->first + " (" + e.what() +
                     "): the port is in use or the address is not this "
                     "machine's; pick another (--metrics 0 picks a free port)"};
  }
  result->impl_->source = std::make_shared<impl::collectable>(a);
  result->impl_->exposer->RegisterCollectable(result->impl_->source);
  auto ports = result->impl_->exposer->GetListeningPorts();
  result->port_ = ports.empty() ? -1 : ports.front();
  result->loopback_ = where->second;
  return result;
}

metrics_endpoint::~metrics_endpoint() {
  if (impl_ && impl_->exposer)
    impl_->exposer.reset(); // stops the server before the source goes
}

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
  return out.str();
}

} // namespace ee::host
