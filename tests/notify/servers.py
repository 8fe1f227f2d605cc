"""Real local servers the notification tests deliver to: an SMTP server (aiosmtpd, with
STARTTLS and login when asked) and an SMS brandname gateway (http.server) that answers
as scripted: taken, HTTP 500, too slow (the sender's timeout), or refused."""

from __future__ import annotations

import datetime as dt
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.serving import serving

SMTP_USER, SMTP_PASSWORD = "motcua", "mat-khau-thu"


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.original_content, policy=policy.default)
        with self.lock:
            self.messages.append(msg)  # type: ignore[arg-type]
            self.recipients.append(list(envelope.rcpt_tos))
        return "250 OK"


def _authenticate(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (
        auth_data.login.decode(),
        auth_data.password.decode(),
    ) == (SMTP_USER, SMTP_PASSWORD)
    return AuthResult(success=ok, handled=False)


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    import ipaddress

    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "smtp-cert.pem", tmp / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(
    tls_dir: Path | None = None, *, implicit_tls: bool = False
) -> Iterator[tuple[Mailbox, int]]:
    """An SMTP server on a free port; with `tls_dir`, it offers STARTTLS (a self-signed
    certificate written there), or speaks TLS from the start with `implicit_tls`, and
    requires login."""
    box = Mailbox()
    kwargs: dict[str, Any] = {}
    if tls_dir is not None:
        cert, key = self_signed(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        tls: dict[str, Any] = (
            # aiosmtpd does not count implicit TLS as TLS for AUTH (it warns about it)
            {"ssl_context": context, "auth_require_tls": False}
            if implicit_tls
            else {"tls_context": context, "require_starttls": True}
        )
        kwargs = {**tls, "authenticator": _authenticate, "auth_required": True}
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


class Gateway(ThreadingHTTPServer):
    """Answers each POST with the next scripted behaviour (the last one repeats):
    "ok" (CodeResult 100), "500", "400", "slow" (longer than the sender waits),
    "refuse" (HTTP 200, CodeResult 103: out of balance)."""

    daemon_threads = True

    def __init__(self, script: list[str], slow_seconds: float = 2.0) -> None:
        super().__init__(("127.0.0.1", 0), GatewayHandler)
        self.script = script
        self.slow_seconds = slow_seconds
        self.requests: list[dict[str, Any]] = []
        self.taken: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/MainService.svc/json/send"

    def next_behaviour(self, body: dict[str, Any]) -> str:
        with self.lock:
            n = len(self.requests)
            self.requests.append(body)
            return self.script[min(n, len(self.script) - 1)]


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        behaviour = self.server.next_behaviour(body)
        if behaviour == "slow":
            time.sleep(self.server.slow_seconds)
        if behaviour == "500":
            self._answer(500, {"error": "internal"})
        elif behaviour == "400":
            self._answer(400, {"CodeResult": "99", "ErrorMessage": "bad request"})
        elif behaviour == "refuse":
            self._answer(200, {"CodeResult": "103", "ErrorMessage": "Balance not enough"})
        else:
            with self.server.lock:
                self.server.taken.append(body)
            self._answer(200, {"CodeResult": "100", "SMSID": f"sms-{len(self.server.taken)}"})


def sms_gateway(*script: str, slow_seconds: float = 2.0) -> AbstractContextManager[Gateway]:
    return serving(Gateway(list(script) or ["ok"], slow_seconds))
