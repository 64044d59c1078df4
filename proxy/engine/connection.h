// Connection is what the engine keeps per TCP connection it sees — a
// downstream connection accepted by a listener (engine/downstream_connection.h)
// or an upstream connection opened by the cluster manager
// (upstream/upstream_connection.h). ConnectionTable maps Io's connection ids
// to them for dispatch; remove() unlinks a connection at once (later events
// for its id are ignored) and hands the object to the DeferredDeleter, so it
// lives until the current engine entry point returns.
#pragma once

#include <memory>
#include <string_view>
#include <unordered_map>

#include "proxy/engine/deferred_deletion.h"
#include "proxy/io.h"

namespace meshsim::proxy::engine {

class Connection : public DeferredDeletable {
 public:
  explicit Connection(bool upstream) : upstream_(upstream) {}
  ConnId id() const { return id_; }
  bool is_upstream() const { return upstream_; }
  // Set once the engine closed the connection (or forgot it); the object may
  // still be referenced until the entry point returns.
  bool closed() const { return closed_; }

  // ---- the world's events, dispatched by the Sidecar facade ----
  virtual void on_data(std::string_view bytes) = 0;
  virtual void on_peer_closed(CloseType how) = 0;

 protected:
  ConnId id_ = 0;
  bool closed_ = false;
  friend class ConnectionTable;

 private:
  bool upstream_;
};

class ConnectionTable {
 public:
  explicit ConnectionTable(DeferredDeleter& deleter) : deleter_(deleter) {}

  template <typename T>
  T* add(ConnId id, std::unique_ptr<T> c) {
    T* raw = c.get();
    raw->id_ = id;
    map_[id] = std::move(c);
    return raw;
  }
  Connection* find(ConnId id) const {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : it->second.get();
  }
  // Unlinks `id`; its object is destroyed after the current entry point.
  void remove(ConnId id) {
    auto it = map_.find(id);
    if (it == map_.end()) return;
    it->second->closed_ = true;
    deleter_.defer(std::move(it->second));
    map_.erase(it);
  }
  size_t size() const { return map_.size(); }
  template <typename Fn>
  void for_each(Fn&& fn) const {
    for (const auto& [id, c] : map_) fn(id, *c);
  }

 private:
  DeferredDeleter& deleter_;
  std::unordered_map<ConnId, std::unique_ptr<Connection>> map_;
};

}  // namespace meshsim::proxy::engine
