// Interposed d2i_X509 / i2d_SSL_SESSION / d2i_SSL_SESSION (see decode_memo.h).
#include "proxy/tls/decode_memo.h"

#include <dlfcn.h>
#include <link.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace meshsim::tls {
namespace {

constexpr std::size_t kMaxCertificates = 4096;
constexpr std::size_t kMaxSessions = 4096;

std::atomic<bool> g_enabled{true};

using D2iX509 = X509* (*)(X509**, const unsigned char**, long);
using I2dSession = int (*)(const SSL_SESSION*, unsigned char**);
using D2iSession = SSL_SESSION* (*)(SSL_SESSION**, const unsigned char**, long);

template <typename Fn>
Fn next_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_NEXT, name));
}

// Address range of libssl's loaded segments: only its calls are memoized.
struct Range {
  uintptr_t lo = 0, hi = 0;
};

Range libssl_range() {
  static Range range = [] {
    Range r;
    Dl_info info{};
    if (dladdr(reinterpret_cast<void*>(&SSL_new), &info) == 0) return r;
    struct Ctx {
      const void* base;
      Range* out;
    } ctx{info.dli_fbase, &r};
    dl_iterate_phdr(
        [](dl_phdr_info* i, size_t, void* p) -> int {
          auto* c = static_cast<Ctx*>(p);
          uintptr_t lo = UINTPTR_MAX, hi = 0;
          for (int k = 0; k < i->dlpi_phnum; ++k) {
            if (i->dlpi_phdr[k].p_type != PT_LOAD) continue;
            uintptr_t a = i->dlpi_addr + i->dlpi_phdr[k].p_vaddr;
            lo = std::min(lo, a);
            hi = std::max(hi, a + i->dlpi_phdr[k].p_memsz);
          }
          if (reinterpret_cast<uintptr_t>(c->base) >= lo && reinterpret_cast<uintptr_t>(c->base) < hi) {
            c->out->lo = lo;
            c->out->hi = hi;
            return 1;
          }
          return 0;
        },
        &ctx);
    return r;
  }();
  return range;
}

bool from_libssl(void* return_address) {
  if (!g_enabled.load(std::memory_order_relaxed)) return false;
  Range r = libssl_range();
  auto a = reinterpret_cast<uintptr_t>(return_address);
  return a >= r.lo && a < r.hi;
}

struct Memo {
  std::mutex mu;
  std::unordered_map<std::string, X509*> certs;
  std::deque<std::string> cert_order;
  std::unordered_map<std::string, SSL_SESSION*> sessions;
  std::deque<std::string> session_order;
  DecodeMemoStats stats;

  void evict_certs() {
    while (certs.size() >= kMaxCertificates && !cert_order.empty()) {
      auto it = certs.find(cert_order.front());
      if (it != certs.end()) {
        X509_free(it->second);
        certs.erase(it);
      }
      cert_order.pop_front();
    }
  }
  void evict_sessions() {
    // Entries used up (TLS 1.3) leave stale keys behind in the order queue.
    if (session_order.size() >= 2 * kMaxSessions) {
      std::deque<std::string> live;
      for (auto& k : session_order) {
        if (sessions.count(k) != 0) live.push_back(std::move(k));
      }
      session_order.swap(live);
    }
    while (sessions.size() >= kMaxSessions && !session_order.empty()) {
      auto it = sessions.find(session_order.front());
      if (it != sessions.end()) {
        SSL_SESSION_free(it->second);
        sessions.erase(it);
      }
      session_order.pop_front();
    }
  }
  void clear() {
    for (auto& [k, x] : certs) X509_free(x);
    for (auto& [k, s] : sessions) SSL_SESSION_free(s);
    certs.clear();
    sessions.clear();
    cert_order.clear();
    session_order.clear();
    stats = {};
  }
};

Memo& memo() {
  static Memo* m = new Memo();  // never destroyed: OpenSSL may call in at exit
  return *m;
}

}  // namespace

