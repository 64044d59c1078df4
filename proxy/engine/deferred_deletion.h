// DeferredDeleter is Envoy's Dispatcher::deferredDelete for the sans-I/O
// engine: an object that closes (a connection, a stream, a filter) is handed
// here instead of being destroyed, and destroyed only after the engine entry
// point that closed it (Sidecar::on_data, on_timer, …) has returned. Code that
// still holds a reference further up the stack — a caller that just delivered
// bytes, a loop over pipelined requests — therefore never touches freed memory;
// it checks the object's closed() flag instead of re-finding it in a map.
//
// Single-threaded; clear() is called by the Sidecar facade when its outermost
// entry point returns (Io never calls back synchronously, so there is no
// nesting within one entry).
#pragma once

#include <memory>
#include <vector>

namespace meshsim::proxy::engine {

class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};

class DeferredDeleter {
 public:
  void defer(std::unique_ptr<DeferredDeletable> object) {
    if (object) pending_.push_back(std::move(object));
  }
  // Destroys everything deferred so far, including objects deferred by the
  // destructors themselves.
  void clear() {
    while (!pending_.empty()) {
      std::vector<std::unique_ptr<DeferredDeletable>> batch;
      batch.swap(pending_);
      batch.clear();
      if (pending_.empty()) pending_.swap(batch);  // keep the capacity
    }
  }
  size_t pending() const { return pending_.size(); }

 private:
  std::vector<std::unique_ptr<DeferredDeletable>> pending_;
};

}  // namespace meshsim::proxy::engine
