// HTTP/2 and gRPC through the `meshsim` executable: `probe` on a grpc port
// reports the call's status; `run` shows gRPC statuses on its edges; and the
// capture `run --pcap --keylog` writes is read by tshark as real HTTP/2 —
// HEADERS frames with :path inside the mTLS between the sidecars, and gRPC
// messages where the content type says gRPC. What tshark decodes is
// nghttp2's framing, not ours: the test fails if any frame is malformed.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/shell_run.h"

namespace {

namespace fs = std::filesystem;
using meshsim::testing::ShellRun;
ShellRun sh(const std::string& cmd) { return meshsim::testing::run_shell(cmd); }

std::string data(const std::string& f) { return std::string(MESHSIM_SOURCE_DIR) + "/tests/data/http2/" + f; }

nlohmann::json probe(const std::string& args) {
  ShellRun r = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + data("mesh.yaml") + " " +
                  args + " -o json 2>/dev/null");
  EXPECT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out;
  return j;
}

// A grpc port is probed with a gRPC health check unless --protocol says otherwise.
TEST(Http2Cli, ProbeOfAGrpcPortReportsTheGrpcStatus) {
  auto j = probe("--from foo/sleep --to echo.foo:9090");
  EXPECT_EQ(j["outcome"], "ok");
  EXPECT_EQ(j["grpc_status"], 0);
  EXPECT_EQ(j["grpc_status_name"], "OK");
  EXPECT_EQ(j["wire"]["alpn"], "h2");
  EXPECT_EQ(j["wire"]["alpn_offered"], nlohmann::json::array({"istio-h2", "istio", "h2"}));
  auto bad = probe("--from foo/sleep --to echo.foo:9090 --grpc-method grpc.health.v1.Health/Watch");
  EXPECT_EQ(bad["outcome"], "http_error");
  EXPECT_EQ(bad["grpc_status"], 12);
  EXPECT_EQ(bad["grpc_status_name"], "UNIMPLEMENTED");
  ShellRun text = sh("timeout -s KILL 60 " + std::string(MESHSIM_EXE) + " probe --mesh " + data("mesh.yaml") +
                     " --from foo/sleep --to echo.foo:9090 2>/dev/null");
  EXPECT_NE(text.out.find("ok (HTTP 200) grpc-status 0 OK"), std::string::npos) << text.out;
}

TEST(Http2Cli, RunCaptureDecodesAsHttp2AndGrpcInTshark) {
  fs::path dir = fs::temp_directory_path() / ("meshsim-h2-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string pcap = (dir / "h2.pcap").string(), keys = (dir / "keys.log").string();
  ShellRun r = sh("timeout -s KILL 120 " + std::string(MESHSIM_EXE) + " run -q " + data("capture.yaml") + " --pcap " +
                  pcap + " --keylog " + keys + " --json - 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  bool grpc_edge = false;
  for (const auto& e : j["edges"]) {
    if (e["client"] != "grpc") continue;
    grpc_edge = true;
    EXPECT_EQ(e["grpc_statuses"]["OK"], 1) << e.dump();
  }
  EXPECT_TRUE(grpc_edge);
  std::string tshark = "tshark -n -r " + pcap + " -o tls.keylog_file:" + keys + " -d tcp.port==9090,tls -d tcp.port==8081,tls ";
  // The ClientHellos offer istio.alpn's HTTP/2 list.
  ShellRun hello = sh(tshark + "-Y 'tls.handshake.type==1' -T fields -e tls.handshake.extensions_alpn_str 2>/dev/null");
  ASSERT_EQ(hello.exit_code, 0);
  EXPECT_EQ(hello.out, "istio-h2,istio,h2\nistio-h2,istio,h2\n") << hello.out;
  // HEADERS frames (type 1) with the request's :path, decrypted.
  ShellRun headers = sh(tshark + "-Y 'http2.type==1 && http2.headers.path' -T fields -e http2.headers.method "
                                 "-e http2.headers.path 2>/dev/null");
  ASSERT_EQ(headers.exit_code, 0);
  EXPECT_EQ(headers.out, "POST\t/grpc.health.v1.Health/Check\nGET\t/get\n") << headers.out;
  ShellRun status = sh(tshark + "-Y 'http2.headers.status' -T fields -e http2.headers.status 2>/dev/null");
  EXPECT_EQ(status.out, "200\n200\n") << status.out;
  // gRPC: the request message (empty HealthCheckRequest) and the response
  // (HealthCheckResponse{status: SERVING}, 2 bytes).
  ShellRun grpc = sh(tshark + "-Y grpc -T fields -e grpc.message_length 2>/dev/null");
  ASSERT_EQ(grpc.exit_code, 0);
  EXPECT_EQ(grpc.out, "0\n2\n") << grpc.out;
  // No frame tshark could not parse.
  ShellRun malformed = sh(tshark + "-Y '_ws.malformed || _ws.expert.severity == error' 2>/dev/null | wc -l");
  EXPECT_EQ(malformed.out, "0\n") << malformed.out;
  fs::remove_all(dir);
}

}  // namespace
