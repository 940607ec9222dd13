// The original event-engine load test (SPEC §7): MsgProducer publishes
// `num_messages` events of type `message_type` whose payloads are N times
// 'X', N cycling from `min_message_size` up to `max_message_size` and back;
// MsgOperator answers each with an OperatorMsg carrying the payload's
// length; Accumulator sums the lengths.
//
//   load_test [CONFIG.toml] [--num-messages N] [--min-size N] [--max-size N]
//             [--queue-capacity N]
//
// The config path comes from the first argument or EE_LOAD_TEST_CONFIG_FILE.
// Prints the original's two totals, then throughput, publish-to-delivery
// latency (p50/p99, sampled) and peak RSS. Exits 1 if a total is wrong.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>
#include <sys/resource.h>
#include <vector>

#include <CLI/CLI.hpp>
#include <toml++/toml.h>

#include <ee/app.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

struct settings {
  std::string message_type = "InitialMsgString";
  std::uint64_t num_messages = 1000000;
  std::size_t min_size = 100;
  std::size_t max_size = 1000;
  std::size_t queue_capacity = 0;
};

// Publish and arrival times of every `sample_every`-th event.
struct timings {
  static constexpr std::uint64_t sample_every = 64;
  std::vector<clock_type::time_point> published;
  std::vector<clock_type::time_point> arrived;
  clock_type::time_point start;
  clock_type::time_point end;
};

std::size_t next_size(std::size_t size, const settings& cfg) {
  return size >= cfg.max_size ? cfg.min_size : size + 1;
}

class msg_producer : public ee::blocking_plugin {
public:
  msg_producer(settings cfg, timings* t) : cfg_(std::move(cfg)), t_(t) {
    // nop
  }

  std::string name() const override { return "MsgProducer"; }

  std::vector<ee::event_type> subscriptions() const override { return {}; }

  void run(ee::publisher& pub, ee::subscriber&) override {
    std::string buf = cfg_.message_type;
    auto filter_len = buf.size();
    std::size_t size = cfg_.min_size;
    t_->start = clock_type::now();
    for (std::uint64_t i = 0; i < cfg_.num_messages; ++i) {
      buf.resize(filter_len);
      buf.append(size, 'X');
      if (i % timings::sample_every == 0)
        t_->published[i / timings::sample_every] = clock_type::now();
      pub.publish(ee::event{std::string_view{buf}});
      size = next_size(size, cfg_);
    }
  }

private:
  settings cfg_;
  timings* t_;
};

class msg_operator : public ee::plugin {
public:
  explicit msg_operator(settings cfg) : cfg_(std::move(cfg)) {
    // nop
  }

  std::string name() const override { return "MsgOperator"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{cfg_.message_type}};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto len = ev.size() - cfg_.message_type.size();
    ctx.publish(ee::event::concat("OperatorMsg", std::to_string(len)));
    if (++seen_ == cfg_.num_messages)
      ctx.stop();
  }

private:
  settings cfg_;
  std::uint64_t seen_ = 0;
};

class accumulator : public ee::plugin {
public:
  accumulator(settings cfg, timings* t) : cfg_(std::move(cfg)), t_(t) {
    // nop
  }

  std::string name() const override { return "Accumulator"; }

  std::vector<ee::event_type> subscriptions() const override {
    return {ee::event_type{"OperatorMsg"}};
  }

  void on_event(ee::context& ctx, const ee::event& ev) override {
    auto digits = ev.after(11);
    std::uint64_t n = 0;
    for (char c : digits)
      n = n * 10 + static_cast<std::uint64_t>(c - '0');
    total_ += n;
    if (seen_ % timings::sample_every == 0)
      t_->arrived[seen_ / timings::sample_every] = clock_type::now();
    if (++seen_ == cfg_.num_messages) {
      t_->end = clock_type::now();
      std::cout << "Total messages read by accumulator: " << seen_ << '\n'
                << "Total count for entire program: " << total_ << std::endl;
      result_seen = seen_;
      result_total = total_;
      ctx.stop();
    }
  }

  static inline std::uint64_t result_seen = 0;
  static inline std::uint64_t result_total = 0;

private:
  settings cfg_;
  timings* t_;
  std::uint64_t seen_ = 0;
  std::uint64_t total_ = 0;
};

