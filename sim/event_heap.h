// EventHeap is the kernel's pending-event priority queue: a 4-ary min-heap of
// 16-byte keys (time << 64 | sequence-and-slot), compared as one unsigned
// 128-bit integer. Ordering by the key orders by time, then by insertion
// sequence, which is the kernel's determinism contract.
//
// Layout: each group of four siblings occupies exactly one 64-byte cache line
// (the array is 64-byte aligned with a three-entry offset), so each level of a
// sift-down costs at most one cache miss; a 4-ary heap has half the levels of
// a binary heap. replace_top() removes the minimum and inserts a new key with a
// single sift-down — the kernel's hot path when a firing event schedules the
// next one.
//
// Internal to sim/; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <utility>

namespace meshsim::sim {

__extension__ typedef unsigned __int128 HeapKey;

inline HeapKey make_heap_key(int64_t time, uint64_t low) {
  return (static_cast<HeapKey>(static_cast<uint64_t>(time)) << 64) | low;
}
inline int64_t heap_key_time(HeapKey k) { return static_cast<int64_t>(static_cast<uint64_t>(k >> 64)); }
inline uint64_t heap_key_low(HeapKey k) { return static_cast<uint64_t>(k); }

class EventHeap {
 public:
  EventHeap() { grow(1024); }
  ~EventHeap() { release(); }
  EventHeap(const EventHeap&) = delete;
  EventHeap& operator=(const EventHeap&) = delete;

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  HeapKey top() const { return a_[0]; }
  HeapKey operator[](std::size_t i) const { return a_[i]; }

  // The smallest child of the root (the likely next minimum), or the root
  // itself when it has no children. Used to prefetch the next event's slot.
  HeapKey likely_next() const {
    if (size_ < 2) return a_[0];
    HeapKey m = a_[1];
    std::size_t end = size_ < 5 ? size_ : 5;
    for (std::size_t j = 2; j < end; ++j) m = a_[j] < m ? a_[j] : m;
    return m;
  }

  void push(HeapKey k) {
    if (size_ == capacity_) grow(capacity_ * 2);
    std::size_t i = size_++;
    while (i > 0) {
      std::size_t parent = (i - 1) >> 2;
      if (!(k < a_[parent])) break;
      a_[i] = a_[parent];
      i = parent;
    }
    a_[i] = k;
  }

  void pop() {
    HeapKey last = a_[--size_];
    if (size_ > 0) sift_down(0, last);
  }

  void replace_top(HeapKey k) { sift_down(0, k); }

  // Keeps only the keys for which keep(key) is true, then re-heapifies in O(n).
  template <typename Keep>
  void filter(Keep keep) {
    std::size_t out = 0;
    for (std::size_t i = 0; i < size_; ++i) {
      if (keep(a_[i])) a_[out++] = a_[i];
    }
    size_ = out;
    if (size_ > 1) {
      for (std::size_t i = (size_ - 2) / 4 + 1; i-- > 0;) sift_down(i, a_[i]);
    }
  }

 private:
  void sift_down(std::size_t i, HeapKey k) {
    HeapKey* a = a_;
    const std::size_t n = size_;
    for (;;) {
      std::size_t c = 4 * i + 1;
      std::size_t best;
      HeapKey m;
      if (c + 3 < n) {
        // Start loading the four grandchild groups (one cache line each)
        // while this level is compared: whichever child wins, its children
        // are already on their way. Prefetching past the end is harmless.
        const HeapKey* g = a + 4 * c + 1;
        __builtin_prefetch(g);
        __builtin_prefetch(g + 4);
        __builtin_prefetch(g + 8);
        __builtin_prefetch(g + 12);
        // Full sibling group (one cache line): branch-free minimum of four.
        HeapKey x0 = a[c], x1 = a[c + 1], x2 = a[c + 2], x3 = a[c + 3];
        bool b01 = x1 < x0;
        bool b23 = x3 < x2;
        HeapKey m01 = b01 ? x1 : x0;
        HeapKey m23 = b23 ? x3 : x2;
        std::size_t i01 = c + b01;
        std::size_t i23 = c + 2 + b23;
        bool b = m23 < m01;
        best = b ? i23 : i01;
        m = b ? m23 : m01;
      } else {
        if (c >= n) break;
        best = c;
        m = a[c];
        for (std::size_t j = c + 1; j < n; ++j) {
          if (a[j] < m) {
            m = a[j];
            best = j;
          }
        }
      }
      if (!(m < k)) break;
      a[i] = m;
      i = best;
    }
    a[i] = k;
  }

  void grow(std::size_t capacity) {
    // Three leading pad entries put index 1 (and every later sibling group)
    // on a 64-byte boundary.
    auto* raw = static_cast<HeapKey*>(::operator new[]((capacity + 3) * sizeof(HeapKey), std::align_val_t{64}));
    HeapKey* a = raw + 3;
    if (a_ != nullptr) std::memcpy(static_cast<void*>(a), a_, size_ * sizeof(HeapKey));
    release();
    raw_ = raw;
    a_ = a;
    capacity_ = capacity;
  }
  void release() {
    if (raw_ != nullptr) ::operator delete[](raw_, std::align_val_t{64});
    raw_ = nullptr;
  }

  HeapKey* raw_ = nullptr;
  HeapKey* a_ = nullptr;
  std::size_t size_ = 0;
  std::size_t capacity_ = 0;
};

}  // namespace meshsim::sim
