#!/usr/bin/python3
# Prints the golden host choices of proxy/tests/consistent_hash_test.cc
# (RingHashMatchesOracle, MaglevMatchesOracle, HashPolicyMatchesOracle).
# Independent transcription of docs/istio/http-traffic-management.md §7.2-7.3
# (Envoy ring_hash_lb.cc Ring, maglev_lb.cc OriginalMaglevTable, hash_policy.cc),
# with XXH64 from Debian's python3-xxhash. Python floats are IEEE binary64.
import math
import xxhash

M64 = (1 << 64) - 1
def xx(s, seed=0): return xxhash.xxh64_intdigest(s.encode(), seed)

def normalize(hosts):  # hosts: [(key, weight)]
    total = float(sum(w for _, w in hosts))
    ws = [(k, w * 1.0 / total) for k, w in hosts]
    return ws, min(w for _, w in ws), max(w for _, w in ws)

def ring(hosts, min_size=1024, max_size=1024 * 1024 * 8):
    ws, min_w, _ = normalize(hosts)
    scale = min(math.ceil(min_w * min_size) / min_w, float(max_size))
    out, current, target = [], 0.0, 0.0
    for key, w in ws:
        target += scale * w
        i = 0
        while current < target:
            out.append((xx(key + "_" + str(i)), key)); i += 1; current += 1.0
    out.sort(key=lambda e: e[0])
    return out

def ring_choose(r, h, attempt=0):
    # the first entry with hash >= h, wrapping to entry 0
    idx = next((i for i, (eh, _) in enumerate(r) if eh >= h), 0)
    if attempt > 0: idx = (idx + attempt) % len(r)
    return r[idx][1]

def maglev(hosts, size=65537):
    ws, _, max_w = normalize(hosts)
    entries = sorted(ws)
    st = [dict(key=k, w=w, off=xx(k, 0) % size, skip=xx(k, 1) % (size - 1) + 1, nxt=0, tw=0.0) for k, w in entries]
    table, filled, it = [None] * size, 0, 1
    while filled < size:
        for e in st:
            if filled >= size: break
            if it * e['w'] < e['tw']: continue
            e['tw'] += max_w
            c = (e['off'] + e['skip'] * e['nxt']) % size
            while table[c] is not None:
                e['nxt'] += 1; c = (e['off'] + e['skip'] * e['nxt']) % size
            table[c] = e['key']; e['nxt'] += 1; filled += 1
        it += 1
    return table

def maglev_choose(t, h, attempt=0):
    if attempt > 0: h ^= (M64 - attempt + 1) & M64
    return t[h % len(t)]

def combine(hashes):  # HashPolicyImpl::generateHash
    out = None
    for h in hashes:
        out = h if out is None else ((((out << 1) | (out >> 63)) & M64) ^ h)
    return out

HOSTS = [("10.1.0.7:9080", 1), ("10.1.0.8:9080", 1), ("10.1.0.9:9080", 1)]
WEIGHTED = [("10.1.0.7:9080", 1), ("10.1.0.8:9080", 2), ("10.1.0.9:9080", 3)]
KEYS = ["user-%d" % i for i in range(24)]
# a choice prints as the host's index (0 = 10.1.0.7, 1 = .8, 2 = .9)
def ix(keys): return "".join(str(int(k.split(":")[0].split(".")[3]) - 7) for k in keys)

if __name__ == "__main__":
    r = ring(HOSTS)
    print("ring size", len(r))
    print("ring", ix([ring_choose(r, xx(k)) for k in KEYS]))
    print("ring attempt1", ix([ring_choose(r, xx(k), 1) for k in KEYS]))
    rw = ring(WEIGHTED, 16)
    print("ring weighted min16 size", len(rw), ix([ring_choose(rw, xx(k)) for k in KEYS]))
    t = maglev(HOSTS)
    print("maglev", ix([maglev_choose(t, xx(k)) for k in KEYS]))
    print("maglev attempt1", ix([maglev_choose(t, xx(k), 1) for k in KEYS]))
    tw = maglev(WEIGHTED, 251)
    print("maglev weighted 251", ix([maglev_choose(tw, xx(k)) for k in KEYS]))
    print("maglev weighted 251 counts", [tw.count(k) for k, _ in WEIGHTED])
    # header x-user: user-1, then source ip 10.1.0.5 combined
    print("combine", hex(combine([xx("user-1"), xx("10.1.0.5")])))
    v = "%016x" % xx("10.1.0.5:41234" + "10.96.0.30:9080")
    print("cookie value", v)
