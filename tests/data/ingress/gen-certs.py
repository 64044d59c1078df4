#!/usr/bin/env python3
# Regenerates the test PKI of tests/data/ingress (EC P-256, SHA-256):
#   example-ca.{crt,key}        a CA outside the mesh ("example.com root CA")
#   bookinfo.example.com.{crt,key}  server certificate, SAN DNS bookinfo.example.com
#   client.example.com.{crt,key}    client certificate, SAN DNS client.example.com
#   other-ca.crt/key, other-client.{crt,key}  a second CA and a client of it (refused by MUTUAL)
# Validity 2025-01-01 .. 2125-01-01 (meshsim's virtual time starts 2026-01-01).
# The Secret manifests embed these files; run ./gen-certs.py then ./gen-secrets.sh.
import datetime
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ExtendedKeyUsageOID

START = datetime.datetime(2025, 1, 1, tzinfo=datetime.timezone.utc)
END = datetime.datetime(2125, 1, 1, tzinfo=datetime.timezone.utc)

def key():
    return ec.generate_private_key(ec.SECP256R1())

def write(name, cert, k):
    open(name + ".crt", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
    open(name + ".key", "wb").write(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))

def ca(cn, serial):
    k = key()
    n = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example Inc."), x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    c = (x509.CertificateBuilder().subject_name(n).issuer_name(n).public_key(k.public_key()).serial_number(serial)
         .not_valid_before(START).not_valid_after(END)
         .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
         .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
         .sign(k, hashes.SHA256()))
    return c, k

def leaf(cn, ca_cert, ca_key, serial, usage):
    k = key()
    c = (x509.CertificateBuilder()
         .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "example organization"), x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca_cert.subject).public_key(k.public_key()).serial_number(serial)
         .not_valid_before(START).not_valid_after(END)
         .add_extension(x509.SubjectAlternativeName([x509.DNSName(cn)]), critical=False)
         .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
         .sign(ca_key, hashes.SHA256()))
    return c, k

ca_c, ca_k = ca("example.com root CA", 1)
write("example-ca", ca_c, ca_k)
write("bookinfo.example.com", *leaf("bookinfo.example.com", ca_c, ca_k, 2, ExtendedKeyUsageOID.SERVER_AUTH))
write("client.example.com", *leaf("client.example.com", ca_c, ca_k, 3, ExtendedKeyUsageOID.CLIENT_AUTH))
o_c, o_k = ca("other root CA", 4)
write("other-ca", o_c, o_k)
write("other-client", *leaf("other-client.example.org", o_c, o_k, 5, ExtendedKeyUsageOID.CLIENT_AUTH))
