# Third-party dependencies: Debian 12 packages only (installed by ci/setup).
# Nothing is downloaded at build time and nothing is vendored.
find_package(Threads REQUIRED)
find_package(OpenSSL 3 REQUIRED)
find_package(Boost 1.74 REQUIRED)               # header-only Asio + Beast
find_package(yaml-cpp REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(fmt REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCAP REQUIRED IMPORTED_TARGET libpcap)
pkg_check_modules(RE2 REQUIRED IMPORTED_TARGET re2)   # Envoy's regex dialect
pkg_check_modules(XXHASH REQUIRED IMPORTED_TARGET libxxhash)  # XXH64: ring hash / Maglev, hash policies
pkg_check_modules(NGHTTP2 REQUIRED IMPORTED_TARGET libnghttp2)  # HTTP/2 codec (proxy/http/http2_codec.cc only)
if(MESHSIM_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MESHSIM_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# yaml-cpp 0.7 on Debian exports the target as "yaml-cpp"; give it a namespaced name.
if(TARGET yaml-cpp AND NOT TARGET yaml-cpp::yaml-cpp)
  add_library(yaml-cpp::yaml-cpp ALIAS yaml-cpp)
endif()
