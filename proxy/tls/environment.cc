// Randomness, virtual time and key logging for OpenSSL (see environment.h and
// docs/model/tls.md for the evidence behind each choice).
//
// RAND_set_rand_method is deprecated in OpenSSL 3.0 but still honoured by
// RAND_bytes_ex and RAND_priv_bytes_ex (crypto/rand/rand_lib.c: "if (meth !=
// NULL && meth != RAND_OpenSSL()) return meth->bytes(buf, num)"), which is
// where every consumer ends up: libssl's randoms and ticket material, the
// default provider's EC/X25519 key generation (BN_priv_rand_range_ex /
// RAND_priv_bytes_ex) and ECDSA nonces (ossl_bn_gen_dsa_nonce_fixed_top).
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "proxy/tls/environment.h"

#include "proxy/tls/decode_memo.h"

#include <openssl/rand.h>
#include <openssl/ssl.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace meshsim::tls {
namespace {

thread_local const Environment* t_env = nullptr;
std::atomic<uint64_t> g_unscoped_bytes{0};

int rand_bytes(unsigned char* buf, int num) {
  if (num <= 0) return 1;
  const Environment* env = t_env;
  if (env != nullptr && env->random) {
    env->random(buf, static_cast<std::size_t>(num));
    return 1;
  }
  g_unscoped_bytes.fetch_add(static_cast<uint64_t>(num), std::memory_order_relaxed);
  return RAND_OpenSSL()->bytes(buf, num);
}

int rand_seed(const void*, int) { return 1; }
int rand_add(const void*, int, double) { return 1; }
int rand_status() { return 1; }

const RAND_METHOD kRandMethod = {
    rand_seed,   // seed
    rand_bytes,  // bytes
    nullptr,     // cleanup
    rand_add,    // add
    rand_bytes,  // pseudorand
    rand_status, // status
};

}  // namespace

void ensure_initialized() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Hermetic: the system openssl.cnf (Debian raises the security level and may
    // load providers) must not change what a simulation does. No atexit
    // cleanup: OpenSSL 3.0's OPENSSL_cleanup leaks an ex_data stack once a
    // RAND method was installed (LeakSanitizer reports it in ci/test's asan
    // run); the process's memory goes back to the OS anyway.
    OPENSSL_init_ssl(OPENSSL_INIT_NO_ATEXIT | OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_LOAD_SSL_STRINGS |
                         OPENSSL_INIT_LOAD_CRYPTO_STRINGS,
                     nullptr);
    RAND_set_rand_method(&kRandMethod);
  });
  // Referencing decode_memo.cc keeps its interposers in every executable that
  // uses this library (a static library member is linked only when referenced).
  (void)decode_memo_enabled();
}

EnvironmentScope::EnvironmentScope(Environment env) : owned_(std::move(env)), previous_(t_env) {
  ensure_initialized();
  t_env = &owned_;
}

EnvironmentScope::EnvironmentScope(const Environment* env) : previous_(t_env) {
  ensure_initialized();
  t_env = env;
}

EnvironmentScope::~EnvironmentScope() { t_env = previous_; }

bool has_environment() { return t_env != nullptr; }

Duration virtual_now() {
  const Environment* env = t_env;
  if (env == nullptr || !env->clock) return Duration::zero();
  return env->clock();
}

int64_t unix_seconds_at(Duration since_epoch) {
  int64_t ns = since_epoch.ns();
  int64_t s = ns / 1'000'000'000;
  if (ns % 1'000'000'000 < 0) --s;  // floor for instants before the epoch
  return kEpochUnixSeconds + s;
}

std::string format_rfc3339(Duration since_epoch) {
  time_t t = static_cast<time_t>(unix_seconds_at(since_epoch));
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

uint64_t unscoped_random_bytes() { return g_unscoped_bytes.load(std::memory_order_relaxed); }

void random_bytes(unsigned char* out, std::size_t n) {
  ensure_initialized();
  while (n > 0) {
    int chunk = n > (1u << 30) ? (1 << 30) : static_cast<int>(n);
    rand_bytes(out, chunk);
    out += chunk;
    n -= static_cast<std::size_t>(chunk);
  }
}

bool has_keylog_sink() {
  const Environment* env = t_env;
  return env != nullptr && static_cast<bool>(env->keylog);
}

void emit_keylog_line(std::string_view line) {
  const Environment* env = t_env;
  if (env != nullptr && env->keylog) env->keylog(line);
}

}  // namespace meshsim::tls

// time() interposition. libssl 3.0 reads the wall clock with time(NULL) for
// SSL_SESSION timestamps, the TLS 1.3 obfuscated_ticket_age, ticket lifetime
// and session timeout checks (ssl/ssl_sess.c, ssl/statem/extensions_clnt.c,
// extensions_srvr.c, statem_clnt.c, statem_srvr.c). Defining time() here — in
// the executable, exported with -Wl,--export-dynamic-symbol=time (see
// proxy/tls/CMakeLists.txt) — makes libssl's PLT call bind to it, so inside an
// EnvironmentScope those values follow virtual time. Outside a scope it is the
// wall clock, read without calling time() (CLOCK_REALTIME).
extern "C" time_t time(time_t* out) noexcept {
  time_t t;
  if (meshsim::tls::t_env != nullptr) {
    t = static_cast<time_t>(meshsim::tls::unix_seconds_at(meshsim::tls::virtual_now()));
  } else {
    struct timespec ts {};
    clock_gettime(CLOCK_REALTIME, &ts);
    t = ts.tv_sec;
  }
  if (out != nullptr) *out = t;
  return t;
}
