#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace ee {

namespace detail {

struct event_cache;
struct event_access;

/// The one heap block of an event: this header, then the bytes. Its
/// reference count, size and bytes live together (one allocation per event).
/// Blocks come from a per-thread pool (src/event_pool.cpp) and go back to
/// the thread that made them.
struct event_block {
  /// Events sharing the block. While the block is free in a pool: the depth
  /// of the free list under it.
  std::atomic<std::uint32_t> refs;
  /// The pool's size class, or `no_class` for a block of plain malloc.
  std::uint32_t cls;
  /// The pool cache that made the block, or nullptr (plain malloc).
  event_cache* owner;
  union {
    /// The number of bytes (while in use).
    std::size_t size;
    /// The next free block (while free in a pool).
    event_block* next_free;
  };

  const char* bytes() const noexcept {
    return reinterpret_cast<const char*>(this + 1);
  }

  char* bytes() noexcept { return reinterpret_cast<char*>(this + 1); }
};

/// The block of every empty event: never freed, never counted.
struct empty_event_storage {
  event_block head;
  char nul[8];
};

extern empty_event_storage empty_event;

/// @returns a block for `size` bytes with one reference (bytes unset).
event_block* make_event_block(std::size_t size);

/// Frees `b` (its last reference is gone): back to its pool or to malloc.
void free_event_block(event_block* b) noexcept;

} // namespace detail

/// An immutable byte string whose first bytes are the filter of its type.
///
/// Copies share one buffer (reference-counted), so fanning an event out to
/// many subscribers never copies its bytes. Safe to share between threads.
/// The buffer, its reference count and its size are one heap block.
class event {
public:
  /// An empty event (zero bytes, no allocation).
  event() noexcept : b_(&detail::empty_event.head) {
    // nop
  }

  /// Copies `bytes` into a new buffer.
  explicit event(std::string_view bytes);

  /// Copies `bytes` into a new buffer.
  explicit event(const std::string& bytes) : event(std::string_view{bytes}) {
    // nop
  }

  /// Copies the NUL-terminated string `str` (without the NUL).
  explicit event(const char* str) : event(std::string_view{str}) {
    // nop
  }

  event(const event& other) noexcept : b_(other.b_) { acquire(); }

  event(event&& other) noexcept : b_(other.b_) {
    other.b_ = &detail::empty_event.head;
  }

  event& operator=(const event& other) noexcept {
    event tmp{other};
    std::swap(b_, tmp.b_);
    return *this;
  }

  event& operator=(event&& other) noexcept {
    std::swap(b_, other.b_);
    return *this;
  }

  ~event() { release(); }

  /// Builds `filter + payload` in one allocation.
  static event concat(std::string_view filter, std::string_view payload);

  /// @returns the bytes.
  std::string_view bytes() const noexcept { return {b_->bytes(), b_->size}; }

  /// @returns a pointer to the first byte.
  const char* data() const noexcept { return b_->bytes(); }

  /// @returns the number of bytes.
  std::size_t size() const noexcept { return b_->size; }

  /// @returns true if the event has zero bytes.
  bool empty() const noexcept { return b_->size == 0; }

  /// @returns true if the event's bytes start with `prefix`.
  bool starts_with(std::string_view prefix) const noexcept {
    return bytes().substr(0, prefix.size()) == prefix;
  }

  /// @returns the bytes after the first `n` bytes (the payload after a filter
  /// of length `n`), or an empty view if the event is shorter.
  std::string_view after(std::size_t n) const noexcept {
    return n >= size() ? std::string_view{} : bytes().substr(n);
  }

  /// @returns a copy of the bytes as a string.
  std::string str() const { return std::string{bytes()}; }

  /// @returns true if both events hold the same buffer (not just equal bytes).
  bool shares_buffer_with(const event& other) const noexcept {
    return b_ == other.b_;
  }

  friend bool operator==(const event& x, const event& y) noexcept {
    return x.bytes() == y.bytes();
  }

  friend bool operator!=(const event& x, const event& y) noexcept {
    return !(x == y);
  }

private:
  // Reads the reference count (src/event_access.hpp, for tests).
  friend struct detail::event_access;

  explicit event(detail::event_block* b) noexcept : b_(b) {
    // nop
  }

  bool is_empty_block() const noexcept {
    return b_ == &detail::empty_event.head;
  }

  void acquire() noexcept {
    if (!is_empty_block())
      b_->refs.fetch_add(1, std::memory_order_relaxed);
  }

  void release() noexcept {
    if (is_empty_block())
      return;
    // The last holder skips the atomic decrement: nobody else can add one.
    if (b_->refs.load(std::memory_order_acquire) == 1 ||
        b_->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
      detail::free_event_block(b_);
  }

  detail::event_block* b_;
};

} // namespace ee
