#!/usr/bin/env bash
# bench/real/run.sh — wrk through two real-socket sidecars (meshsim proxy) vs two haproxy
# instances configured as Istio configures Envoy, vs the backend alone; one run, loopback, the
# same backend and the same mesh CA and identities for both pairs. docs/benchmarks.md, section
# "Real sockets: wrk through two sidecars vs haproxy", explains each path and how to read it.
#
#   (meshsim) wrk → meshsim proxy (default/curl, --listen-outbound, plaintext in) → mTLS
#             (istio-http/1.1 ALPN, SPIFFE certs) → meshsim proxy (default/httpbin,
#             --listen-inbound) → backend
#   (haproxy) wrk → haproxy #1 (as the client Envoy) → mTLS → haproxy #2 (as the server Envoy)
#             → backend
#   (direct)  wrk → backend
#
# Usage: bench/real/run.sh [options]
#   -d, --duration S       seconds per measured wrk run (default 10)
#   -c, --connections N    wrk connections (default 16)
#   -t, --threads N        wrk threads (default 2)
#   -w, --warmup S         seconds of unmeasured wrk before each measured run (default 2)
#   -r, --rounds N         measure every path N times, interleaved; medians reported (default 1)
#   --paths LIST           comma list of meshsim,haproxy,direct (default all three); without
#                          meshsim the certificates are minted with openssl (mint-certs.sh)
#   --soak S               soak mode: wrk for S seconds through the meshsim pair only, sampling
#                          both meshsim processes' RSS and open fds every second (from /proc);
#                          reports growth, first third vs last third
#   --soak-rss-tolerance P RSS growth (last-third mean over first-third mean) above P % fails the
#                          soak (default 5)
#   --valgrind             run both meshsim proxy processes under valgrind memcheck (leak check
#                          at exit: any error or definitely/indirectly lost byte fails the run);
#                          slow — use with a short --soak, e.g. --soak 15 --valgrind (RSS and fds
#                          are then valgrind's: no growth verdict)
#   --callgrind            run both meshsim proxies and both haproxy of the pair under valgrind
#                          callgrind (instrumented from each path's warm-up on, counted during
#                          its measured wrk run) and report user-space instructions per request
#                          of each pair, and how many of them went to TLS handshakes
#                          (callgrind.jsonl, a line per run); requests/s are then callgrind's,
#                          not the machine's (and wrk gets --timeout 30s). Give the warm-up time
#                          to open the connections under valgrind: e.g. -w 20 -d 10
#   --haproxy-threads N    nbthread of each haproxy of the pair (default 1: meshsim proxy runs one
#                          io_context thread per process)
#   --backend-threads N    nbthread of the backend haproxy (default 1)
#   --haproxy-client-tls M verify (default): haproxy #1 verifies haproxy #2 against the mesh root
#                          and sends no SNI; sni: it sends Istio's SNI and verifies nothing
#                          (haproxy 2.6 cannot do both with SPIFFE-only certificates)
#   --meshsim PATH         the meshsim binary (default: $MESHSIM, else build/default/cli/meshsim)
#   --meshsim-arg ARG      extra argument for both `meshsim proxy` processes (repeatable)
#   --port-base P          first of 7 consecutive loopback ports used (default 41080)
#   -o, --out DIR          where configs, certificates, logs and results go (default: a new
#                          directory under ${TMPDIR:-/tmp}); results.md and results.json there
#   -h, --help
# Exit codes: 0 ok; 1 a check failed (a path did not answer 200 "ok" over the expected mTLS,
# wrk saw errors, a meshsim proxy did not drain to exit 0 on SIGTERM, soak growth); 2 usage or a
# missing program.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
samples=${ISTIO_SAMPLES:-$repo/tests/data/istio-samples}

duration=10 connections=16 threads=2 warmup=2 rounds=1 paths=meshsim,haproxy,direct
soak=0 soak_tol=5 use_valgrind=0 use_callgrind=0 ha_client_tls=verify ha_threads=1 backend_threads=1 port_base=41080 out=""
meshsim=${MESHSIM:-$repo/build/default/cli/meshsim}
meshsim_extra=()

