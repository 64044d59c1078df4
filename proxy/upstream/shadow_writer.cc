#include "proxy/upstream/shadow_writer.h"

#include <utility>

#include "proxy/engine/context.h"
#include "proxy/engine/snapshot.h"
#include "proxy/upstream/cluster_manager.h"

namespace meshsim::proxy::upstream {

class ShadowRequest final : public engine::DeferredDeletable, public ConnectionOwner {
 public:
  ShadowRequest(engine::EngineContext& ctx, ShadowWriter& w, std::shared_ptr<const engine::Snapshot> snap,
                const Cluster& cluster, const SocketAddress& host, http::Request req)
      : ctx_(ctx), writer_(w), snap_(std::move(snap)), host_(host), req_(std::move(req)) {
    (void)cluster;
  }

  void on_upstream_ready(UpstreamConnection& u) override {
    up_ = &u;
    u.codec().expect_head_response(req_.method == "HEAD");
    std::string wire;
    u.codec().encode(req_, wire);
    u.send(wire);
  }
  void on_upstream_data(UpstreamConnection& u, std::string_view data) override {
    http::ParseStatus st = u.codec().feed_next(data);
    if (st == http::ParseStatus::kNeedMore) return;
    up_ = nullptr;
    u.set_owner(nullptr);
    bool complete = st == http::ParseStatus::kComplete;
    if (complete) {
      u.codec().take_into(resp_);  // read (and discarded for a mirror)
      if (resp_.keep_alive() && u.codec().buffered() == 0) ctx_.clusters->release(u);
      else ctx_.clusters->close(u, CloseType::kFin);
    } else {
      ctx_.clusters->close(u, CloseType::kReset);
    }
    if (AsyncCallbacks* cb = std::exchange(cb_, nullptr)) {
      if (complete) cb->on_async_response(resp_);
      else cb->on_async_failure("upstream_protocol_error");
    }
    done();
  }
  void detach() { cb_ = nullptr; }
  void set_callbacks(AsyncCallbacks* cb) { cb_ = cb; }
  void on_upstream_closed(UpstreamConnection& u, CloseType) override { failed(u); }
  void on_upstream_failed(UpstreamConnection& u, bool, const std::string&, const std::string&) override { failed(u); }

  void start(const CompiledCluster& cc, const LbEndpoint& ep, const std::vector<std::string>& alpn) {
    ClusterManager& cm = *ctx_.clusters;
    cm.load_balancer().request_started(host_);
    PoolKey key{cc.cluster, packed(host_), req_.version < 11};
    ++ctx_.stats.upstream_rq_total;
    if (UpstreamConnection* idle = cm.take_idle(key, *this)) {
      on_upstream_ready(*idle);
      return;
    }
    up_ = cm.connect(snap_, cc, ep, alpn, key);
    up_->set_owner(this);
  }

 private:
  void failed(UpstreamConnection& u) {
    up_ = nullptr;
    u.set_owner(nullptr);
    ctx_.clusters->close(u, CloseType::kReset);
    if (AsyncCallbacks* cb = std::exchange(cb_, nullptr)) cb->on_async_failure("upstream connect error or disconnect/reset before headers");
    done();
  }
  void done() {
    ctx_.clusters->load_balancer().request_finished(host_);
    writer_.finished(this);
  }

  engine::EngineContext& ctx_;
  ShadowWriter& writer_;
  std::shared_ptr<const engine::Snapshot> snap_;
  SocketAddress host_;
  http::Request req_;
  http::Response resp_;
  UpstreamConnection* up_ = nullptr;
  AsyncCallbacks* cb_ = nullptr;
};

ShadowWriter::ShadowWriter(engine::EngineContext& ctx, ClusterManager& cm) : ctx_(ctx), cm_(cm) {}
ShadowWriter::~ShadowWriter() = default;

bool ShadowWriter::shadow(const std::shared_ptr<const engine::Snapshot>& snap, const RequestMirrorPolicy& policy,
                          const http::Request& request, const std::vector<std::string>& alpn) {
  const CompiledCluster* cc = snap->cluster(policy.cluster);
  if (!cc) return false;
  const LbEndpoint* ep = cm_.load_balancer().choose(*cc, {});
  if (!ep) return false;
  http::Request copy = request;
  if (!policy.disable_shadow_host_suffix) {
    // Envoy's shadowAppendedHost: "-shadow" before the port.
    std::string host(copy.host());
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']', colon) == std::string::npos) host.insert(colon, "-shadow");
    else host += "-shadow";
    copy.headers.set("host", host);
  }
  auto r = std::make_unique<ShadowRequest>(ctx_, *this, snap, *cc->cluster, ep->address, std::move(copy));
  ShadowRequest* raw = r.get();
  requests_.emplace(raw, std::move(r));
  raw->start(*cc, *ep, alpn);
  return true;
}

ShadowRequest* ShadowWriter::send(const std::shared_ptr<const engine::Snapshot>& snap, const std::string& cluster,
                                  const http::Request& request, AsyncCallbacks* cb) {
  const CompiledCluster* cc = snap->cluster(cluster);
  if (!cc) return nullptr;
  const LbEndpoint* ep = cm_.load_balancer().choose(*cc, {});
  if (!ep) return nullptr;
  auto r = std::make_unique<ShadowRequest>(ctx_, *this, snap, *cc->cluster, ep->address, request);
  ShadowRequest* raw = r.get();
  raw->set_callbacks(cb);
  requests_.emplace(raw, std::move(r));
  raw->start(*cc, *ep, {});
  return requests_.count(raw) ? raw : nullptr;
}

void ShadowWriter::cancel(ShadowRequest* r) {
  if (requests_.count(r)) r->detach();
}

void ShadowWriter::finished(ShadowRequest* r) {
  auto it = requests_.find(r);
  if (it == requests_.end()) return;
  ctx_.deleter.defer(std::move(it->second));
  requests_.erase(it);
}

}  // namespace meshsim::proxy::upstream
