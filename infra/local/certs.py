"""The brokers' TLS: our own CA and a certificate it signs for the Strimzi listener.

Strimzi's generated cluster CA lives in the kafka namespace, where workloads cannot read it; with
our own CA, each workload namespace gets its `ca.crt` and clients verify the brokers.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_tls as tls

CERT_HOURS = 5 * 365 * 24


def broker_dns_names(cluster: str, namespace: str) -> list[str]:
    names = [
        f"{cluster}-kafka-bootstrap.{namespace}.svc",
        f"*.{cluster}-kafka-brokers.{namespace}.svc",
    ]
    return names + [f"{n}.cluster.local" for n in names]


def broker_tls(name: str, cluster: str, ns: str, opts: pulumi.ResourceOptions) -> tuple[Any, ...]:
    """Our CA, and a broker certificate it signs: (CA cert PEM, broker cert PEM, broker key PEM)."""
    ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm="RSA", rsa_bits=2048, opts=opts)
    ca = tls.SelfSignedCert(
        f"{name}-ca",
        private_key_pem=ca_key.private_key_pem,
        is_ca_certificate=True,
        subject={"common_name": f"{cluster} Kafka CA", "organization": "ascent"},
        validity_period_hours=CERT_HOURS,
        allowed_uses=["cert_signing", "crl_signing"],
        opts=opts,
    )
    key = tls.PrivateKey(f"{name}-broker-key", algorithm="RSA", rsa_bits=2048, opts=opts)
    dns_names = broker_dns_names(cluster, ns)
    csr = tls.CertRequest(
        f"{name}-broker-csr",
        private_key_pem=key.private_key_pem,
        subject={"common_name": dns_names[0], "organization": "ascent"},
        dns_names=dns_names,
        opts=opts,
    )
    cert = tls.LocallySignedCert(
        f"{name}-broker-cert",
        cert_request_pem=csr.cert_request_pem,
        ca_private_key_pem=ca_key.private_key_pem,
        ca_cert_pem=ca.cert_pem,
        validity_period_hours=CERT_HOURS,
        allowed_uses=["digital_signature", "key_encipherment", "server_auth"],
        opts=opts,
    )
    return ca.cert_pem, cert.cert_pem, key.private_key_pem_pkcs8