usage() { sed -n '/^# Usage:/,/^# missing program/p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "run.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    -d|--duration) duration=$2; shift 2 ;;
    -c|--connections) connections=$2; shift 2 ;;
    -t|--threads) threads=$2; shift 2 ;;
    -w|--warmup) warmup=$2; shift 2 ;;
    -r|--rounds) rounds=$2; shift 2 ;;
    --paths) paths=$2; shift 2 ;;
    --soak) soak=$2; shift 2 ;;
    --soak-rss-tolerance) soak_tol=$2; shift 2 ;;
    --valgrind) use_valgrind=1; shift ;;
    --callgrind) use_callgrind=1; shift ;;
    --haproxy-threads) ha_threads=$2; shift 2 ;;
    --backend-threads) backend_threads=$2; shift 2 ;;
    --haproxy-client-tls) ha_client_tls=$2; shift 2 ;;
    --meshsim) meshsim=$2; shift 2 ;;
    --meshsim-arg) meshsim_extra+=("$2"); shift 2 ;;
    --port-base) port_base=$2; shift 2 ;;
    -o|--out) out=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
for v in duration connections threads warmup rounds soak soak_tol ha_threads backend_threads port_base; do
  [[ ${!v} =~ ^[0-9]+$ ]] || die "--${v//_/-} wants a whole number, got '${!v}'"
done
[ "$duration" -ge 1 ] && [ "$connections" -ge 1 ] && [ "$threads" -ge 1 ] && [ "$rounds" -ge 1 ] \
  || die "duration, connections, threads and rounds must be ≥ 1"
[ "$connections" -ge "$threads" ] || die "wrk needs connections ≥ threads"
[ "$soak" -eq 0 ] || [ "$soak" -ge 4 ] || die "--soak wants at least 4 seconds (3 samples under load)"
case $ha_client_tls in verify|sni) ;; *) die "--haproxy-client-tls wants verify or sni" ;; esac
if [ "$soak" -gt 0 ]; then paths=meshsim; fi
IFS=, read -r -a path_list <<< "$paths"
for p in "${path_list[@]}"; do
  case $p in meshsim|haproxy|direct) ;; *) die "--paths: unknown path '$p' (meshsim, haproxy, direct)" ;; esac
done
want() { [[ ",$paths," == *",$1,"* ]]; }

vg=()
[ "$use_valgrind" = 1 ] && [ "$use_callgrind" = 1 ] && die "--valgrind and --callgrind exclude each other"
if [ "$use_valgrind" = 1 ] || [ "$use_callgrind" = 1 ]; then
  command -v valgrind >/dev/null || die "valgrind is not installed (ci/setup installs it)"
fi
for prog in wrk haproxy openssl curl python3 ss; do
  command -v "$prog" >/dev/null || die "$prog is not installed (ci/setup installs it)"
done
if want meshsim; then
  [ -x "$meshsim" ] || die "no meshsim binary at $meshsim (build it, or pass --meshsim / MESHSIM)"
  help=$("$meshsim" --help 2>/dev/null || true)
  grep -Eq '^  proxy( |$)' <<< "$help" || die "$meshsim has no 'proxy' verb (its --help lists none)"
fi
for f in httpbin/httpbin.yaml curl/curl.yaml; do
  [ -f "$samples/$f" ] || die "missing Istio sample $samples/$f (set ISTIO_SAMPLES)"
done

work=${out:-$(mktemp -d "${TMPDIR:-/tmp}/meshsim-realbench.XXXXXX")}
mkdir -p "$work"; work=$(cd "$work" && pwd)
echo "run.sh: work directory $work"

backend_port=$port_base
ha_client_port=$((port_base + 1)) ha_server_port=$((port_base + 2))
ms_client_port=$((port_base + 3)) ms_server_port=$((port_base + 4))
ms_client_admin=$((port_base + 5)) ms_server_admin=$((port_base + 6))
for p in $(seq "$port_base" $((port_base + 6))); do
  if ss -Htln "sport = :$p" | grep -q .; then die "port $p is in use (choose --port-base)"; fi
done

