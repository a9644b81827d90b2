#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace interpose {

// A byte queue: writers append at the back, readers drain from the front. Draining moves a
// read offset instead of shifting bytes, and the storage is compacted only when the dead
// prefix outweighs the live bytes, so both ends are amortised O(1).
class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(std::string_view data) : data_(data) {}

  size_t size() const { return data_.size() - offset_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return std::string_view(data_).substr(offset_); }
  const char* data() const { return data_.data() + offset_; }
  std::string toString() const { return std::string(view()); }

  void add(std::string_view data) {
    if (offset_ == data_.size()) clear();
    data_.append(data);
  }
  void add(const Buffer& other) { add(other.view()); }

  // Moves every byte of `other` to the back of this buffer and leaves `other` empty.
  void move(Buffer& other) {
    if (empty() && other.offset_ == 0) {
      data_.swap(other.data_);
      offset_ = 0;
    } else {
      add(other.view());
    }
    other.clear();
  }

  void drain(size_t n) {
    offset_ += n < size() ? n : size();
    if (offset_ == data_.size()) {
      clear();
    } else if (offset_ > 64 * 1024 && offset_ > data_.size() / 2) {
      data_.erase(0, offset_);
      offset_ = 0;
    }
  }
  void clear() {
    data_.clear();
    offset_ = 0;
  }

  // Space for a reader to fill in place: prepare(n) returns n writable bytes at the back,
  // commit(k) keeps the first k of them.
  char* prepare(size_t n) {
    if (offset_ == data_.size()) clear();
    committed_ = data_.size();
    data_.resize(committed_ + n);
    return data_.data() + committed_;
  }
  void commit(size_t k) { data_.resize(committed_ + k); }

 private:
  std::string data_;
  size_t offset_ = 0;
  size_t committed_ = 0;
};

}  // namespace interpose
