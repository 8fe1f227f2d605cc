"""The development CA's services over HTTP: CRLs, OCSP, certificates, a time-stamping authority.

A real CA publishes, for every certificate it issued, whether it is still good: a CRL at the
certificate's distribution point, an OCSP responder at its Authority Information Access
address; a verifier fetches them, and a long-term signature (PAdES B-LT) embeds what was
fetched. The development PKI (:mod:`signatures.pki`) names addresses under its ``ca_url``;
this module answers them, for ``motcua dev`` and the tests, from the PKI directory itself:

- ``GET  /crl/<ca>.crl``: the CRL of ``<ca>`` (``root`` or ``intermediate``), signed by it;
- ``POST /ocsp/<ca>`` (or ``GET /ocsp/<ca>/<base64 request>``): an OCSP answer signed by ``<ca>``;
- ``GET  /certs/<ca>.cer``: the CA's certificate (DER);
- ``POST /tsa``: an RFC 3161 timestamp from the PKI's TSA certificate.

What was revoked is the directory's ``revoked.yaml`` (:func:`revoke`, ``motcua pki revoke``),
read on every request, so a revocation counts at once.

The answers are built by certomancer's service classes (``CRLBuilder``,
``SimpleOCSPResponder``, ``TimeStamper``: the PKI testing tool of pyHanko's author), over the
keys signatures.pki made. Certomancer's own HTTP front end (its Animator) serves a PKI it
generates from its YAML configuration: using it would define the development PKI twice,
beside the keys.yaml that production deployments write too. certomancer is a development
dependency (the ``dev`` extra); nothing in production imports this module.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, cast
from urllib.parse import unquote

import yaml
from asn1crypto import crl, keys, ocsp, tsp, x509  # type: ignore[import-untyped]
from certomancer.services import (
    CRLBuilder,
    RevocationInfoInterface,
    SimpleOCSPResponder,
    TimeStamper,
    choose_signed_digest,
)
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder

from infra.http_thread import served_in_thread
from signatures import pki
from signatures.pki import REVOCATIONS_NAME, CaName, manifest_lock

__all__ = [
    "REASONS",
    "DevCA",
    "DevCAServer",
    "Revocation",
    "revocations",
    "revoke",
    "serving",
]

REASONS = (
    "unspecified",
    "key_compromise",
    "affiliation_changed",
    "superseded",
    "cessation_of_operation",
)
"""Revocation reasons (RFC 5280 CRLReason) ``revoke`` accepts."""

CRL_VALIDITY = dt.timedelta(days=1)
OCSP_VALIDITY = dt.timedelta(hours=1)

Mode = Literal["ok", "error", "garbage"]


@dataclass(frozen=True)
class Revocation:
    """A certificate the development CA revoked."""

    issuer: CaName
    serial: int
    revoked_at: dt.datetime
    reason: str
    subject: str = ""


def revocations(directory: Path) -> list[Revocation]:
    path = Path(directory) / REVOCATIONS_NAME
    if not path.exists():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [
        Revocation(
            issuer=item["issuer"],
            serial=int(str(item["serial"]), 16),
            revoked_at=dt.datetime.fromisoformat(str(item["revoked_at"])),
            reason=str(item.get("reason") or "unspecified"),
            subject=str(item.get("subject") or ""),
        )
        for item in data
    ]


def revoke(
    directory: Path,
    cert_path: Path,
    *,
    reason: str = "key_compromise",
    at: dt.datetime | None = None,
) -> Revocation:
    """Revoke the certificate in ``cert_path`` (issued by this development CA): from now on
    its CRL lists it and its OCSP responder answers "revoked". Revoking twice is a no-op."""
    if reason not in REASONS:
        # The operator reads these through `motcua pki revoke` (Vietnamese, as the CLI).
        raise ValueError(
            f"lý do thu hồi {reason!r} không hợp lệ: phải là một trong: {', '.join(REASONS)}"
        )
    directory = Path(directory)
    cert = pki.load_certificate(cert_path)
    issuer: CaName | None = None
    names: tuple[CaName, ...] = ("intermediate", "root")
    for name in names:
        if pki.load_certificate(directory / f"{name}.pem").subject == cert.issuer:
            issuer = name
    if issuer is None:
        raise ValueError(f"{cert_path} không do CA phát triển trong {directory} cấp")
    with manifest_lock(directory):
        done = revocations(directory)
        for item in done:
            if item.issuer == issuer and item.serial == cert.serial_number:
                return item
        entry = Revocation(
            issuer=issuer,
            serial=cert.serial_number,
            revoked_at=(at or dt.datetime.now(dt.UTC)).replace(microsecond=0),
            reason=reason,
            subject=cert.subject.rfc4514_string(),
        )
        records = [
            {
                "issuer": r.issuer,
                "serial": f"{r.serial:x}",
                "revoked_at": r.revoked_at.isoformat(),
                "reason": r.reason,
                "subject": r.subject,
            }
            for r in [*done, entry]
        ]
        text = yaml.safe_dump(records, allow_unicode=True, sort_keys=False)
        tmp = directory / f"{REVOCATIONS_NAME}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(directory / REVOCATIONS_NAME)
    return entry


@dataclass
class _Authority:
    cert: x509.Certificate
    key: keys.PrivateKeyInfo


class _Status(RevocationInfoInterface):
    def __init__(self, issuer: x509.Certificate, revoked: dict[int, Revocation]) -> None:
        self.issuer = issuer
        self.revoked = revoked

    def get_issuer_cert(self) -> x509.Certificate:
        return self.issuer

    def check_revocation_status(
        self, cid: ocsp.CertId, at_time: dt.datetime
    ) -> tuple[ocsp.CertStatus, list[ocsp.SingleResponseExtension]]:
        found = self.revoked.get(int(cid["serial_number"].native))
        if found is None or found.revoked_at > at_time:
            return ocsp.CertStatus(name="good", value=None), []
        info = ocsp.RevokedInfo(
            {"revocation_time": found.revoked_at, "revocation_reason": found.reason}
        )
        return ocsp.CertStatus(name="revoked", value=info), []


class DevCA:
    """The answers of the development CA in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self._authorities = {
            name: _Authority(
                load_cert_from_pemder(str(self.directory / f"{name}.pem")),  # type: ignore[no-untyped-call]
                load_private_key_from_pemder(str(self.directory / f"{name}.key"), passphrase=None),
            )
            for name in ("root", "intermediate")
        }
        manifest = pki.read_manifest(self.directory / pki.MANIFEST_NAME)
        entry = manifest.get("tsa") or {"cert": "tsa.pem", "key": "tsa.key"}
        self._stamper = TimeStamper(
            tsa_cert=load_cert_from_pemder(  # type: ignore[no-untyped-call]
                str(self.directory / entry["cert"])
            ),
            tsa_key=load_private_key_from_pemder(
                str(self.directory / entry["key"]), passphrase=None
            ),
            certs_to_embed=[self._authorities["intermediate"].cert],
        )

    def _revoked(self, ca: CaName) -> dict[int, Revocation]:
        return {r.serial: r for r in revocations(self.directory) if r.issuer == ca}

    def cert(self, ca: CaName) -> bytes:
        return bytes(self._authorities[ca].cert.dump())

    def crl(self, ca: CaName, *, now: dt.datetime | None = None) -> bytes:
        authority = self._authorities[ca]
        now = (now or dt.datetime.now(dt.UTC)).replace(microsecond=0)
        builder = CRLBuilder(
            issuer_name=authority.cert.subject,
            issuer_key=authority.key,
            signature_algo=choose_signed_digest("sha256", authority.cert.public_key),
            authority_key_identifier=authority.cert.key_identifier_value,
        )
        revoked = [
            CRLBuilder.format_revoked_cert(
                r.serial, crl.CRLReason(r.reason), r.revoked_at.astimezone(dt.UTC)
            )
            for r in self._revoked(ca).values()
            if r.revoked_at <= now
        ]
        # the CRL number only grows: seconds since the epoch
        built = builder.build_crl(int(now.timestamp()), now, now + CRL_VALIDITY, revoked)
        return bytes(built.dump())

    def ocsp(self, ca: CaName, request: bytes, *, now: dt.datetime | None = None) -> bytes:
        authority = self._authorities[ca]
        try:
            req = ocsp.OCSPRequest.load(request)
            req.native  # noqa: B018 - parse it all now
        except Exception:
            error = SimpleOCSPResponder.build_error_response("malformed_request")  # type: ignore[no-untyped-call]
            return bytes(error.dump())
        responder = SimpleOCSPResponder(
            responder_cert=authority.cert,
            responder_key=authority.key,
            signature_algo=choose_signed_digest("sha256", authority.cert.public_key),
            at_time=(now or dt.datetime.now(dt.UTC)).replace(microsecond=0),
            revinfo_interface=_Status(authority.cert, self._revoked(ca)),
            validity=OCSP_VALIDITY,
        )
        return bytes(responder.build_ocsp_response(req).dump())

    def timestamp(self, request: bytes) -> bytes:
        req = tsp.TimeStampReq.load(request)
        req.native  # noqa: B018 - parse it all now
        return bytes(self._stamper.request_tsa_response(req).dump())


