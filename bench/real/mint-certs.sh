#!/usr/bin/env bash
# mint-certs.sh CA_DIR NS SA OUT_DIR [NS SA OUT_DIR …]
#
# Mints, with the openssl CLI, the same shape of certificates Istio's CA issues and meshsim writes
# with `meshsim proxy --ca-dir/--certs-dir`: an Istio plug-in CA layout in CA_DIR
# (ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem; here the CA is its own root) and, per
# workload, OUT_DIR/{cert-chain.pem,key.pem,root-cert.pem} (Istio's /etc/certs names):
# EC P-256, empty subject, URI SAN spiffe://cluster.local/ns/NS/sa/SA, digitalSignature +
# keyEncipherment, serverAuth + clientAuth, 24 h validity. bench/real/run.sh uses it only when the
# meshsim path is not run (--paths without meshsim), so the haproxy pair can be measured alone.
set -euo pipefail
[ $# -ge 4 ] && [ $(( ($# - 1) % 3 )) -eq 0 ] || { echo "usage: $0 CA_DIR NS SA OUT_DIR [NS SA OUT_DIR …]" >&2; exit 2; }
ca=$1; shift
mkdir -p "$ca"
if [ ! -f "$ca/ca-key.pem" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$ca/ca-key.pem" 2>/dev/null
  openssl req -x509 -new -key "$ca/ca-key.pem" -days 3650 -sha256 -subj "/O=cluster.local" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" \
    -out "$ca/ca-cert.pem" 2>/dev/null
  cp "$ca/ca-cert.pem" "$ca/root-cert.pem"
  cp "$ca/ca-cert.pem" "$ca/cert-chain.pem"
fi
while [ $# -gt 0 ]; do
  ns=$1 sa=$2 d=$3; shift 3
  mkdir -p "$d"
  openssl ecparam -name prime256v1 -genkey -noout -out "$d/key.pem.ec" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$d/key.pem.ec" -out "$d/key.pem"; rm -f "$d/key.pem.ec"
  ext="$d/ext.cnf"
  cat > "$ext" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=critical,URI:spiffe://cluster.local/ns/$ns/sa/$sa
EXT
  openssl req -new -key "$d/key.pem" -subj "/" -out "$d/csr.pem" 2>/dev/null
  openssl x509 -req -in "$d/csr.pem" -CA "$ca/ca-cert.pem" -CAkey "$ca/ca-key.pem" -CAcreateserial \
    -days 1 -sha256 -extfile "$ext" -out "$d/leaf.pem" 2>/dev/null
  cat "$d/leaf.pem" "$ca/cert-chain.pem" > "$d/cert-chain.pem"
  cp "$ca/root-cert.pem" "$d/root-cert.pem"
  rm -f "$d/csr.pem" "$d/leaf.pem" "$ext"
done