# The Host the client app (curl) sends; the client sidecar's route "8000" matches it.
host=httpbin.default.svc.cluster.local
sni=outbound_.8000_._.httpbin.default.svc.cluster.local
valgrind_for() {  # valgrind_for NAME — the command prefix for one meshsim process
  vg=()
  if [ "$use_valgrind" = 1 ]; then
    vg=(valgrind --leak-check=full --show-leak-kinds=definite,indirect
        --errors-for-leak-kinds=definite,indirect --log-file="$work/valgrind-$1.txt")
  elif [ "$use_callgrind" = 1 ]; then
    vg=(valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$work/callgrind-$1.out"
        --log-file="$work/callgrind-$1.txt")
  fi
}
mesh_args=(--mesh "$samples/httpbin/httpbin.yaml" --mesh "$samples/curl/curl.yaml" --inject-namespace default)

# ---------------------------------------------------------------------------------------------
# processes: started here, ended here by their pid
declare -A pid_of=()
failures=()
fail() { echo "run.sh: CHECK FAILED: $*" >&2; failures+=("$*"); }
stop_all() {
  local name
  for name in "${!pid_of[@]}"; do
    kill -TERM "${pid_of[$name]}" 2>/dev/null || true
  done
  for name in "${!pid_of[@]}"; do
    wait "${pid_of[$name]}" 2>/dev/null || true
  done
  pid_of=()
}
trap stop_all EXIT
trap 'exit 130' INT TERM

start() {  # start NAME COMMAND… — background, output to $work/NAME.log
  local name=$1; shift
  "$@" >"$work/$name.log" 2>&1 &
  pid_of[$name]=$!
}
wait_port() {  # wait_port NAME PORT
  local name=$1 port=$2 i
  for i in $(seq 1 200); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    if ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
      echo "run.sh: $name exited before listening on $port; its log:" >&2; cat "$work/$name.log" >&2; exit 1
    fi
    sleep 0.05
  done
  echo "run.sh: $name does not listen on $port after 10 s; its log:" >&2; cat "$work/$name.log" >&2; exit 1
}
wait_ready() {  # wait_ready NAME ADMIN_PORT — Envoy's /ready answers 200 "LIVE"
  local name=$1 port=$2 i
  for i in $(seq 1 300); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/ready")" = 200 ]; then return 0; fi
    if ! kill -0 "${pid_of[$name]}" 2>/dev/null; then
      echo "run.sh: $name exited before /ready; its log:" >&2; cat "$work/$name.log" >&2; exit 1
    fi
    sleep 0.1
  done
  echo "run.sh: $name not ready after 30 s; its log:" >&2; cat "$work/$name.log" >&2; exit 1
}
render() {  # render TEMPLATE OUT
  local client_tls="ca-file $work/haproxy-root.pem verify required"
  [ "$ha_client_tls" = sni ] && client_tls="verify none sni str($sni)"
  sed -e "s|@CLIENT_TLS@|$client_tls|g" -e "s|@BACKEND_PORT@|$backend_port|g" -e "s|@HA_CLIENT_PORT@|$ha_client_port|g" \
      -e "s|@HA_SERVER_PORT@|$ha_server_port|g" -e "s|@WORK@|$work|g" \
      -e "s|@PROXY_THREADS@|$ha_threads|g" -e "s|@BACKEND_THREADS@|$backend_threads|g" \
      -e "s|@CLIENT_ID@|spiffe://cluster.local/ns/default/sa/curl|g" \
      -e "s|@SERVER_ID@|spiffe://cluster.local/ns/default/sa/httpbin|g" "$1" > "$2"
  haproxy -c -q -f "$2" || die "haproxy rejects $2"
}

# ---------------------------------------------------------------------------------------------
# the backend
render "$here/haproxy-backend.cfg.in" "$work/haproxy-backend.cfg"
start backend haproxy -db -f "$work/haproxy-backend.cfg"
wait_port backend "$backend_port"

