#include "sim/kernel_demo.h"

#include <deque>
#include <string>
#include <vector>

#include "proxy/base/hash.h"
#include "sim/simulator.h"

namespace meshsim::sim {
namespace {

struct Server {
  ActorId actor = 0;
  RandomStream service{0};
  std::deque<int> queue;  // client ids waiting
  bool busy = false;
};

struct Client {
  ActorId actor = 0;
  RandomStream think{0};
  EventId timeout;
  uint64_t request = 0;  // sequence number of the outstanding request
};

class Demo {
 public:
  explicit Demo(const KernelDemoOptions& o) : o_(o), sim_(o.seed) {
    k_send_ = sim_.kind("demo.send");
    k_done_ = sim_.kind("demo.done");
    k_timeout_ = sim_.kind("demo.timeout");
    k_obs_ = sim_.kind("demo.response");
    for (int i = 0; i < o.servers; ++i) {
      std::string name = "server-" + std::to_string(i);
      servers_.push_back({sim_.actor(name), sim_.rng("demo/" + name + "/service"), {}, false});
    }
    for (int i = 0; i < o.clients; ++i) {
      std::string name = "client-" + std::to_string(i);
      clients_.push_back({sim_.actor(name), sim_.rng("demo/" + name + "/think"), {}, 0});
    }
    pick_ = sim_.rng("demo/lb");
    sim_.subscribe([this](const Observation&) { ++result_.observations; });
  }

  KernelDemoResult run() {
    for (int c = 0; c < o_.clients; ++c) think(c);
    sim_.run_until(o_.duration);
    result_.virtual_time = sim_.now();
    result_.events = sim_.events_executed();
    result_.fingerprint = sim_.fingerprint();
    return result_;
  }

 private:
  void think(int c) {
    Client& cl = clients_[c];
    sim_.schedule_after(cl.think.exponential_duration(o_.mean_think), cl.actor, k_send_, [this, c] { send(c); });
  }

  void send(int c) {
    Client& cl = clients_[c];
    ++result_.requests;
    uint64_t req = ++cl.request;
    cl.timeout = sim_.schedule_after(o_.timeout, cl.actor, k_timeout_, [this, c] {
      ++result_.timed_out;
      ++clients_[c].request;  // a late response is ignored
      think(c);
    });
    auto s = static_cast<int>(pick_.uniform_u64(servers_.size()));
    Server& sv = servers_[s];
    sv.queue.push_back(c);
    (void)req;
    if (!sv.busy) serve(s);
  }

  void serve(int s) {
    Server& sv = servers_[s];
    if (sv.queue.empty()) {
      sv.busy = false;
      return;
    }
    sv.busy = true;
    int c = sv.queue.front();
    sv.queue.pop_front();
    uint64_t req = clients_[c].request;
    sim_.schedule_after(sv.service.exponential_duration(o_.mean_service), sv.actor, k_done_, [this, s, c, req] {
      Client& cl = clients_[c];
      if (cl.request == req && sim_.cancel(cl.timeout)) {
        ++result_.completed;
        sim_.publish(cl.actor, k_obs_, hash_combine(static_cast<uint64_t>(c), req));
        think(c);
      }
      serve(s);
    });
  }

  KernelDemoOptions o_;
  Simulator sim_;
  EventKindId k_send_ = 0, k_done_ = 0, k_timeout_ = 0, k_obs_ = 0;
  std::vector<Server> servers_;
  std::vector<Client> clients_;
  RandomStream pick_{0};
  KernelDemoResult result_;
};

}  // namespace

KernelDemoResult run_kernel_demo(const KernelDemoOptions& options) { return Demo(options).run(); }

}  // namespace meshsim::sim
