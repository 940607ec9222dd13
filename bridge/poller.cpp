#include "bridge/poller.hpp"

#include <cerrno>

namespace ee {

std::size_t poller::add(zmq::socket_ref sock, handler h, short events) {
  items_.push_back({sock.handle(), 0, events, 0});
  events_.push_back(events);
  handlers_.push_back(std::move(h));
  return items_.size() - 1;
}

std::size_t poller::add(int fd, handler h, short events) {
  items_.push_back({nullptr, fd, events, 0});
  events_.push_back(events);
  handlers_.push_back(std::move(h));
  return items_.size() - 1;
}

void poller::truncate(std::size_t n) {
  if (n >= items_.size())
    return;
  items_.resize(n);
  events_.resize(n);
  handlers_.resize(n);
}

void poller::enable(std::size_t index, bool on) {
  items_[index].events = on ? events_[index] : 0;
}

int poller::wait(std::chrono::milliseconds timeout) {
  try {
    return zmq::poll(items_.data(), items_.size(), timeout);
  } catch (const zmq::error_t& e) {
    if (e.num() != EINTR)
      throw;
    for (auto& item : items_)
      item.revents = 0;
    return 0;
  }
}

void poller::dispatch() {
  // A handler may add or truncate items: index, and stop at the old size.
  auto n = items_.size();
  for (std::size_t i = 0; i < n && i < items_.size(); ++i) {
    if (items_[i].revents == 0)
      continue;
    auto revents = items_[i].revents;
    items_[i].revents = 0; // handled once
    handlers_[i](revents);
  }
}

} // namespace ee