class DevCAServer(ThreadingHTTPServer):
    """The development CA on HTTP. ``mode`` ("ok", or "error": HTTP 500, "garbage": a body
    that is no answer) lets tests break the time-stamping authority; ``requests`` counts
    the TSA's requests."""

    daemon_threads = True

    def __init__(self, ca: DevCA, host: str, port: int, mode: Mode = "ok") -> None:
        super().__init__((host, port), _Handler)
        self.ca = ca
        self.mode: Mode = mode
        self.requests = 0
        self.lock = threading.Lock()
        bound_host, bound_port = self.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"

    @property
    def tsa_url(self) -> str:
        return pki.tsa_url(self.url)


def _ca_name(value: str) -> CaName | None:
    return cast(CaName, value) if value in ("root", "intermediate") else None


class _Handler(BaseHTTPRequestHandler):
    server: DevCAServer
    disable_nagle_algorithm = True  # small answers: no 40 ms wait for the client's ACK

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _not_found(self) -> None:
        self._answer(404, b"not found", "text/plain")

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        ca = self.server.ca
        if len(parts) == 2 and parts[0] == "crl" and parts[1].endswith(".crl"):
            name = _ca_name(parts[1].removesuffix(".crl"))
            if name is not None:
                self._answer(200, ca.crl(name), "application/pkix-crl")
                return
        if len(parts) == 2 and parts[0] == "certs" and parts[1].endswith(".cer"):
            name = _ca_name(parts[1].removesuffix(".cer"))
            if name is not None:
                self._answer(200, ca.cert(name), "application/pkix-cert")
                return
        if len(parts) >= 3 and parts[0] == "ocsp":
            name = _ca_name(parts[1])
            if name is not None:
                encoded = unquote("/".join(parts[2:]))  # RFC 6960 A.1: URL-encoded base64
                try:
                    request = base64.b64decode(encoded + "=" * (-len(encoded) % 4))
                except ValueError:
                    request = b""
                self._answer(200, ca.ocsp(name, request), "application/ocsp-response")
                return
        self._not_found()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        if parts == ["tsa"]:
            self._timestamp(body)
            return
        name = _ca_name(parts[1]) if len(parts) == 2 and parts[0] == "ocsp" else None
        if name is None:
            self._not_found()
            return
        self._answer(200, self.server.ca.ocsp(name, body), "application/ocsp-response")

    def _timestamp(self, body: bytes) -> None:
        with self.server.lock:
            self.server.requests += 1
        mode = self.server.mode
        if mode == "error":
            self._answer(500, b"internal error", "text/plain")
            return
        if mode == "garbage":
            self._answer(200, b"\x30\x03\x02\x01\x07garbage", "application/timestamp-reply")
            return
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self._answer(400, b"expected application/timestamp-query", "text/plain")
            return
        try:
            answer = self.server.ca.timestamp(body)
        except Exception as e:
            self._answer(400, f"bad request: {e}".encode(), "text/plain")
            return
        self._answer(200, answer, "application/timestamp-reply")


@contextmanager
def serving(
    directory: Path, *, host: str = "127.0.0.1", port: int = 0, mode: Mode = "ok"
) -> Iterator[DevCAServer]:
    """Serve the development CA in ``directory`` from a background thread until the block
    exits. ``port`` 0: any free port (the certificates then name whatever ``ca_url`` the PKI
    was made with: tests make the PKI for a free port first)."""
    with served_in_thread(DevCAServer(DevCA(directory), host, port, mode), "dev-ca") as server:
        yield server