# the meshsim pair (and its certificates), or openssl-minted certificates of the same shape
client_certs=$work/certs/curl server_certs=$work/certs/httpbin
if want meshsim; then
  # Pod names and the server pod's IP as meshsim assigns them (its endpoint table).
  "$meshsim" proxy-config endpoint default/curl "${mesh_args[@]}" -o json > "$work/endpoints.json" \
    || die "meshsim proxy-config endpoint failed"
  read -r client_pod server_pod server_ip server_port < <(python3 - "$work/endpoints.json" <<'PY'
import json, sys
eps = {c["cluster_name"]: c["endpoints"][0]["lb_endpoints"][0]["endpoint"] for c in json.load(open(sys.argv[1]))}
srv = eps["outbound|8000||httpbin.default.svc.cluster.local"]
cli = eps["outbound|80||curl.default.svc.cluster.local"]
print(cli["hostname"], srv["hostname"], srv["address"]["socket_address"]["address"],
      srv["address"]["socket_address"]["port_value"])
PY
)
  [ "$server_port" = 8080 ] || die "httpbin's endpoint port is $server_port, expected targetPort 8080"
  echo "run.sh: meshsim pods default/$client_pod → default/$server_pod ($server_ip:$server_port)"
  mkdir -p "$work/ca" "$client_certs" "$server_certs"
  # Server first: it creates the mesh CA in --ca-dir, the client then uses the same one. The
  # server's inbound cluster reaches the app at the pod IP or 127.0.0.1 (both mapped to the
  # backend). No access log: Istio's default profile has none, and neither has haproxy here.
  valgrind_for meshsim-server
  start meshsim-server ${vg[@]+"${vg[@]}"} "$meshsim" proxy "${mesh_args[@]}" --pod "default/$server_pod" \
    --listen-inbound "127.0.0.1:$ms_server_port=$server_port" \
    --upstream-map "$server_ip:$server_port=127.0.0.1:$backend_port" \
    --upstream-map "127.0.0.1:$server_port=127.0.0.1:$backend_port" --access-log off \
    --admin "127.0.0.1:$ms_server_admin" --ca-dir "$work/ca" --certs-dir "$server_certs" \
    ${meshsim_extra[@]+"${meshsim_extra[@]}"}
  wait_ready meshsim-server "$ms_server_admin"
  valgrind_for meshsim-client
  start meshsim-client ${vg[@]+"${vg[@]}"} "$meshsim" proxy "${mesh_args[@]}" --pod "default/$client_pod" \
    --listen-outbound "127.0.0.1:$ms_client_port=$host:8000" \
    --upstream-map "$server_ip:$server_port=127.0.0.1:$ms_server_port" --access-log off \
    --admin "127.0.0.1:$ms_client_admin" --ca-dir "$work/ca" --certs-dir "$client_certs" \
    ${meshsim_extra[@]+"${meshsim_extra[@]}"}
  wait_ready meshsim-client "$ms_client_admin"
  wait_port meshsim-server "$ms_server_port"; wait_port meshsim-client "$ms_client_port"
  cert_source="meshsim proxy --ca-dir/--certs-dir"
else
  "$here/mint-certs.sh" "$work/ca" default curl "$client_certs" default httpbin "$server_certs"
  cert_source="openssl (bench/real/mint-certs.sh)"
fi
for d in "$client_certs" "$server_certs"; do
  for f in cert-chain.pem key.pem root-cert.pem; do
    [ -s "$d/$f" ] || { fail "no $d/$f ($cert_source)"; exit 1; }
  done
done
cmp -s "$client_certs/root-cert.pem" "$server_certs/root-cert.pem" \
  || fail "client and server root-cert.pem differ: the two workloads are not in one mesh CA"