bool load(const std::string& path, settings& cfg) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::cerr << "load_test: " << path << ": " << e.description() << " (line "
              << e.source().begin.line << ")\n";
    return false;
  }
  if (auto v = t["message_type"].value<std::string>())
    cfg.message_type = *v;
  auto num = [&](const char* key, auto& out) {
    if (auto node = t.get(key)) {
      auto v = node->value<long long>();
      if (!v || *v < 0) {
        std::cerr << "load_test: " << path << ": " << key
                  << " must be a non-negative integer\n";
        return false;
      }
      out = static_cast<std::decay_t<decltype(out)>>(*v);
    }
    return true;
  };
  return num("num_messages", cfg.num_messages) &&
         num("min_message_size", cfg.min_size) &&
         num("max_message_size", cfg.max_size);
}

std::uint64_t expected_total(const settings& cfg) {
  std::uint64_t total = 0;
  std::size_t size = cfg.min_size;
  for (std::uint64_t i = 0; i < cfg.num_messages; ++i) {
    total += size;
    size = next_size(size, cfg);
  }
  return total;
}

long peak_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// Prints the totals, throughput, latency percentiles and peak RSS.
void print_report(const settings& cfg, const timings& t,
                  std::uint64_t dropped) {
  auto secs = std::chrono::duration<double>(t.end - t.start).count();
  std::vector<double> lat;
  for (std::size_t i = 0; i < t.arrived.size(); ++i)
    if (i * timings::sample_every < cfg.num_messages)
      lat.push_back(std::chrono::duration<double, std::micro>(t.arrived[i] -
                                                              t.published[i])
                        .count());
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double p) {
    return lat.empty() ? 0.0
                       : lat[static_cast<std::size_t>(p * (lat.size() - 1))];
  };
  std::cout << "events: " << cfg.num_messages << " of " << cfg.min_size << ".."
            << cfg.max_size << " bytes\n"
            << "throughput: " << static_cast<long>(cfg.num_messages / secs)
            << " events/s (" << secs << " s)\n"
            << "latency publish->accumulator: p50 " << pct(0.5) << " us, p99 "
            << pct(0.99) << " us\n"
            << "peak RSS: " << peak_rss_kb() / 1024 << " MB\n"
            << "dropped: " << dropped << std::endl;
}

} // namespace

int main(int argc, char** argv) {
  settings cfg;
  std::string path;
  if (auto env = std::getenv("EE_LOAD_TEST_CONFIG_FILE"))
    path = env;
  std::string file;
  std::uint64_t num_messages = 0;
  std::size_t min_size = 0, max_size = 0;
  CLI::App cli{"The original event-engine load test: MsgProducer, MsgOperator "
               "and Accumulator; prints the totals, throughput, latency and "
               "peak RSS (exit 1 on a wrong total).",
               "load_test"};
  cli.add_option("CONFIG.toml", file,
                 "the original's config (message_type, num_messages, "
                 "min_message_size, max_message_size); default: "
                 "$EE_LOAD_TEST_CONFIG_FILE");
  auto num =
      cli.add_option("--num-messages", num_messages, "override num_messages");
  auto min =
      cli.add_option("--min-size", min_size, "override min_message_size");
  auto max =
      cli.add_option("--max-size", max_size, "override max_message_size");
  cli.add_option("--queue-capacity", cfg.queue_capacity,
                 "each plugin's queue capacity (default: the engine's)");
  CLI11_PARSE(cli, argc, argv);
  if (!file.empty())
    path = file;
  if (!path.empty() && !load(path, cfg))
    return 2;
  if (*num)
    cfg.num_messages = num_messages;
  if (*min)
    cfg.min_size = min_size;
  if (*max)
    cfg.max_size = max_size;
  if (cfg.min_size > cfg.max_size || cfg.num_messages == 0) {
    std::cerr << "load_test: need num_messages > 0 and min_message_size <= "
                 "max_message_size\n";
    return 2;
  }
  timings t;
  auto samples = cfg.num_messages / timings::sample_every + 1;
  t.published.resize(samples);
  t.arrived.resize(samples);
  ee::app_config app_cfg;
  app_cfg.enable_tcp = false;
  if (cfg.queue_capacity > 0)
    app_cfg.queue_capacity = cfg.queue_capacity;
  ee::app app{app_cfg};
  app.emplace_plugin<msg_producer>(cfg, &t)
      .emplace_plugin<msg_operator>(cfg)
      .emplace_plugin<accumulator>(cfg, &t);
  if (auto err = app.run()) {
    std::cerr << "load_test failed: " << err.to_string() << '\n';
    return 1;
  }
  print_report(cfg, t, app.stats().dropped);
  auto want = expected_total(cfg);
  if (accumulator::result_seen != cfg.num_messages ||
      accumulator::result_total != want) {
    std::cerr << "load_test: WRONG TOTALS: expected " << cfg.num_messages
              << " messages and count " << want << '\n';
    return 1;
  }
  return 0;
}
