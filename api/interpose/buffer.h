#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace interpose {

namespace buffer_storage {
// Storage blocks (power-of-two sizes from 256 bytes) come from and go back to a small
// per-thread cache: buffers are filled and handed on many times per request, and the
// allocator's path for blocks of a few KiB and more is slow (and touches cold memory).
char* allocate(size_t size);
void release(char* block, size_t size) noexcept;
}  // namespace buffer_storage

// A byte queue: writers append at the back, readers drain from the front. Draining moves a
// read offset instead of shifting bytes; the live bytes are moved to the front only when
// space runs out. Storage is never zero-filled, so reserving room for a socket read costs
// nothing until the kernel writes into it. A buffer drained empty gives its storage back:
// pointers from data() or prepare() are valid only until then (or until it grows).
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::string_view data) { add(data); }
  Buffer(Buffer&& other) noexcept { swap(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    clear();
    swap(other);
    return *this;
  }
  ~Buffer() { buffer_storage::release(data_, capacity_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  size_t size() const { return end_ - begin_; }
  bool empty() const { return end_ == begin_; }
  const char* data() const { return data_ + begin_; }
  std::string_view view() const { return std::string_view(data(), size()); }
  std::string toString() const { return std::string(view()); }

  void add(std::string_view bytes) {
    if (bytes.empty()) return;
    std::memcpy(reserve(bytes.size()), bytes.data(), bytes.size());
    end_ += bytes.size();
  }
  void add(const Buffer& other) { add(other.view()); }

  // Moves every byte of `other` to the back of this buffer and leaves `other` empty.
  void move(Buffer& other) {
    if (empty()) {
      swap(other);
    } else {
      add(other.view());
    }
    other.clear();
  }

  void drain(size_t n) {
    begin_ += n < size() ? n : size();
    if (begin_ == end_) {
      // Consumed: the storage goes back to the thread's cache, so a connection waiting for
      // its peer keeps no buffers and the next user gets a warm block.
      begin_ = end_ = 0;
      buffer_storage::release(data_, capacity_);
      data_ = nullptr;
      capacity_ = 0;
    }
  }
  // Drops every byte but keeps the storage, for a buffer about to be filled again.
  void clear() { begin_ = end_ = 0; }

  // Space for a reader to fill in place: prepare(n) returns n writable bytes at the back,
  // commit(k) keeps the first k of them.
  char* prepare(size_t n) { return reserve(n); }
  void commit(size_t k) { end_ += k; }

  void swap(Buffer& other) noexcept {
    std::swap(data_, other.data_);
    std::swap(capacity_, other.capacity_);
    std::swap(begin_, other.begin_);
    std::swap(end_, other.end_);
  }

 private:
  // Returns room for n more bytes at end_.
  char* reserve(size_t n) {
    if (capacity_ - end_ >= n) return data_ + end_;
    size_t live = size();
    if (capacity_ >= live + n && begin_ >= live) {
      // Room enough once the live bytes move to the front. Only when the dead prefix is at
      // least as long as what moves, so compaction stays amortised O(1) per byte.
      std::memcpy(data_, data_ + begin_, live);
    } else {
      size_t capacity = capacity_ ? capacity_ * 2 : 256;
      while (capacity < live + n) capacity *= 2;
      char* bigger = buffer_storage::allocate(capacity);
      if (live) std::memcpy(bigger, data_ + begin_, live);
      buffer_storage::release(data_, capacity_);
      data_ = bigger;
      capacity_ = capacity;
    }
    begin_ = 0;
    end_ = live;
    return data_ + end_;
  }

  char* data_ = nullptr;
  size_t capacity_ = 0;
  size_t begin_ = 0;
  size_t end_ = 0;
};

}  // namespace interpose
