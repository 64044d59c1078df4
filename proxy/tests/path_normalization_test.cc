// The HCM's path normalization as Istio's BASE / MERGE_SLASHES configure it
// (Envoy's normalize_path = RFC 3986 dot segments, %2e as a dot, backslash
// as slash; merge_slashes), expectations from istio.io's security best
// practices table and Istio's authz_test.go normalization cases.
#include <gtest/gtest.h>

#include "proxy/http/path_normalization.h"

namespace meshsim::proxy::http {
namespace {

std::string norm(std::string p, bool merge = false) {
  normalize_request_path(p, true, merge);
  return p;
}

TEST(PathNormalization, ResolvesDotSegmentsAsEnvoyDoes) {
  EXPECT_EQ(norm("/a/../b"), "/b");
  EXPECT_EQ(norm("/public/../private"), "/private");
  EXPECT_EQ(norm("/public/%2E%2E/private"), "/private");
  EXPECT_EQ(norm("/public/%2e/%2e%2e/private"), "/private");
  EXPECT_EQ(norm("/a/./b"), "/a/b");
  EXPECT_EQ(norm("/a/b/.."), "/a/");
  EXPECT_EQ(norm("/a/."), "/a/");
  EXPECT_EQ(norm("/../../x"), "/x");
  EXPECT_EQ(norm("/a\\b"), "/a/b");
  // The query is not part of the path.
  EXPECT_EQ(norm("/a/../b?x=/../y"), "/b?x=/../y");
  // Ordinary paths are left exactly as they are (and cost nothing).
  EXPECT_EQ(norm("/productpage?u=normal"), "/productpage?u=normal");
  EXPECT_EQ(norm("/a//b"), "/a//b");
  EXPECT_EQ(norm("/.hidden/file"), "/.hidden/file");
}

TEST(PathNormalization, MergeSlashesOnlyWhenAsked) {
  EXPECT_EQ(norm("/a//b///c", true), "/a/b/c");
  std::string p = "/a//../b";
  normalize_request_path(p, false, false);
  EXPECT_EQ(p, "/a//../b");
  std::string rel = "relative/../x";
  EXPECT_FALSE(normalize_request_path(rel, true, false));
  EXPECT_EQ(rel, "relative/../x");
}

}  // namespace
}  // namespace meshsim::proxy::http
