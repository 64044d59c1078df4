#!/bin/sh
# Writes the Secret manifests from the PEM files of ./gen-certs.py.
set -e
cd "$(dirname "$0")"
b64() { base64 -w0 "$1"; }
cat > bookinfo-credential.yaml <<YAML
# The TLS credential of bookinfo.example.com for the ingress gateway
# (kubectl create -n istio-system secret generic bookinfo-credential
#  --from-file=tls.key=bookinfo.example.com.key --from-file=tls.crt=bookinfo.example.com.crt
#  --from-file=ca.crt=example-ca.crt), as Istio's secure ingress task makes it.
apiVersion: v1
kind: Secret
metadata:
  name: bookinfo-credential
  namespace: istio-system
type: kubernetes.io/tls
data:
  tls.crt: $(b64 bookinfo.example.com.crt)
  tls.key: $(b64 bookinfo.example.com.key)
  ca.crt: $(b64 example-ca.crt)
YAML
cat > faq/shop-credential.yaml <<YAML
# shop.example.com's certificate is bookinfo.example.com's (tests check the
# chain is served, not its name); stringData as kubectl would accept it.
apiVersion: v1
kind: Secret
metadata:
  name: shop-credential
  namespace: istio-system
type: kubernetes.io/tls
stringData:
  tls.crt: |
$(sed 's/^/    /' bookinfo.example.com.crt)
  tls.key: |
$(sed 's/^/    /' bookinfo.example.com.key)
YAML