void set_decode_memo_enabled(bool enabled) { g_enabled.store(enabled); }
bool decode_memo_enabled() { return g_enabled.load(); }

DecodeMemoStats decode_memo_stats() {
  std::lock_guard<std::mutex> lock(memo().mu);
  return memo().stats;
}

void clear_decode_memo() {
  std::lock_guard<std::mutex> lock(memo().mu);
  memo().clear();
}

}  // namespace meshsim::tls

using meshsim::tls::from_libssl;
using meshsim::tls::memo;
using meshsim::tls::next_symbol;

extern "C" X509* d2i_X509(X509** a, const unsigned char** pp, long length) {
  static auto real = next_symbol<meshsim::tls::D2iX509>("d2i_X509");
  if (pp == nullptr || *pp == nullptr || length <= 0 || !from_libssl(__builtin_return_address(0))) {
    return real(a, pp, length);
  }
  auto& m = memo();
  std::string key(reinterpret_cast<const char*>(*pp), static_cast<std::size_t>(length));
  {
    std::lock_guard<std::mutex> lock(m.mu);
    auto it = m.certs.find(key);
    if (it != m.certs.end()) {
      ++m.stats.certificate_hits;
      X509* x = it->second;
      X509_up_ref(x);
      if (a != nullptr) {
        X509_free(*a);
        *a = x;
      }
      *pp += length;
      return x;
    }
    ++m.stats.certificate_misses;
  }
  const unsigned char* start = *pp;
  X509* x = real(a, pp, length);
  // Memoize only a complete, exact parse of the whole buffer.
  if (x != nullptr && *pp == start + length) {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.certs.find(key) == m.certs.end()) {
      m.evict_certs();
      X509_up_ref(x);
      m.certs.emplace(key, x);
      m.cert_order.push_back(std::move(key));
    }
  }
  return x;
}

extern "C" int i2d_SSL_SESSION(const SSL_SESSION* in, unsigned char** pp) {
  static auto real = next_symbol<meshsim::tls::I2dSession>("i2d_SSL_SESSION");
  bool record = pp != nullptr && *pp != nullptr && in != nullptr && from_libssl(__builtin_return_address(0));
  int n = real(in, pp);
  if (record && n > 0) {
    std::string key(reinterpret_cast<const char*>(*pp - n), static_cast<std::size_t>(n));
    SSL_SESSION* copy = SSL_SESSION_dup(in);
    if (copy != nullptr) {
      auto& m = memo();
      std::lock_guard<std::mutex> lock(m.mu);
      auto it = m.sessions.find(key);
      if (it != m.sessions.end()) {
        SSL_SESSION_free(it->second);
        it->second = copy;
      } else {
        m.evict_sessions();
        m.sessions.emplace(key, copy);
        m.session_order.push_back(std::move(key));
      }
    }
  }
  return n;
}

extern "C" SSL_SESSION* d2i_SSL_SESSION(SSL_SESSION** a, const unsigned char** pp, long length) {
  static auto real = next_symbol<meshsim::tls::D2iSession>("d2i_SSL_SESSION");
  if (pp == nullptr || *pp == nullptr || length <= 0 || !from_libssl(__builtin_return_address(0))) {
    return real(a, pp, length);
  }
  auto& m = memo();
  {
    std::lock_guard<std::mutex> lock(m.mu);
    auto it = m.sessions.find(std::string(reinterpret_cast<const char*>(*pp), static_cast<std::size_t>(length)));
    if (it != m.sessions.end()) {
      SSL_SESSION* s = SSL_SESSION_dup(it->second);
      if (s != nullptr) {
        ++m.stats.session_hits;
        if (SSL_SESSION_get_protocol_version(it->second) == TLS1_3_VERSION) {
          SSL_SESSION_free(it->second);
          m.sessions.erase(it);  // single-use; its order entry is skipped at eviction
        }
        if (a != nullptr) {
          SSL_SESSION_free(*a);
          *a = s;
        }
        *pp += length;
        return s;
      }
    }
    ++m.stats.session_misses;
  }
  return real(a, pp, length);
}
