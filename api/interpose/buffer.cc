#include "api/interpose/buffer.h"

#include <sanitizer/asan_interface.h>  // no-op macros unless built with -fsanitize=address

#include <array>
#include <bit>
#include <vector>

namespace interpose::buffer_storage {
namespace {

constexpr size_t kSmallest = 256;     // Buffer's first block
constexpr size_t kLargest = 1 << 17;  // bigger blocks go straight to the allocator
constexpr size_t kClasses = 10;       // 256 B .. 128 KiB

// How many free blocks of each size a thread keeps: plenty of small ones, a few big ones,
// about 2.1 MiB per thread at most. 128 KiB is what a bulk transfer over TLS uses: a 64 KiB
// read decrypts into a buffer sized for one more record, and 64 KiB of plaintext encrypts to
// a little more than 64 KiB. Left to glibc, blocks that size were trimmed back to the kernel
// and faulted in again, several times per MiB.
constexpr size_t keep(size_t size) { return size <= 4096 ? 64 : size <= 16384 ? 16 : size <= 65536 ? 8 : 4; }

size_t classOf(size_t size) { return std::countr_zero(size) - std::countr_zero(kSmallest); }

// Set once this thread's cache is gone: buffers destroyed later in thread or process
// teardown (statics) go straight back to the allocator.
thread_local bool t_cache_gone = false;

struct Cache {
  std::array<std::vector<char*>, kClasses> free;
  ~Cache() {
    t_cache_gone = true;
    for (size_t i = 0; i < kClasses; ++i) {
      for (char* block : free[i]) {
        ASAN_UNPOISON_MEMORY_REGION(block, kSmallest << i);
        delete[] block;
      }
    }
  }
};

Cache* cache() {
  if (t_cache_gone) return nullptr;
  thread_local Cache c;
  return &c;
}

// (size & (size - 1)) == 0 rather than std::has_single_bit: without -mpopcnt (Debian's x86-64
// baseline) that is a libgcc call, twice per buffer.
bool cacheable(size_t size) { return size >= kSmallest && size <= kLargest && (size & (size - 1)) == 0; }

}  // namespace

char* allocate(size_t size) {
  Cache* c = cacheable(size) ? cache() : nullptr;
  if (c) {
    auto& blocks = c->free[classOf(size)];
    if (!blocks.empty()) {
      char* block = blocks.back();
      blocks.pop_back();
      ASAN_UNPOISON_MEMORY_REGION(block, size);
      return block;
    }
  }
  return new char[size];
}

void release(char* block, size_t size) noexcept {
  if (block == nullptr) return;
  Cache* c = cacheable(size) ? cache() : nullptr;
  if (c) {
    auto& blocks = c->free[classOf(size)];
    if (blocks.size() < keep(size)) {
      if (blocks.capacity() == 0) blocks.reserve(keep(size));  // never grows past this
      blocks.push_back(block);
      // Under AddressSanitizer a cached block is off limits until handed out again, so a
      // pointer kept into a released buffer is reported as it would be after delete.
      ASAN_POISON_MEMORY_REGION(block, size);
      return;
    }
  }
  delete[] block;
}

}  // namespace interpose::buffer_storage
