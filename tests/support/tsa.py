"""A local RFC 3161 timestamp authority, made of kept parts: certificates from ``cryptography``,
the TSTInfo and CMS SignedData from ``asn1crypto``, served on loopback by ``http.server``."""

from __future__ import annotations

import datetime
import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from asn1crypto import cms, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_YEAR = datetime.timedelta(days=365)


@dataclass(frozen=True)
class Authority:
    root: x509.Certificate
    """What a verifier trusts."""
    leaf: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @classmethod
    def create(cls) -> Authority:
        now = datetime.datetime.now(datetime.UTC)
        root_key = ec.generate_private_key(ec.SECP256R1())
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test timestamp root")])
        root = (
            _certificate(root_name, root_name, root_key.public_key(), 1, now)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(key_cert_sign=True), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test timestamp authority")])
        leaf = (
            _certificate(name, root_name, key.public_key(), 2, now)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True
            )
            .add_extension(_usage(digital_signature=True), critical=True)
            .sign(root_key, hashes.SHA256())
        )
        return cls(root, leaf, key)

    def respond(self, request: bytes) -> bytes:
        """A granted TimeStampResp for a DER TimeStampReq."""
        asked = tsp.TimeStampReq.load(request)
        now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
        fields = {
            "version": "v1",
            "policy": "1.3.6.1.4.1.0.1",
            "message_imprint": asked["message_imprint"],
            "serial_number": int.from_bytes(os.urandom(8), "big"),
            "gen_time": now,
        }
        if asked["nonce"].native is not None:
            fields["nonce"] = asked["nonce"].native
        content = tsp.TSTInfo(fields).dump()
        leaf = asn1_x509.Certificate.load(self.leaf.public_bytes(serialization.Encoding.DER))
        essid = tsp.ESSCertIDv2(
            {"hash_algorithm": {"algorithm": "sha256"}, "cert_hash": _sha256(leaf.dump())}
        )
        attributes = cms.CMSAttributes(
            [
                cms.CMSAttribute({"type": "content_type", "values": ["tst_info"]}),
                cms.CMSAttribute({"type": "signing_time", "values": [cms.Time({"utc_time": now})]}),
                cms.CMSAttribute({"type": "message_digest", "values": [_sha256(content)]}),
                cms.CMSAttribute(
                    {
                        "type": "signing_certificate_v2",
                        "values": [tsp.SigningCertificateV2({"certs": [essid]})],
                    }
                ),
            ]
        )
        signer = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    {
                        "issuer_and_serial_number": cms.IssuerAndSerialNumber(
                            {"issuer": leaf.issuer, "serial_number": leaf.serial_number}
                        )
                    }
                ),
                "digest_algorithm": {"algorithm": "sha256"},
                "signed_attrs": attributes,
                "signature_algorithm": {"algorithm": "sha256_ecdsa"},
                "signature": self.key.sign(attributes.dump(), ec.ECDSA(hashes.SHA256())),
            }
        )
        signed = cms.SignedData(
            {
                "version": "v3",
                "digest_algorithms": [{"algorithm": "sha256"}],
                "encap_content_info": {
                    "content_type": "tst_info",
                    "content": cms.ParsableOctetString(content),
                },
                "certificates": [leaf],
                "signer_infos": [signer],
            }
        )
        token = cms.ContentInfo({"content_type": "signed_data", "content": signed})
        granted = {"status": {"status": "granted"}, "time_stamp_token": token}
        response: bytes = tsp.TimeStampResp(granted).dump()
        return response


@contextmanager
def serving(authority: Authority) -> Iterator[str]:
    """Serve ``authority`` on a free loopback port; yields its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = self.rfile.read(int(self.headers["Content-Length"]))
            answer = authority.respond(request)
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def _certificate(
    subject: x509.Name,
    issuer: x509.Name,
    public: ec.EllipticCurvePublicKey,
    serial: int,
    now: datetime.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(serial)
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + 10 * _YEAR)
    )


def _usage(*, digital_signature: bool = False, key_cert_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=key_cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()
