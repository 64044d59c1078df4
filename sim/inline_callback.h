// InlineCallback is a move-only `void()` callable that stores small captures
// inside itself (kInlineBytes), so scheduling an event with a lambda that
// captures a few pointers and integers never touches the heap. Larger captures
// fall back to one heap allocation; heap_fallbacks() counts them so tests and
// benchmarks can prove the fast path stays allocation-free.
//
// Not thread-safe (neither is anything in the kernel): a Simulator and all its
// callbacks belong to one thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

namespace meshsim::sim {

class InlineCallback {
 public:
  // Captures up to this many bytes (five pointers) are stored inline.
  static constexpr std::size_t kInlineBytes = 40;

  InlineCallback() = default;

  template <typename F, typename D = std::decay_t<F>,
            typename = std::enable_if_t<!std::is_same_v<D, InlineCallback> && std::is_invocable_r_v<void, D&>>>
  InlineCallback(F&& f) {  // NOLINT(google-explicit-constructor)
    construct(std::forward<F>(f));
  }

  // Replaces the held callable (if any) with f, constructed in place.
  template <typename F>
  void emplace(F&& f) {
    reset();
    construct(std::forward<F>(f));
  }

  InlineCallback(InlineCallback&& o) noexcept : ops_(o.ops_) {
    if (ops_) ops_->move(buf_, o.buf_);
    o.ops_ = nullptr;
  }
  InlineCallback& operator=(InlineCallback&& o) noexcept {
    if (this != &o) {
      reset();
      ops_ = o.ops_;
      if (ops_) ops_->move(buf_, o.buf_);
      o.ops_ = nullptr;
    }
    return *this;
  }
  InlineCallback(const InlineCallback&) = delete;
  InlineCallback& operator=(const InlineCallback&) = delete;
  ~InlineCallback() { reset(); }

  explicit operator bool() const { return ops_ != nullptr; }
  void operator()() { ops_->invoke(buf_); }
  void reset() {
    if (ops_) {
      if (ops_->destroy) ops_->destroy(buf_);  // null for trivially destructible captures
      ops_ = nullptr;
    }
  }

  // Number of callbacks (process-wide, this thread) whose capture did not fit inline.
  static uint64_t heap_fallbacks() { return heap_fallbacks_; }

 private:
  template <typename F, typename D = std::decay_t<F>>
  void construct(F&& f) {
    static_assert(std::is_invocable_r_v<void, D&>, "an event callback is callable as void()");
    if constexpr (sizeof(D) <= kInlineBytes && alignof(D) <= alignof(void*) &&
                  std::is_nothrow_move_constructible_v<D>) {
      ::new (static_cast<void*>(buf_)) D(std::forward<F>(f));
      ops_ = &kInlineOps<D>;
    } else {
      ++heap_fallbacks_;
      *reinterpret_cast<D**>(buf_) = new D(std::forward<F>(f));
      ops_ = &kHeapOps<D>;
    }
  }

  struct Ops {
    void (*invoke)(void*);
    void (*move)(void* dst, void* src);  // move-construct dst from src, destroy src
    void (*destroy)(void*);
  };
  template <typename D>
  static constexpr Ops kInlineOps = {
      [](void* p) { (*static_cast<D*>(p))(); },
      [](void* dst, void* src) {
        ::new (dst) D(std::move(*static_cast<D*>(src)));
        static_cast<D*>(src)->~D();
      },
      std::is_trivially_destructible_v<D> ? nullptr : +[](void* p) { static_cast<D*>(p)->~D(); },
  };
  template <typename D>
  static constexpr Ops kHeapOps = {
      [](void* p) { (**static_cast<D**>(p))(); },
      [](void* dst, void* src) { *static_cast<D**>(dst) = *static_cast<D**>(src); },
      [](void* p) { delete *static_cast<D**>(p); },
  };

  alignas(void*) unsigned char buf_[kInlineBytes];
  const Ops* ops_ = nullptr;
  static inline thread_local uint64_t heap_fallbacks_ = 0;
};

}  // namespace meshsim::sim
