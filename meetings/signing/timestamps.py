"""RFC 3161 time-stamp clients: a real TSA when ``TSA_URL`` is set, a local one for the demo and tests."""
from __future__ import annotations

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import DummyTimeStamper, HTTPTimeStamper, TimeStamper

from meetings.signing.pki import SignerIdentity


def http_timestamper(url: str, *, timeout: int = 10) -> TimeStamper:
    return HTTPTimeStamper(url, timeout=timeout)


def local_timestamper(tsa: SignerIdentity) -> TimeStamper:
    """A TSA in-process, signing with the given (RSA) certificate: B-T signatures fully offline."""
    cert = asn1_x509.Certificate.load(tsa.certificate.public_bytes(serialization.Encoding.DER))
    key = asn1_keys.PrivateKeyInfo.load(tsa.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    chain = [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in tsa.chain]
    return DummyTimeStamper(tsa_cert=cert, tsa_key=key, certs_to_embed=chain)
