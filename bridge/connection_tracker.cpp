#include "bridge/connection_tracker.hpp"

#include <algorithm>

namespace ee {

void connection_tracker::accepted(int fd) {
  auto& list = by_fd_[fd];
  // A generation still open on this fd was closed without an event (the
  // kernel cannot hand out an fd that is still in use).
  for (auto g : list)
    if (gens_[g].open)
      close_generation(g);
  auto g = next_gen_++;
  gens_[g].fd = fd;
  list.push_back(g);
}

void connection_tracker::disconnected(int fd) {
  auto i = by_fd_.find(fd);
  if (i == by_fd_.end())
    return;
  for (auto g : i->second)
    if (gens_[g].open)
      close_generation(g);
}

void connection_tracker::close_generation(std::uint64_t g) {
  auto& gen = gens_[g];
  gen.open = false;
  gen.closed_epoch = epoch_;
  for (auto& id : gen.claimants) {
    if (auto p = peers_.find(id); p != peers_.end()) {
      p->second.dead = true;
      closing_.push_back(id);
    }
  }
  gen.claimants.clear();
}

void connection_tracker::message(const identity& id, int fd) {
  if (peers_.count(id) > 0 || gone_set_.count(id) > 0)
    return;
  auto& p = peers_[id];
  if (fd < 0) {
    // Nothing to go by: never reported gone by the tracker.
    p.gen = 0;
    p.certain = false;
    ++ambiguous_;
    return;
  }
  std::uint64_t open_gen = 0;
  bool alternative = false;
  if (auto i = by_fd_.find(fd); i != by_fd_.end()) {
    for (auto g : i->second) {
      auto& gen = gens_[g];
      if (gen.open)
        open_gen = g;
      else if (gen.closed_epoch == epoch_ && !gen.has_bound)
        alternative = true; // closed during this drain, identity unknown
    }
  }
  if (open_gen == 0) {
    // No open connection on its fd: its own connection has closed.
    p.dead = true;
    closing_.push_back(id);
    return;
  }
  auto& gen = gens_[open_gen];
  p.gen = open_gen;
  if (gen.has_bound) {
    // Two identities for one connection: one of them belongs to a closed
    // connection. Neither is certain any more.
    if (auto b = peers_.find(gen.bound); b != peers_.end())
      b->second.certain = false;
    gen.has_bound = false;
    gen.bound.clear();
    gen.contested = true;
  }
  gen.claimants.push_back(id);
  if (!alternative && !gen.contested) {
    p.certain = true;
    gen.bound = id;
    gen.has_bound = true;
  } else {
    p.certain = false;
    gen.contested = true;
    ++ambiguous_;
  }
}

void connection_tracker::drained() {
  for (auto& id : closing_) {
    if (peers_.erase(id) > 0) {
      gone_.push_back(id);
      remember_gone(id);
    }
  }
  closing_.clear();
  // Every message of a closed generation has been read now.
  for (auto i = by_fd_.begin(); i != by_fd_.end();) {
    auto& list = i->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [this](std::uint64_t g) {
                                if (gens_[g].open)
                                  return false;
                                gens_.erase(g);
                                return true;
                              }),
               list.end());
    i = list.empty() ? by_fd_.erase(i) : std::next(i);
  }
  ++epoch_;
}

std::vector<connection_tracker::identity> connection_tracker::take_gone() {
  std::vector<identity> result;
  result.swap(gone_);
  return result;
}

bool connection_tracker::closed(const identity& id) const {
  if (gone_set_.count(id) > 0)
    return true;
  auto i = peers_.find(id);
  if (i == peers_.end())
    return false;
  return i->second.dead;
}

bool connection_tracker::uncertain(const identity& id) const {
  auto i = peers_.find(id);
  return i != peers_.end() && !i->second.certain && !closed(id);
}

void connection_tracker::forget(const identity& id) {
  auto i = peers_.find(id);
  if (i == peers_.end())
    return;
  if (auto g = gens_.find(i->second.gen); g != gens_.end()) {
    auto& c = g->second.claimants;
    c.erase(std::remove(c.begin(), c.end(), id), c.end());
  }
  closing_.erase(std::remove(closing_.begin(), closing_.end(), id),
                 closing_.end());
  peers_.erase(i);
  remember_gone(id);
}

void connection_tracker::remember_gone(const identity& id) {
  if (!gone_set_.insert(id).second)
    return;
  gone_order_.push_back(id);
  if (gone_order_.size() > gone_memory) {
    gone_set_.erase(gone_order_.front());
    gone_order_.pop_front();
  }
}

} // namespace ee
