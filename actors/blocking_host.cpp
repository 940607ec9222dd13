#include "actors/blocking_host.hpp"

#include <stdexcept>

#include "ee/log.hpp"
#include "src/core/exception_text.hpp"
#include "src/core/type_lists.hpp"

namespace ee {

blocking_link::~blocking_link() = default;

blocking_port::blocking_port(std::string name, std::string uuid,
                             std::shared_ptr<publish_queue> outbox,
                             credit window, std::unique_ptr<blocking_link> link)
    : name_(std::move(name)), uuid_(std::move(uuid)),
      outbox_(std::move(outbox)), link_(std::move(link)), credit_(window) {
  // nop
}

blocking_port::~blocking_port() = default;

// -- engine side
// ----------------------------------------------------------------

void blocking_port::ok() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    ok_ = true;
  }
  cv_.notify_all();
}

void blocking_port::deliver(event_batch&& events) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& ev : events)
      inbox_.push_back(std::move(ev));
  }
  cv_.notify_all();
}

void blocking_port::grant(credit c) {
  credit_.grant(c);
  // Both sides are sequentially consistent: a thread that found no credit
  // after announcing its wait is seen here (see await_credit).
  if (!credit_wait_.load(std::memory_order_seq_cst))
    return;
  { std::lock_guard<std::mutex> guard{mtx_}; }
  cv_.notify_all();
}

void blocking_port::stop() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_all();
}

void blocking_port::abandon() {
  std::unique_ptr<blocking_link> gone;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    abandoned_ = true;
    stop_ = true;
    gone = std::move(link_);
    inbox_.clear();
  }
  cv_.notify_all();
}

bool blocking_port::finished() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return finished_;
}

bool blocking_port::abandoned() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return abandoned_;
}

// -- plugin side
// --------------------------------------------------------------------

void blocking_port::publish(event ev) {
  // The outbox has one producer: another thread would corrupt it silently.
  if (std::this_thread::get_id() != owner_)
    throw std::logic_error(
        "plugin '" + name_ +
        "': publish called from a thread other than the one running the "
        "plugin's run(); hand the events to that thread instead");
  // No lock unless the plugin must wait or ring the doorbell.
  if (stop_.load(std::memory_order_acquire) || !credit_.available())
    await_credit();
  credit_.spend(ev.size());
  if (outbox_->push(std::move(ev)))
    ring_doorbell();
}

void blocking_port::await_credit() {
  // Flow control: wait while the engine holds this publisher back.
  lock guard{mtx_};
  credit_wait_.store(true, std::memory_order_seq_cst);
  while (!stop_ && !credit_.available())
    cv_.wait(guard);
  credit_wait_.store(false, std::memory_order_relaxed);
  if (stop_)
    stop_inside_publish(guard);
}

void blocking_port::ring_doorbell() {
  std::lock_guard<std::mutex> guard{mtx_};
  if (link_)
    link_->drain();
}

event blocking_port::recv() {
  lock guard{mtx_};
  for (;;) {
    if (auto ev = next(guard))
      return std::move(*ev);
    cv_.wait(guard);
  }
}

std::optional<event> blocking_port::recv(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  lock guard{mtx_};
  for (;;) {
    if (auto ev = next(guard))
      return ev;
    if (cv_.wait_until(guard, deadline) == std::cv_status::timeout) {
      if (auto ev = next(guard))
        return ev;
      return std::nullopt;
    }
  }
}

bool blocking_port::stopping() const noexcept {
  return stop_.load(std::memory_order_acquire);
}

std::optional<event> blocking_port::next(lock& guard) {
  if (stop_)
    throw stop_requested{};
  if (inbox_.empty()) {
    // Everything returned so far is handled: the engine may send more.
    ack_all(guard);
    return std::nullopt;
  }
  auto ev = std::move(inbox_.front());
  inbox_.pop_front();
  ++returned_;
  return ev;
}

void blocking_port::ack_all(lock&) {
  if (returned_ > 0 && link_)
    link_->ack(returned_);
  returned_ = 0;
}

