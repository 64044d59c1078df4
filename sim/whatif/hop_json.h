// The JSON form of a probed hop, shared by the worker-process protocol
// (truth_table.cc) and the JSON output (render.cc). Internal to sim/whatif/
// (.cc files only: it brings nlohmann/json).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "sim/whatif/truth_table.h"

namespace meshsim::whatif {

template <typename Json>
Json hop_to_json(const Hop& h) {
  return {{"symbol", std::string(1, h.symbol)}, {"backend", h.backend},         {"request", h.request},
          {"outcome", h.outcome},               {"http_status", h.http_status}, {"reason", h.reason},
          {"config_refs", h.config_refs}};
}

template <typename Json>
Hop hop_from_json(const Json& j) {
  Hop h;
  h.symbol = j.at("symbol").template get<std::string>().at(0);
  h.backend = j.at("backend").template get<std::string>();
  h.request = j.at("request").template get<std::string>();
  h.outcome = j.at("outcome").template get<std::string>();
  h.http_status = j.at("http_status").template get<int>();
  h.reason = j.at("reason").template get<std::string>();
  h.config_refs = j.at("config_refs").template get<std::vector<std::string>>();
  return h;
}

}  // namespace meshsim::whatif
