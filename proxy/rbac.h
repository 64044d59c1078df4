// The RBAC engine shared by envoy.filters.http.rbac and
// envoy.filters.network.rbac (Envoy's filters/common/rbac): an Rbac config
// compiled once per configuration snapshot (regexes built, policies in name
// order), evaluated against what a connection or request offers. Policies
// are indexed by the exact identity, path or port they require, so a request
// is tried only against those that can match it (same results as trying
// every policy in order, which Envoy does).
//
// Semantics are Envoy's: a policy matches when any permission and any
// principal match; ALLOW allows iff some policy matches, DENY allows iff
// none does, LOG never denies. The effective policy is the first matching
// policy in name order ("none" when nothing matched). `authenticated`
// matches the peer certificate's URI SANs, then DNS SANs, then subject, and
// never matches a plaintext connection. Header matchers read the joined
// values of a header (",") and the pseudo-headers :method, :path, :authority
// and :scheme. A network filter has no request: header, path and metadata
// matchers do not match there.
//
// When asked, evaluation explains itself: for a policy that did not match,
// the first clause that failed; for one that matched, the clauses that
// decided — each named by the AuthorizationPolicy field it came from
// (RbacMatcher::origin) and the value the request had.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proxy/base/ip.h"
#include "proxy/metadata.h"
#include "proxy/rbac_config.h"
#include "proxy/transport.h"

namespace re2 {
class RE2;
}
namespace meshsim::proxy::http {
struct Request;
}

namespace meshsim::proxy {

// What the matchers may read.
struct RbacInput {
  const SecurityInfo* tls = nullptr;  // downstream transport; nullptr or !tls = plaintext
  SocketAddress direct_remote;        // the connection's peer
  SocketAddress remote;               // after x-forwarded-for (= direct_remote without XFF)
  SocketAddress local;                // original destination (pod IP : target port)
  std::string_view sni;
  const http::Request* request = nullptr;   // nullptr on a network filter
  std::string_view scheme = "http";
  const DynamicMetadata* metadata = nullptr;
};

struct RbacResult {
  bool allowed = true;
  std::string_view effective_policy;  // first matching policy (a view into the config), "" if none
  std::vector<std::string> reasons;  // filled only when explain is true
};

class CompiledRbac {
 public:
  explicit CompiledRbac(const Rbac& rbac);
  ~CompiledRbac();
  CompiledRbac(const CompiledRbac&) = delete;
  CompiledRbac& operator=(const CompiledRbac&) = delete;

  RbacAction action() const { return rbac_.action; }
  const Rbac& config() const { return rbac_; }
  // `explain`: fill reasons — for ALLOW that denies, why each policy missed;
  // for DENY that denies (or LOG that matched), why the policy matched.
  RbacResult evaluate(const RbacInput& in, bool explain) const;

  // Whether one matcher matches (exposed for tests).
  bool matches(const RbacMatcher& m, const RbacInput& in) const;

 private:
  bool string_matches(const StringMatcher& m, std::string_view v) const;
  std::string why_not(const RbacMatcher& m, const RbacInput& in) const;
  void why_matched(const RbacMatcher& m, const RbacInput& in, std::vector<std::string>& out) const;
  std::string describe_actual(const RbacMatcher& m, const RbacInput& in) const;
  void compile(const RbacMatcher& m);

  bool policy_matches(const RbacPolicy& p, const RbacInput& in) const;
  const RbacPolicy* first_match(const RbacInput& in) const;
  void build_index();

  const Rbac& rbac_;
  std::unordered_map<const StringMatcher*, std::unique_ptr<re2::RE2>> regexes_;
  // A prefilter (meshsim's; Envoy tries every policy): a policy all of whose
  // principals require an exact peer identity, or all of whose permissions
  // require an exact or prefix path, or a destination port, is filed under
  // those values. A request is tried only against the policies its
  // identity, path and port select, plus the unfiled ones, still in name
  // order — a policy it skips could not have matched, so decisions and
  // effective policies are the same as trying all.
  struct Index;
  std::unique_ptr<Index> index_;
};

// One RBAC filter's config compiled: its enforced and shadow engines.
struct CompiledRbacFilter {
  explicit CompiledRbacFilter(std::shared_ptr<const RbacFilterConfig> cfg);
  std::shared_ptr<const RbacFilterConfig> config;
  std::unique_ptr<CompiledRbac> rules, shadow;
};

// A non-regex StringMatcher against a value (Envoy's semantics; a regex
// matcher needs a CompiledRbac and never matches here).
bool string_matches(const StringMatcher& m, std::string_view value);

// Printable forms, as Envoy's JSON config names them ("exact: GET",
// "safe_regex: .*/ns/foo/.*", "ignore_case").
std::string describe(const StringMatcher& m);

// The value a header matcher sees: pseudo-headers from the request line,
// others the ","-joined values; nullopt when absent.
std::optional<std::string> rbac_header_value(const http::Request& req, std::string_view name, std::string_view scheme);

}  // namespace meshsim::proxy