void blocking_port::stop_inside_publish(lock& guard) {
  // Stopped while `run` handles the last event `recv` returned: the events
  // before it are handled, that one is not (a restarted plugin gets it
  // again).
  if (returned_ > 0) {
    --returned_;
    ack_all(guard);
  }
  throw stop_requested{};
}

// -- the host thread
// ------------------------------------------------------------------

bool blocking_port::await_ok() {
  lock guard{mtx_};
  cv_.wait(guard, [&] { return ok_ || stop_; });
  return ok_ && !stop_;
}

void blocking_port::report_failure(const std::string& what) {
  std::lock_guard<std::mutex> guard{mtx_};
  // Every returned event but the last was handled; the last one (if any)
  // was being handled when the plugin failed.
  bool poisoned = returned_ > 0;
  auto handled = poisoned ? returned_ - 1 : 0;
  returned_ = 0;
  if (link_)
    link_->failure(handled, poisoned, what);
}

void blocking_port::notify_ended(bool abnormal, std::string reason) {
  std::lock_guard<std::mutex> guard{mtx_};
  finished_ = true;
  if (link_)
    link_->ended(abnormal, std::move(reason));
}

void blocking_port::run_plugin(std::unique_ptr<plugin_base> instance) {
  owner_ = std::this_thread::get_id();
  auto* plugin = dynamic_cast<blocking_plugin*>(instance.get());
  bool abnormal = false;
  std::string reason;
  try {
    auto subs = split_types(plugin->subscriptions());
    {
      std::lock_guard<std::mutex> guard{mtx_};
      if (link_)
        link_->ready(std::move(subs.filters), std::move(subs.names));
    }
  } catch (...) {
    reason = "subscriptions: " + describe_current_exception();
    ee::log(log_level::debug, name_, "exception in " + reason);
    report_failure(reason);
    abnormal = true;
  }
  if (!abnormal && await_ok()) {
    try {
      plugin->run(*this, *this);
      lock guard{mtx_};
      ack_all(guard);
    } catch (const stop_requested&) {
      lock guard{mtx_};
      ack_all(guard);
    } catch (...) {
      reason = "run: " + describe_current_exception();
      ee::log(log_level::debug, name_, "exception in " + reason);
      report_failure(reason);
      abnormal = true;
    }
  }
  // The instance dies on its own thread, before the engine hears the end.
  instance.reset();
  notify_ended(abnormal, std::move(reason));
}

// -- blocking_threads
// -------------------------------------------------------------------

void blocking_threads::start(std::shared_ptr<blocking_port> port,
                             std::unique_ptr<plugin_base> instance) {
  std::vector<entry> done;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    // Reap threads of earlier incarnations that have ended.
    for (auto i = entries_.begin(); i != entries_.end();) {
      if (i->port->finished()) {
        done.push_back(std::move(*i));
        i = entries_.erase(i);
      } else {
        ++i;
      }
    }
    // The thread shares ownership of the port and owns the instance: an
    // abandoned thread keeps what it touches alive.
    std::thread t{[port, inst = std::move(instance)]() mutable {
      port->run_plugin(std::move(inst));
    }};
    entries_.push_back(entry{std::move(port), std::move(t)});
  }
  reap(done);
}

void blocking_threads::reap(std::vector<entry>& done) {
  for (auto& e : done)
    if (e.thread.joinable())
      e.thread.join();
}

void blocking_threads::join_all() {
  std::vector<entry> all;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    all.swap(entries_);
  }
  for (auto& e : all) {
    if (!e.port->abandoned()) {
      // Cuts the engine link; a plugin still inside recv or publish gets
      // stop_requested. One stuck in its own code is left behind.
      e.port->abandon();
      auto until =
          std::chrono::steady_clock::now() + std::chrono::milliseconds{200};
      while (!e.port->finished() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds{1});
    }
    if (e.port->finished() && e.thread.joinable())
      e.thread.join();
    else if (e.thread.joinable())
      e.thread.detach();
  }
}

blocking_threads::~blocking_threads() {
  join_all();
}

} // namespace ee
