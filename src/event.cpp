// The event's buffer: one block (header + bytes) per event, from a pool that
// returns every block to the thread that made it.
//
// Events are made on one thread (a producer) and freed on another (the last
// subscriber). Freed across threads, glibc's arena lock and consolidation were
// a third of the pipeline's profile (docs/performance.md, round 2). So each
// thread has a cache: per size class (blocks of 64 B .. 4 KiB) a free list it
// alone uses, and a lock-free stack on which other threads return its blocks.
// A thread that runs out of blocks of a class takes the whole stack with one
// exchange. Both lists are capped (`class_budget` bytes, at most 32,768
// blocks, each per class: enough for a full subscriber queue of events in
// flight); beyond a cap, and for larger events, blocks go to plain
// malloc/free. A thread thus keeps at most what it once had in flight. The
// cache of a finished thread frees what it holds and waits, still receiving
// its returns (capped), for the next new thread to adopt it.
//
// Under AddressSanitizer, or with EE_EVENT_POOL=0 in the environment, every
// block is plain malloc/free (ASan then sees every use after free).

#include "ee/event.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define EE_EVENT_POOL_BUILT 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EE_EVENT_POOL_BUILT 0
#endif
#endif
#ifndef EE_EVENT_POOL_BUILT
#define EE_EVENT_POOL_BUILT 1
#endif

namespace ee::detail {

empty_event_storage empty_event{};

namespace {

constexpr std::uint32_t no_class = UINT32_MAX;
constexpr std::size_t header_size = sizeof(event_block);
constexpr std::size_t min_shift = 6;   // the smallest class: 64 B blocks
constexpr std::size_t class_count = 7; // 64 B .. 4 KiB
constexpr std::size_t class_budget = 4 * 1024 * 1024;

constexpr std::size_t class_bytes(std::size_t cls) {
  return std::size_t{1} << (cls + min_shift);
}

constexpr std::size_t max_pooled = class_bytes(class_count - 1);

constexpr std::size_t class_cap(std::size_t cls) {
  return std::min<std::size_t>(class_budget / class_bytes(cls), 32768);
}

std::uint32_t class_of(std::size_t total) {
  if (total <= class_bytes(0))
    return 0;
  auto bits = 64 - __builtin_clzll(static_cast<unsigned long long>(total - 1));
  return static_cast<std::uint32_t>(bits - min_shift);
}

// A returned-blocks stack is one word: the top block's address in the low
// 48 bits and the stack's depth in the high 16 (so a pusher never reads a
// block that its owner may already have taken and freed).
static_assert(sizeof(std::uintptr_t) == 8, "the pool packs 64-bit words");
static_assert(class_cap(0) < (1u << 16), "a depth fits in 16 bits");
constexpr int depth_shift = 48;
constexpr std::uintptr_t ptr_mask = (std::uintptr_t{1} << depth_shift) - 1;

event_block* top_of(std::uintptr_t w) {
  return reinterpret_cast<event_block*>(w & ptr_mask);
}

std::size_t depth_of(std::uintptr_t w) {
  return static_cast<std::size_t>(w >> depth_shift);
}

void free_list(event_block* b) noexcept {
  while (b != nullptr) {
    auto* next = b->next_free;
    std::free(b);
    b = next;
  }
}

} // namespace

/// A thread's blocks: free lists it alone touches, and per class a stack on
/// which other threads return its blocks (each on a cache line of its own).
struct event_cache {
  struct alignas(64) returned {
    std::atomic<std::uintptr_t> top{0};
  };
  event_block* local[class_count] = {};
  std::size_t local_count[class_count] = {};
  returned remote[class_count];

  /// Takes the returned blocks of class `cls` as the (empty) local list.
  void reclaim(std::size_t cls) noexcept {
    auto w = remote[cls].top.exchange(0, std::memory_order_acquire);
    local[cls] = top_of(w);
    local_count[cls] = depth_of(w);
  }

