#include "actors/federation_state.hpp"

#include "ee/engine_events.hpp"

namespace ee::federation {

namespace {

// The engine's own events (lifecycle, dead letters, stats) stay local.
bool engine_own(std::string_view bytes) {
  return bytes.substr(0, 3) == "ee.";
}

} // namespace

void federation_state::on_local(event_batch& batch) {
  owed_taken_ += batch.size();
  for (auto& ev : batch) {
    if (engine_own(ev.bytes()))
      continue;
    auto w = std::make_shared<wire_event>();
    w->origin = name_;
    w->epoch = epoch_;
    w->seq = ++next_seq_;
    w->bytes.assign(ev.bytes());
    std::shared_ptr<const wire_event> cw = std::move(w);
    for (std::uint32_t i = 0; i < links_.size(); ++i)
      if (links_[i]->wants(cw->bytes))
        push(i, cw, custody_ref{});
  }
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    pump(i);
}

void federation_state::push(std::uint32_t idx,
                            const std::shared_ptr<const wire_event>& ev,
                            custody_ref ref) {
  auto& l = *links_[idx];
  std::vector<link_buffer::entry> dropped;
  l.out.push(ev, ref, !(l.up && l.known), dropped);
  for (auto& e : dropped) {
    ++l.counters.dropped;
    ++l.drops_unreported;
    custody_done(e.ref);
  }
}

void federation_state::on_events(std::uint32_t idx, event_batch_msg& msg) {
  auto& l = *links_[idx];
  auto n = std::min(msg.seqs.size(), msg.events.size());
  for (std::size_t k = 0; k < n; ++k) {
    auto seq = msg.seqs[k];
    auto& ev = msg.events[k];
    if (ev.origin == name_ || !dedup_.accept(ev.origin, ev.epoch, ev.seq)) {
      ++duplicates_;
      l.in.add(seq, 0);
      continue;
    }
    ++l.counters.received;
    std::shared_ptr<const wire_event> w =
        std::make_shared<wire_event>(std::move(ev));
    std::vector<std::uint32_t> targets;
    for (std::uint32_t i = 0; i < links_.size(); ++i)
      if (i != idx && links_[i]->wants(w->bytes))
        targets.push_back(i);
    custody_ref ref{idx, l.session, seq};
    l.in.add(seq, static_cast<std::uint32_t>(targets.size() + 1));
    for (auto i : targets)
      push(i, w, ref);
    inbound_.emplace_back(event{w->bytes}, ref);
  }
  pump_inbound();
  for (std::uint32_t i = 0; i < links_.size(); ++i)
    if (i != idx)
      pump(i);
}

void federation_state::on_ack(std::uint32_t idx, std::uint64_t seq) {
  auto& l = *links_[idx];
  std::vector<link_buffer::entry> acked;
  l.out.ack(seq, acked);
  for (auto& e : acked)
    custody_done(e.ref);
  pump(idx);
}

void federation_state::custody_done(const custody_ref& ref) {
  if (ref.link == none || ref.link >= links_.size())
    return;
  auto& l = *links_[ref.link];
  if (l.session == ref.session && l.up)
    l.in.done(ref.seq);
}

void federation_state::pump(std::uint32_t idx) {
  auto& l = *links_[idx];
  if (!l.up || !l.known || !l.remote)
    return;
  std::vector<const link_buffer::entry*> sendable;
  l.out.take_sendable(sendable);
  if (sendable.empty())
    return;
  event_batch_msg msg;
  msg.seqs.reserve(sendable.size());
  msg.events.reserve(sendable.size());
  for (auto e : sendable) {
    msg.seqs.push_back(e->seq);
    msg.events.push_back(*e->ev);
    if (e->seq > l.max_sent_seq) {
      l.max_sent_seq = e->seq;
      ++l.counters.forwarded;
    }
  }
  self_->send(l.remote, events_atom::value, std::move(msg));
}

void federation_state::pump_inbound() {
  event_batch batch;
  while (!inbound_.empty() && credit_.events > 0 && credit_.bytes > 0) {
    auto& [ev, ref] = inbound_.front();
    credit_.events -= 1;
    credit_.bytes -= std::min<std::uint64_t>(credit_.bytes, ev.size());
    custody_done(ref);
    batch.push_back(std::move(ev));
    inbound_.pop_front();
  }
  if (!batch.empty())
    self_->send(params_->engine, fed_publish_atom::value, std::move(batch));
}

bool federation_state::stalled() const {
  for (auto& l : links_)
    if (l->up && l->known && l->out.full())
      return true;
  return false;
}

void federation_state::maybe_release_engine() {
  if (owed_taken_ == 0 || stalled())
    return;
  self_->send(params_->engine, fed_taken_atom::value, owed_taken_);
  owed_taken_ = 0;
}

void federation_state::filter_held(std::uint32_t idx) {
  auto& l = *links_[idx];
  std::vector<link_buffer::entry> removed;
  l.out.filter(
      [&l](const link_buffer::entry& e) { return l.wants(e.ev->bytes); },
      removed);
  for (auto& e : removed)
    custody_done(e.ref);
}

void federation_state::flush() {
  for (auto& l : links_) {
    if (!l->up || !l->remote)
      continue;
    if (auto a = l->in.take_ack())
      self_->send(l->remote, fack_atom::value, *a);
  }
  maybe_release_engine();
  publish_stats();
}

} // namespace ee::federation
