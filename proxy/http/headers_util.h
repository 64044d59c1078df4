// Header rules shared by the connection manager and the router.
#pragma once

#include <string_view>

#include <string>
#include <vector>

#include "proxy/config.h"
#include "proxy/http/message.h"

namespace meshsim::proxy::http {

// Hop-by-hop headers Envoy removes before forwarding: connection,
// keep-alive, proxy-connection, transfer-encoding, upgrade, te.
inline bool is_hop_by_hop(std::string_view name) {
  switch (name.size()) {
    case 2: return iequals(name, "te");
    case 7: return iequals(name, "upgrade");
    case 10: return iequals(name, "connection") || iequals(name, "keep-alive");
    case 16: return iequals(name, "proxy-connection");
    case 17: return iequals(name, "transfer-encoding");
    default: return false;
  }
}

inline void strip_hop_by_hop(Headers& h) { h.remove_if(is_hop_by_hop); }

// One level of Envoy's header mutations (router/header_parser.cc
// evaluateHeaders): every removal first, then every overwrite, then every
// append.
inline void apply_header_mutations(Headers& h, const std::vector<HeaderValueOption>& add,
                                   const std::vector<std::string>& remove) {
  for (const std::string& k : remove) h.remove(k);
  for (const HeaderValueOption& o : add) {
    if (!o.append) h.set(o.key, o.value);
  }
  for (const HeaderValueOption& o : add) {
    if (o.append) h.add(o.key, o.value);
  }
}

}  // namespace meshsim::proxy::http