  /// Frees everything it holds (its thread finished).
  void clear() noexcept {
    for (std::size_t cls = 0; cls < class_count; ++cls) {
      free_list(local[cls]);
      local[cls] = nullptr;
      local_count[cls] = 0;
      free_list(top_of(remote[cls].top.exchange(0, std::memory_order_acquire)));
    }
  }
};

namespace {

// Caches outlive their threads (blocks name their owner), so they are never
// deleted; the registry is leaked on purpose for frees during static
// destruction.
struct cache_registry {
  std::mutex mtx;
  std::vector<event_cache*> idle;
};

cache_registry& registry() {
  static auto* r = new cache_registry;
  return *r;
}

bool pool_enabled() {
  static const bool enabled = [] {
    if (!EE_EVENT_POOL_BUILT)
      return false;
    auto v = std::getenv("EE_EVENT_POOL");
    return v == nullptr || std::strcmp(v, "0") != 0;
  }();
  return enabled;
}

thread_local event_cache* tl_cache = nullptr;
thread_local bool tl_finished = false;

// Hands the thread's cache back to the registry when the thread ends.
struct cache_guard {
  bool armed = false;
  ~cache_guard() {
    auto* c = tl_cache;
    tl_cache = nullptr;
    tl_finished = true;
    if (c == nullptr)
      return;
    c->clear();
    auto& r = registry();
    std::lock_guard<std::mutex> guard{r.mtx};
    r.idle.push_back(c);
  }
};

thread_local cache_guard tl_guard;

event_cache* my_cache() {
  if (tl_cache != nullptr)
    return tl_cache;
  if (tl_finished || !pool_enabled())
    return nullptr;
  auto& r = registry();
  {
    std::lock_guard<std::mutex> guard{r.mtx};
    if (!r.idle.empty()) {
      tl_cache = r.idle.back();
      r.idle.pop_back();
    }
  }
  if (tl_cache == nullptr)
    tl_cache = new event_cache;
  tl_guard.armed = true; // constructs the guard: its destructor will run
  return tl_cache;
}

event_block* new_block(std::size_t bytes, std::uint32_t cls,
                       event_cache* owner) {
  void* mem = std::malloc(bytes);
  if (mem == nullptr)
    throw std::bad_alloc{};
  auto* b = new (mem) event_block;
  b->cls = cls;
  b->owner = owner;
  return b;
}

event_block* pooled_block(event_cache* c, std::size_t total) {
  auto cls = class_of(total);
  if (c->local[cls] == nullptr)
    c->reclaim(cls);
  auto* b = c->local[cls];
  if (b == nullptr) {
    b = new_block(class_bytes(cls), cls, c);
    // An address beyond 48 bits (tagged pointers) cannot go on a stack.
    if ((reinterpret_cast<std::uintptr_t>(b) & ~ptr_mask) != 0) {
      b->cls = no_class;
      b->owner = nullptr;
    }
    return b;
  }
  c->local[cls] = b->next_free;
  --c->local_count[cls];
  return b;
}

// Pushes `b` on its owner's returned stack, or frees it when that is full.
void return_block(event_block* b) noexcept {
  auto& top = b->owner->remote[b->cls].top;
  auto cap = class_cap(b->cls);
  auto w = top.load(std::memory_order_relaxed);
  std::uintptr_t next;
  do {
    auto depth = depth_of(w) + 1;
    if (depth > cap) {
      std::free(b);
      return;
    }
    b->next_free = top_of(w);
    next = reinterpret_cast<std::uintptr_t>(b) |
           (static_cast<std::uintptr_t>(depth) << depth_shift);
  } while (!top.compare_exchange_weak(w, next, std::memory_order_release,
                                      std::memory_order_relaxed));
}

} // namespace

event_block* make_event_block(std::size_t size) {
  if (size > SIZE_MAX - header_size)
    throw std::bad_alloc{};
  auto total = header_size + size;
  event_block* b = nullptr;
  auto* c = total <= max_pooled ? my_cache() : nullptr;
  if (c != nullptr)
    b = pooled_block(c, total);
  else
    b = new_block(total, no_class, nullptr);
  b->refs.store(1, std::memory_order_relaxed);
  b->size = size;
  return b;
}

void free_event_block(event_block* b) noexcept {
  auto* owner = b->owner;
  if (owner == nullptr) {
    std::free(b);
    return;
  }
  if (owner != tl_cache) {
    return_block(b);
    return;
  }
  auto cls = b->cls;
  if (owner->local_count[cls] >= class_cap(cls)) {
    std::free(b);
    return;
  }
  b->next_free = owner->local[cls];
  owner->local[cls] = b;
  ++owner->local_count[cls];
}

} // namespace ee::detail

namespace ee {

event::event(std::string_view bytes) : event() {
  if (bytes.empty())
    return;
  auto* b = detail::make_event_block(bytes.size());
  std::memcpy(b->bytes(), bytes.data(), bytes.size());
  b_ = b;
}

event event::concat(std::string_view filter, std::string_view payload) {
  auto n = filter.size() + payload.size();
  if (n == 0)
    return event{};
  auto* b = detail::make_event_block(n);
  if (!filter.empty())
    std::memcpy(b->bytes(), filter.data(), filter.size());
  if (!payload.empty())
    std::memcpy(b->bytes() + filter.size(), payload.data(), payload.size());
  return event{b};
}

} // namespace ee
