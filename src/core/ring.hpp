#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace ee {

/// A double-ended queue in one circular buffer that allocates nothing while
/// empty (an idle subscriber costs two pointers and two sizes, where a
/// `std::deque` allocates a map and a 512-byte block up front). Grows by
/// doubling; never shrinks except on `clear_and_release`. Not thread-safe.
template <class T>
class ring {
public:
  ring() = default;
  ring(const ring&) = delete;
  ring& operator=(const ring&) = delete;

  ring(ring&& other) noexcept
      : buf_(std::move(other.buf_)), cap_(other.cap_), head_(other.head_),
        size_(other.size_) {
    other.cap_ = other.head_ = other.size_ = 0;
  }

  ring& operator=(ring&& other) noexcept {
    buf_ = std::move(other.buf_);
    cap_ = other.cap_;
    head_ = other.head_;
    size_ = other.size_;
    other.cap_ = other.head_ = other.size_ = 0;
    return *this;
  }

  ~ring() { clear(); }

  bool empty() const noexcept { return size_ == 0; }

  std::size_t size() const noexcept { return size_; }

  T& front() noexcept { return slot(head_); }

  const T& front() const noexcept { return slot(head_); }

  T& back() noexcept { return slot(index(size_ - 1)); }

  /// @returns the element at position `i` from the front.
  T& operator[](std::size_t i) noexcept { return slot(index(i)); }

  const T& operator[](std::size_t i) const noexcept { return slot(index(i)); }

  void push_back(T x) {
    if (size_ == cap_)
      grow();
    new (&slot(index(size_))) T(std::move(x));
    ++size_;
  }

  void push_front(T x) {
    if (size_ == cap_)
      grow();
    head_ = head_ == 0 ? cap_ - 1 : head_ - 1;
    new (&slot(head_)) T(std::move(x));
    ++size_;
  }

  void pop_front() noexcept {
    slot(head_).~T();
    head_ = head_ + 1 == cap_ ? 0 : head_ + 1;
    --size_;
  }

  void pop_back() noexcept {
    slot(index(size_ - 1)).~T();
    --size_;
  }

  /// Destroys every element (keeps the buffer).
  void clear() noexcept {
    while (size_ > 0)
      pop_front();
    head_ = 0;
  }

  /// Destroys every element and frees the buffer.
  void clear_and_release() noexcept {
    clear();
    buf_.reset();
    cap_ = 0;
  }

private:
  using storage = std::aligned_storage_t<sizeof(T), alignof(T)>;

  std::size_t index(std::size_t i) const noexcept {
    auto j = head_ + i;
    return j >= cap_ ? j - cap_ : j;
  }

  T& slot(std::size_t i) noexcept {
    return *std::launder(reinterpret_cast<T*>(&buf_[i]));
  }

  const T& slot(std::size_t i) const noexcept {
    return *std::launder(reinterpret_cast<const T*>(&buf_[i]));
  }

  void grow() {
    auto cap = cap_ == 0 ? std::size_t{4} : cap_ * 2;
    auto buf = std::make_unique<storage[]>(cap);
    for (std::size_t i = 0; i < size_; ++i) {
      auto& x = slot(index(i));
      new (&buf[i]) T(std::move(x));
      x.~T();
    }
    buf_ = std::move(buf);
    cap_ = cap;
    head_ = 0;
  }

  std::unique_ptr<storage[]> buf_;
  std::size_t cap_ = 0;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

} // namespace ee