san_of() { openssl x509 -noout -ext subjectAltName -in "$1" 2>/dev/null | grep -o 'URI:[^,]*' | head -1; }
for pair in "curl:$client_certs" "httpbin:$server_certs"; do
  sa=${pair%%:*} d=${pair#*:}
  got=$(san_of "$d/cert-chain.pem")
  [ "$got" = "URI:spiffe://cluster.local/ns/default/sa/$sa" ] || fail "$d/cert-chain.pem SAN is '$got', want spiffe://cluster.local/ns/default/sa/$sa"
  openssl verify -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$d/cert-chain.pem" >/dev/null 2>&1 \
    || fail "$d/cert-chain.pem does not verify against its root-cert.pem"
done

# the haproxy pair, on the same certificates
if want haproxy; then
  cat "$client_certs/cert-chain.pem" "$client_certs/key.pem" > "$work/haproxy-client.pem"
  cat "$server_certs/cert-chain.pem" "$server_certs/key.pem" > "$work/haproxy-server.pem"
  cp "$server_certs/root-cert.pem" "$work/haproxy-root.pem"
  render "$here/haproxy-server.cfg.in" "$work/haproxy-server.cfg"
  render "$here/haproxy-client.cfg.in" "$work/haproxy-client.cfg"
  valgrind_for haproxy-server; [ "$use_valgrind" = 1 ] && vg=()  # memcheck is for meshsim only
  start haproxy-server ${vg[@]+"${vg[@]}"} haproxy -db -f "$work/haproxy-server.cfg"
  valgrind_for haproxy-client; [ "$use_valgrind" = 1 ] && vg=()
  start haproxy-client ${vg[@]+"${vg[@]}"} haproxy -db -f "$work/haproxy-client.cfg"
  wait_port haproxy-server "$ha_server_port"; wait_port haproxy-client "$ha_client_port"
fi

# ---------------------------------------------------------------------------------------------
# checks before measuring: every path answers 200 "ok"; the TLS hop is the expected mTLS
url_of() { case $1 in meshsim) echo "http://127.0.0.1:$ms_client_port/" ;;
                       haproxy) echo "http://127.0.0.1:$ha_client_port/" ;;
                       direct) echo "http://127.0.0.1:$backend_port/" ;; esac; }
for p in "${path_list[@]}"; do
  body=$(curl -s -m 10 -D "$work/check-$p.headers" -H "Host: $host" -H 'x-bench-check: 1' "$(url_of "$p")" || true)
  code=$(head -1 "$work/check-$p.headers" 2>/dev/null | awk '{print $2}')
  if [ "$code" = 200 ] && [ "$body" = ok ]; then echo "run.sh: check $p: 200 ok"
  else fail "$p: curl $(url_of "$p") got '${code:-no response}' '$body' (headers in $work/check-$p.headers)"; fi
done
# The server end of each pair, probed with openssl s_client as the client sidecar would connect:
# the client workload's certificate, the mesh root, Istio's ALPN and SNI. The peer must present
# the httpbin SPIFFE identity chained to the mesh root. A TLS client without a certificate must
# get no response (the mTLS chain requires one; PERMISSIVE still takes plaintext, not checked).
probe_server() {  # probe_server NAME PORT
  local name=$1 port=$2 log=$work/s_client-$1.txt
  printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" |
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$sni" \
      -alpn istio-http/1.1,istio,http/1.1 -cert "$client_certs/cert-chain.pem" -key "$client_certs/key.pem" \
      -CAfile "$client_certs/root-cert.pem" -verify_return_error -showcerts -ign_eof > "$log" 2>&1 || true
  local leaf; leaf=$(awk '/BEGIN CERTIFICATE/{n++} n==1{print} /END CERTIFICATE/ && n==1{exit}' "$log")
  local san; san=$(printf '%s\n' "$leaf" | openssl x509 -noout -ext subjectAltName 2>/dev/null | grep -o 'URI:[^,]*' | head -1)
  if grep -q 'Verify return code: 0 (ok)' "$log" && [ "$san" = "URI:spiffe://cluster.local/ns/default/sa/httpbin" ] \
     && grep -q '^ok' "$log"; then
    echo "run.sh: check $name server end: mTLS ok, peer $san, $(grep -m1 -o 'Protocol *: *TLSv[0-9.]*' "$log" | tr -s ' '), $(grep -m1 -o 'ALPN protocol: .*\|No ALPN negotiated' "$log")"
  else
    fail "$name: openssl s_client to 127.0.0.1:$port with the curl identity did not get 200 ok from the httpbin identity (peer '$san'; transcript $log)"
  fi
  printf 'GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$host" |
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -servername "$sni" -alpn istio-http/1.1 \
      -CAfile "$client_certs/root-cert.pem" -ign_eof > "$work/s_client-$name-nocert.txt" 2>&1 || true
  if grep -q '^ok' "$work/s_client-$name-nocert.txt"; then
    fail "$name: a TLS client without a certificate got a response from 127.0.0.1:$port"
  else echo "run.sh: check $name server end: TLS without a client certificate refused"; fi
}
if want haproxy; then
  probe_server haproxy "$ha_server_port"
  peer=$(tr -d '\r' < "$work/check-haproxy.headers" | sed -n 's/^x-bench-peer: //Ip')
  want_sni=""; if [ "$ha_client_tls" = sni ]; then want_sni=$sni; fi
  want_peer="sni=$want_sni alpn=http/1.1 client_cert=1 verify=0"
  [[ "$peer" == "$want_peer"* ]] && echo "run.sh: check haproxy client end: $peer" \
    || fail "haproxy #2 saw '$peer' from haproxy #1, want '$want_peer …'"
