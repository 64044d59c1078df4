// A connectivity truth table: every (source workload × destination service
// port) of a mesh, each cell probed through the full simulation — the
// client's sidecar, real TLS on the virtual wire, the server's sidecar and
// application — and summarised as a symbol with the reason the engine gave
// (sim/runtime/probe.h). `meshsim whatif` computes one before and one after a
// change and compares them (sim/whatif/diff.h). docs/cli/whatif.md.
//
// Symbols (cyclonus-style):
//   M ok over mTLS        P ok, plaintext on the wire   D denied by policy (RBAC)
//   R reset               C connection refused          T timeout / hang
//   E TLS error           F protocol failure (the client's protocol stalled or
//                           broke behind the sidecar: server-first MySQL …)
//   4 HTTP 4xx            5 HTTP 5xx                    N DNS error
//   ~ mixed (the backends or requests of the cell disagree; each is listed)
//   ? not probed (a protocol meshsim does not simulate yet; the note says which)
//
// Determinism: each cell is probed until every pod behind the Service port
// has answered (or 8 tries per pod), and a workload's hop is its first pod's
// (by name), so neither symbol nor reason depends on which endpoint a load
// balancer happened to pick first; the same input gives the same table
// whatever --jobs is.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mesh/world.h"
#include "proxy/base/result.h"

namespace meshsim::whatif {

struct Source {
  std::string id;  // "ns/workload" or "external"
  std::string namespace_, workload;
  std::string pod;  // the pod probed from ("ns/pod"), "" for external
  bool sidecar = false;
};

struct Destination {
  std::string id;  // "ns/service:port"
  std::string namespace_, service, host;  // host: the Service FQDN
  uint32_t port = 0;
  std::string port_name;
  std::string protocol;  // what a client of this port speaks: http | tcp | mysql | grpc | tls
  std::string protocol_reason;
  std::vector<std::string> backends;  // "ns/workload" of the endpoints, sorted
};

// One probe of a cell (one backend, one request), as the engine reported it.
struct Hop {
  char symbol = '?';
  std::string backend;  // "ns/workload" that answered ("" when none did)
  std::string request;  // "GET /" (HTTP) or "" (tcp, mysql)
  std::string outcome;  // the probe's outcome: ok | reset | denied | …
  int http_status = 0;
  std::string reason;  // one line, from the engine's decisions
  // Objects the engine named in its decisions: "PeerAuthentication foo/default",
  // "DestinationRule foo/httpbin", "AuthorizationPolicy foo/deny-legacy".
  std::vector<std::string> config_refs;
};

struct Cell {
  char symbol = '?';
  std::vector<Hop> hops;  // one per backend × request (one, usually)
  // The reason of the first hop, or of each distinct one for mixed cells.
  std::string reason() const;
};

struct Table {
  std::vector<Source> sources;
  std::vector<Destination> destinations;
  std::vector<Cell> cells;  // row-major: sources × destinations
  // What the table does not account for (coverage report, unprobed ports).
  std::vector<std::string> not_modelled;
  // How the cells were obtained: probes run through the simulation, and the
  // classes of interchangeable sources (see TableOptions::group_sources).
  size_t probes = 0;
  size_t source_classes = 0;
  size_t destination_classes = 0;  // classes of interchangeable destinations (TableOptions::group_sources)
  const Cell& at(size_t row, size_t col) const { return cells[row * destinations.size() + col]; }
  Cell& at(size_t row, size_t col) { return cells[row * destinations.size() + col]; }
};

// --from / --to: "NS" (a namespace), "NS/WORKLOAD", "KEY=VALUE[,KEY=VALUE]"
// (pod labels; for --to the Service's backends' labels) or "external" (--from).
struct Selector {
  std::string namespace_;  // "" = any
  std::string workload;    // "" = any
  mesh::Labels labels;
  bool external = false;
};
Result<Selector> parse_selector(const std::string& text);

struct HttpRequest {
  std::string method = "GET";
  std::string path = "/";
};

struct TableOptions {
  std::vector<Selector> from;  // empty = every workload and external
  std::vector<Selector> to;    // empty = every Service port
  std::vector<HttpRequest> requests = {HttpRequest{}};
  bool external = true;  // the "external" row (a plaintext client outside the mesh)
  uint64_t seed = 1;
  int jobs = 1;  // worker processes
  // Sources that nothing in the mesh can tell apart (source_classes()), and
  // destinations likewise (destination_classes()), are probed once per
  // (source class, destination class, relation): the other cells are that
  // probe's, with the source's and destination's names (SPIFFE id, pod,
  // workload, IP, host, ClusterIP) replaced by theirs. The relation is whether
  // the source backs the destination, shares its ServiceAccount or its node;
  // a source that backs a Service with several workloads behind it is always
  // probed. Only the pods a probe reaches get a sidecar. false (--exhaustive)
  // probes every cell.
  bool group_sources = true;
  // Called as cells finish (done, total), from the calling process.
  std::function<void(size_t, size_t)> progress;
};

// The rows and columns the options select, without probing.
Table plan_table(const mesh::World& w, const TableOptions& o);

// For each source row, the row of its class's representative (the first row
// of the class; itself when alone). Two workloads are in one class only when
// every input the engine reads about a client is the same for both:
// namespace, sidecar or not, the pod annotations (capture, proxy config),
// the node's locality, the values of the labels that client-side selectors
// read (Sidecar, DestinationRule workloadSelector, Telemetry, Gateway), and
// how every AuthorizationPolicy's source conditions (principals, service
// accounts, namespaces, IP blocks, `when` on source.*) evaluate for them; an
// identity that some policy names literally keeps its workload in a class of
// its own. The external source is always alone.
std::vector<size_t> source_classes(const mesh::World& w, const Table& t);

// For each destination column, the column of its class's representative
// (itself when alone). A Service port joins a class only when it has exactly
// one ready pod behind it, selected by no other Service, not a gateway; no
// object other than the Service, the pod's workload and its ServiceAccount
// names any of the three (by name, anywhere in its YAML, between
// non-alphanumeric characters); and with those three names replaced by
// placeholders, the Service's and the workload's YAML, the ServiceAccount,
// the pod's labels, annotations, locality and app model, the port, and how
// AuthorizationPolicy `destination.ip` conditions evaluate for the pod and
// ClusterIP are all equal. Any undecoded kind (EnvoyFilter, …) or extension
// provider in the mesh config keeps every destination alone.
std::vector<size_t> destination_classes(const mesh::World& w, const Table& t);

// Probes every cell. Errors: the simulation cannot be built, or a worker
// process failed.
Result<Table> compute_table(std::shared_ptr<const mesh::World> w, const TableOptions& o);

// True for symbols that mean the client got what it asked for.
inline bool symbol_ok(char s) { return s == 'M' || s == 'P'; }
// "M ok over mTLS", … for legends.
std::string symbol_meaning(char s);
extern const char kSymbols[];  // every symbol, legend order

}  // namespace meshsim::whatif
