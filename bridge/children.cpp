#include "bridge/children.hpp"

#include <algorithm>
#include <csignal>
#include <unistd.h>

#include "ee/log.hpp"

namespace ee {

children::children(std::vector<child_config> cfgs,
                   std::chrono::milliseconds grace,
                   std::chrono::milliseconds relaunch_grace,
                   std::vector<std::string> inherit)
    : inherit_(std::move(inherit)), grace_(grace),
      relaunch_grace_(relaunch_grace) {
  children_.reserve(cfgs.size());
  for (auto& cfg : cfgs) {
    children_.emplace_back();
    children_.back().cfg = std::move(cfg);
  }
}

error children::ensure_keeper() {
  if (keeper_ && keeper_->alive())
    return {};
  auto k = keeper::start(grace_);
  if (!k)
    return k.error();
  keeper_ = std::move(*k);
  ee::log(log_level::debug,
          "process keeper started, pid " + std::to_string(keeper_->pid()));
  return {};
}

void children::start_keeper_early() {
  for (auto& c : children_)
    if (!c.cfg.command.empty()) {
      // A failure is reported by the first launch, which tries again.
      static_cast<void>(ensure_keeper());
      return;
    }
}

children::child* children::find(endpoint_id id) {
  for (auto& c : children_)
    if (c.cfg.id == id)
      return &c;
  return nullptr;
}

std::string children::format_line(std::string_view name,
                                  std::string_view line) {
  std::string text = "[";
  text += name;
  text += "] ";
  return text + escape(line);
}

std::string children::escape(std::string_view line) {
  std::string text;
  for (unsigned char c : line) {
    if (c == '\t' || (c >= 0x20 && c != 0x7f)) {
      text += static_cast<char>(c);
    } else {
      static constexpr char hex[] = "0123456789abcdef";
      text += "\\x";
      text += hex[c >> 4];
      text += hex[c & 0xf];
    }
  }
  return text;
}

void children::launch(endpoint_id id, clock_type::time_point now) {
  auto* c = find(id);
  if (c == nullptr || c->cfg.command.empty())
    return;
  c->retired = false;
  if (c->proc.running()) {
    ee::log(log_level::info, c->cfg.name, "stopping its process for a restart");
    c->relaunch = true;
    c->report_exit = false;
    stop(*c, now, relaunch_grace_);
    return;
  }
  to_start_.push_back(id);
}

void children::stop(child& c, clock_type::time_point now,
                    std::chrono::milliseconds grace) {
  if (c.term_at == clock_type::time_point::max() &&
      c.kill_at == clock_type::time_point::max()) {
    c.proc.signal(SIGTERM);
    c.terminated = true;
    c.kill_at = now + grace;
  }
}

void children::retire(endpoint_id id, bool quit, clock_type::time_point now) {
  auto* c = find(id);
  if (c == nullptr)
    return;
  c->retired = true;
  c->relaunch = false;
  c->report_exit = false;
  to_start_.erase(std::remove(to_start_.begin(), to_start_.end(), id),
                  to_start_.end());
  if (!c->proc.running())
    return;
  if (quit) {
    // It is exiting by itself: SIGTERM only if it has not after the grace.
    if (c->term_at == clock_type::time_point::max() &&
        c->kill_at == clock_type::time_point::max()) {
      c->term_at = now + grace_;
      c->kill_at = now + 2 * grace_;
    }
  } else {
    c->term_at = clock_type::time_point::max();
    stop(*c, now, grace_);
  }
}

void children::shutdown(const std::vector<endpoint_id>& quitted,
                        clock_type::time_point now,
                        clock_type::time_point deadline) {
  end_deadline_ = deadline;
  for (auto& c : children_) {
    bool quit =
        std::find(quitted.begin(), quitted.end(), c.cfg.id) != quitted.end();
    retire(c.cfg.id, quit, now);
    if (quit)
      c.term_at = clock_type::time_point::max(); // exits by itself, or KILL
    c.kill_at = std::min(c.kill_at, deadline);
  }
}

void children::watch(std::vector<std::pair<int, endpoint_id>>& fds) const {
  for (auto& c : children_)
    for (int fd : {c.proc.stdout_fd(), c.proc.stderr_fd()})
      if (fd >= 0)
        fds.emplace_back(fd, c.cfg.id);
}

void children::forward(endpoint_id id, int fd) {
  auto* c = find(id);
  if (c == nullptr)
    return;
  auto level =
      fd == c->proc.stderr_fd() ? c->cfg.stderr_level : log_level::info;
  c->proc.drain(fd, [c, level](const std::string& line) {
    ee::log(level, c->cfg.name, escape(line));
  });
}

void children::flush_output(child& c) {
  for (int fd : {c.proc.stdout_fd(), c.proc.stderr_fd()})
    if (fd >= 0)
      forward(c.cfg.id, fd);
}

void children::start(child& c, engine_link* engine) {
  c.term_at = clock_type::time_point::max();
  c.kill_at = clock_type::time_point::max();
  c.relaunch = false;
  c.terminated = false;
  c.killed = false;
  auto err = ensure_keeper();
  if (!err)
    err = c.proc.launch(keeper_, c.cfg.command,
                        plugin_environment(inherit_, c.cfg.env),
                        c.cfg.working_dir);
  if (err) {
    auto text =
        "external plugin '" + c.cfg.name + "': launch failed: " + err.message();
    ee::log(log_level::error, text);
    if (engine != nullptr)
      engine->exited(c.cfg.id, false, text);
    return;
  }
  c.report_exit = true;
  ee::log(log_level::info, c.cfg.name,
          "launched pid " + std::to_string(c.proc.pid()));
}

void children::exited(child& c, bool normal, int sig, const std::string& text,
                      engine_link* engine) {
  flush_output(c); // what it said last
  // A stop the engine asked for is normal; SIGKILL after the grace of a
  // retired plugin is a failure; an exit nobody asked for is one too.
  auto level = log_level::info;
  auto what = "process " + text;
  if (c.killed && c.retired) {
    level = log_level::error;
    what += ": it did not stop within the grace";
    killed_.push_back(c.cfg.name);
  } else if (c.killed) {
    level = log_level::warning;
    what += ": it did not stop on SIGTERM for its restart";
  } else if (c.terminated && (sig == SIGTERM || sig == 0)) {
    what = sig == SIGTERM ? "process stopped (SIGTERM)" : what;
  } else if (!normal && !c.retired && c.report_exit) {
    level = log_level::error;
  } else if (!normal) {
    level = log_level::warning;
  }
  ee::log(level, c.cfg.name, what);
  c.term_at = clock_type::time_point::max();
  c.kill_at = clock_type::time_point::max();
  if (c.report_exit && !c.retired && engine != nullptr)
    engine->exited(c.cfg.id, normal, "process " + text);
  c.report_exit = false;
  c.terminated = false;
  c.killed = false;
  if (c.relaunch && !c.retired)
    to_start_.push_back(c.cfg.id);
}

void children::kill(child& c) noexcept {
  c.proc.signal(SIGKILL);
  c.killed = true;
}

children::clock_type::time_point children::tick(clock_type::time_point now,
                                                engine_link* engine) {
  auto next = clock_type::time_point::max();
  for (auto& c : children_) {
    if (c.proc.running()) {
      if (c.term_at <= now) {
        ee::log(log_level::info, c.cfg.name, "terminating its process");
        c.proc.signal(SIGTERM);
        c.terminated = true;
        c.term_at = clock_type::time_point::max();
      }
      if (c.kill_at <= now) {
        ee::log(c.retired ? log_level::error : log_level::warning, c.cfg.name,
                "killing its process group (SIGKILL)");
        kill(c);
        c.kill_at = clock_type::time_point::max();
      }
    }
    bool normal = false;
    int sig = 0;
    std::string text;
    if (c.proc.poll_exit(normal, sig, text))
      exited(c, normal, sig, text, engine);
    next = std::min({next, c.term_at, c.kill_at});
  }
  auto pending = std::move(to_start_);
  to_start_.clear();
  for (auto id : pending)
    if (auto* c = find(id); c != nullptr && !c->proc.running())
      start(*c, engine);
  return next;
}

bool children::any_running() const noexcept {
  return std::any_of(children_.begin(), children_.end(),
                     [](const child& c) { return c.proc.running(); });
}

void children::kill_all() noexcept {
  for (auto& c : children_) {
    if (!c.proc.running())
      continue;
    c.retired = true; // what is still running now is abandoned
    kill(c);
  }
  // A killed process is reaped at once (bounded: 1 s).
  auto until = clock_type::now() + std::chrono::seconds{1};
  while (any_running() && clock_type::now() < until) {
    for (auto& c : children_) {
      bool normal = false;
      int sig = 0;
      std::string text;
      if (c.proc.poll_exit(normal, sig, text))
        exited(c, normal, sig, text, nullptr);
    }
    ::usleep(1000);
  }
  if (keeper_) {
    // No shutdown began (the bridge failed): nothing to wait for.
    auto now = clock_type::now();
    auto left =
        end_deadline_ > now
            ? std::chrono::ceil<std::chrono::milliseconds>(end_deadline_ - now)
            : std::chrono::milliseconds{0};
    keeper_->finish(std::min(left, grace_));
    keeper_.reset();
  }
}

} // namespace ee