fi
if want meshsim; then
  probe_server meshsim "$ms_server_port"
fi
if [ ${#failures[@]} -gt 0 ]; then echo "run.sh: ${#failures[@]} check(s) failed; not measuring" >&2; exit 1; fi

# ---------------------------------------------------------------------------------------------
sys_ticks() {  # sys_ticks PID… — stime (kernel time) alone in clock ticks, summed
  local t=0 p f
  for p in "$@"; do
    f=$(cut -d' ' -f15 < "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + f))
  done
  echo $t
}
cpu_ticks() {  # cpu_ticks PID… — utime+stime in clock ticks, summed
  local t=0 p f
  for p in "$@"; do
    f=$(cut -d' ' -f14,15 < "/proc/$p/stat" 2>/dev/null) || continue
    t=$((t + ${f% *} + ${f#* }))
  done
  echo $t
}
proxy_pids() { case $1 in meshsim) echo "${pid_of[meshsim-client]} ${pid_of[meshsim-server]}" ;;
                          haproxy) echo "${pid_of[haproxy-client]} ${pid_of[haproxy-server]}" ;;
                          direct) echo "" ;; esac; }
machine_ticks() {  # machine_ticks — "busy total" jiffies of all CPUs from /proc/stat
  awk '/^cpu /{t=0; for (i=2; i<=NF; i++) t+=$i; print t-$5-$6, t}' /proc/stat
}
# callgrind_on PID… — instrumentation on (before the warm-up: valgrind then translates the code
# anew, slowly); callgrind_zero PID… — counters zeroed at the start of the measured run;
# callgrind_off PATH LABEL WRKLOG PID… — dump each process (its Ir since callgrind_zero),
# instrumentation off, one line to callgrind.jsonl
callgrind_on() {
  local p
  for p in "$@"; do callgrind_control -i on "$p" >/dev/null 2>&1; done
}
callgrind_zero() {
  local p
  for p in "$@"; do callgrind_control -z "$p" >/dev/null 2>&1; done
}
callgrind_off() {
  local path=$1 label=$2 log=$3 p ir=() hs=() f; shift 3
  for p in "$@"; do
    callgrind_control -d "cg-$label" "$p" >/dev/null 2>&1
    callgrind_control -i off "$p" >/dev/null 2>&1
    f=$(ls -t "$work"/callgrind-*.out.* 2>/dev/null | head -1)
    ir+=("$(grep -m1 -E '^(summary|totals):' "$f" | awk '{print $2}')")
    # TLS handshakes inside the window (a new upstream connection) cost millions of instructions
    # each: counted apart (inclusive cost of SSL_do_handshake), so a window with one is readable.
    hs+=("$( (callgrind_annotate --inclusive=yes --auto=no "$f" 2>/dev/null || true) |
             awk '/SSL_do_handshake/ && !n {gsub(",", "", $1); print $1; n = 1}')")
    mv "$f" "$work/callgrind-$path-$label-$p.out"
  done
  python3 - "$work/callgrind.jsonl" "$path" "$label" "$(sed -n 's/^WRKJSON //p' "$log")" "${#ir[@]}" "${ir[@]}" "${hs[@]}" <<'PY'
import json, sys
out, path, label, line, k, *rest = sys.argv[1:]
k = int(k)
ir, hs = [int(x) for x in rest[:k]], [int(x or 0) for x in (rest[k:] + [""] * k)[:k]]
n = max(1, json.loads(line)["requests"])
r = dict(path=path, label=label, requests=n, ir=ir, ir_handshake=hs, ir_per_request=sum(ir) / n,
         ir_per_request_each=[x / n for x in ir], ir_per_request_without_handshakes=(sum(ir) - sum(hs)) / n)
open(out, "a").write(json.dumps(r) + "\n")
each = ", ".join(f"{x:,.0f}" for x in r["ir_per_request_each"])
print(f"run.sh:   callgrind {label} {path}: {r['ir_per_request']:,.0f} instructions/request over {n} requests "
      f"(client, server: {each}); {sum(hs) / n:,.0f} of them in TLS handshakes")
PY
}
wrk_args=(-t"$threads" -c"$connections" -H "Host: $host" -s "$here/report.lua" --latency)
# Under callgrind a proxy is ~50x slower, and slower still while valgrind translates code anew
# after instrumentation is switched on: wrk's 2 s default timeout would count those requests as
# errors. The instruction counts do not depend on it; requests/s under callgrind mean nothing.
[ "$use_callgrind" = 1 ] && wrk_args+=(--timeout 30s)
run_wrk() {  # run_wrk PATH LABEL SECONDS — measured run, one JSON line appended to runs.jsonl
  local p=$1 label=$2 secs=$3 log=$work/wrk-$1-$2.txt
  local pids; pids=$(proxy_pids "$p")
  local c0 b0 s0; c0=$(cpu_ticks $pids); b0=$(cpu_ticks "${pid_of[backend]}"); s0=$(sys_ticks $pids)
  local load0; load0=$(cut -d' ' -f1 /proc/loadavg)
  local m0; m0=$(machine_ticks)
  local cg_pids=""
  if [ "$use_callgrind" = 1 ] && [ -n "$pids" ]; then cg_pids=$pids; callgrind_zero $cg_pids; fi
  wrk "${wrk_args[@]}" -d"${secs}s" "$(url_of "$p")" > "$log" 2>&1 || { fail "wrk on $p failed (see $log)"; return; }
  [ -n "$cg_pids" ] && callgrind_off "$p" "$label" "$log" $cg_pids
  local c1 b1 m1 s1; c1=$(cpu_ticks $pids); b1=$(cpu_ticks "${pid_of[backend]}"); m1=$(machine_ticks); s1=$(sys_ticks $pids)
  local line; line=$(sed -n 's/^WRKJSON //p' "$log")
  [ -n "$line" ] || { fail "wrk on $p printed no result (see $log)"; return; }
  python3 - "$p" "$label" "$line" $((c1 - c0)) $((b1 - b0)) "$(getconf CLK_TCK)" "$load0" \
    "$(cut -d' ' -f1 /proc/loadavg)" "$m0" "$m1" $((s1 - s0)) >> "$work/runs.jsonl" <<'PY'
import json, sys
p, label, line, proxy_ticks, backend_ticks, hz, l0, l1, m0, m1, sys_ticks = sys.argv[1:]
r = json.loads(line)
(b0, t0), (b1, t1) = (map(int, m0.split()), map(int, m1.split()))
r.update(path=p, label=label, proxy_cpu_s=int(proxy_ticks) / int(hz), proxy_sys_s=int(sys_ticks) / int(hz), machine_busy=(b1 - b0) / max(1, t1 - t0),
         backend_cpu_s=int(backend_ticks) / int(hz), loadavg_before=float(l0), loadavg_after=float(l1))
print(json.dumps(r))
PY
}

: > "$work/runs.jsonl"
if [ "$soak" -eq 0 ]; then
  echo "run.sh: measuring ${path_list[*]}: wrk -t$threads -c$connections, ${warmup}s warm-up + ${duration}s, $rounds round(s)"
  for round in $(seq 1 "$rounds"); do
    for p in "${path_list[@]}"; do
      [ "$use_callgrind" = 1 ] && callgrind_on $(proxy_pids "$p")
      [ "$warmup" -gt 0 ] && wrk "${wrk_args[@]}" -d"${warmup}s" "$(url_of "$p")" > "$work/wrk-$p-warmup-$round.txt" 2>&1
      run_wrk "$p" "round$round" "$duration"
      echo "run.sh:   round $round $p: $(sed -n 's/^Requests\/sec: *//p' "$work/wrk-$p-round$round.txt") requests/s"
    done
  done
else
  echo "run.sh: soak: wrk -t$threads -c$connections for ${soak}s through the meshsim pair; sampling RSS and fds every second"
  echo "phase,t_s,client_rss_kb,client_fds,server_rss_kb,server_fds" > "$work/soak.csv"
  sample() {  # sample PHASE T — one CSV row
    local row="$1,$2" p
    for p in "${pid_of[meshsim-client]}" "${pid_of[meshsim-server]}"; do
      row+=",$(awk '/^VmRSS:/{print $2}' "/proc/$p/status"),$(find "/proc/$p/fd" -mindepth 1 -maxdepth 1 | wc -l)"
    done
    echo "$row" >> "$work/soak.csv"
  }
  sample before 0
  run_wrk meshsim soak "$soak" &
  soak_wrk=$!
  t0=$(date +%s.%N)
  # one sample a second while wrk runs (from 1 s in, when its connections are up)
  for i in $(seq 1 $((soak - 1))); do
    sleep "$(python3 -c "import time; print(max(0.0, $t0 + $i - time.time()))")"
    sample during "$i"
  done
  wait "$soak_wrk" || true
  sleep 1
  sample after $((soak + 1))
fi

# ---------------------------------------------------------------------------------------------
# the meshsim pair's own account (admin endpoints), then drain: SIGTERM each, which must exit 0
drain_codes=""
if want meshsim; then
  for side in client server; do
    port=$ms_client_admin; [ $side = server ] && port=$ms_server_admin
    curl -s -m 10 "http://127.0.0.1:$port/stats" > "$work/meshsim-$side-stats.txt" || fail "meshsim-$side /stats"
    curl -s -m 10 "http://127.0.0.1:$port/stats/prometheus" > "$work/meshsim-$side-prometheus.txt" || fail "meshsim-$side /stats/prometheus"
  done
  for name in meshsim-client meshsim-server; do
    kill -TERM "${pid_of[$name]}"
    rc=0; wait "${pid_of[$name]}" || rc=$?
    unset "pid_of[$name]"
    drain_codes+="$name=$rc "
    [ "$rc" = 0 ] || fail "$name exited $rc on SIGTERM (log $work/$name.log)"
  done
  echo "run.sh: SIGTERM drain: $drain_codes"
  if [ "$use_valgrind" = 1 ]; then
    for name in meshsim-client meshsim-server; do
      f=$work/valgrind-$name.txt
      summary=$(grep -E 'ERROR SUMMARY|definitely lost|indirectly lost' "$f" | sed 's/^==[0-9]*== *//' | tr '\n' ';')
      echo "run.sh: valgrind $name: $summary"
      grep -q 'ERROR SUMMARY: 0 errors' "$f" || fail "valgrind found errors in $name ($f)"
      if grep -Eq '(definitely|indirectly) lost: [1-9]' "$f"; then fail "valgrind: $name leaks ($f)"; fi
    done
  fi
fi

python3 "$here/report.py" --work "$work" --soak "$soak" --soak-rss-tolerance "$soak_tol" --connections "$connections" \
  $([ "$use_valgrind" = 1 ] && echo --valgrind) \
  --context "$(printf 'wrk -t%s -c%s -d%ss (+%ss warm-up), %s round(s); haproxy pair nbthread %s (client TLS: %s), backend nbthread %s; certificates: %s; %s cores; %s' \
     "$threads" "$connections" "$duration" "$warmup" "$rounds" "$ha_threads" "$ha_client_tls" "$backend_threads" "$cert_source" "$(nproc)" \
     "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" \
  --versions "$(haproxy -v | head -1 | cut -d' ' -f1-3); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2); $(openssl version); $(want meshsim && "$meshsim" --version 2>&1 | head -1)" \
  || failures+=("report")
if [ ${#failures[@]} -gt 0 ]; then
  printf 'run.sh: FAILED: %s\n' "${failures[@]}" >&2
  exit 1
fi
