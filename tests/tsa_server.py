"""A real local RFC 3161 time-stamping authority over HTTP, for tests.

``running_tsa(pki_dir)`` serves on 127.0.0.1 (an ephemeral port) in a background thread and
yields its URL. It answers ``application/timestamp-query`` POSTs with
``application/timestamp-reply`` tokens signed by the development PKI's TSA certificate
(``tsa.pem``/``tsa.key``, as ``keys.yaml`` names them), through pyHanko's ``DummyTimeStamper``.

Modes: ``"ok"``; ``"error"`` answers HTTP 500; ``"garbage"`` answers 200 with the right content
type and a body that is no timestamp response.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Literal

from asn1crypto import tsp
from pyhanko.keys import load_cert_from_pemder, load_private_key_from_pemder
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore

from signatures.pki import MANIFEST_NAME, read_manifest

Mode = Literal["ok", "error", "garbage"]


def _stamper(pki_dir: Path) -> DummyTimeStamper:
    manifest = read_manifest(pki_dir / MANIFEST_NAME)
    entry = manifest.get("tsa") or {"cert": "tsa.pem", "key": "tsa.key"}
    chain = [pki_dir / c for c in manifest.get("chain", ["intermediate.pem"])]
    return DummyTimeStamper(
        tsa_cert=load_cert_from_pemder(str(pki_dir / entry["cert"])),
        tsa_key=load_private_key_from_pemder(str(pki_dir / entry["key"]), passphrase=None),
        certs_to_embed=SimpleCertificateStore.from_certs(
            [load_cert_from_pemder(str(c)) for c in chain]
        ),
    )


class _TSAServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stamper: DummyTimeStamper, mode: Mode) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stamper = stamper
        self.mode: Mode = mode
        self.requests = 0
        self.lock = threading.Lock()
        self.url = ""


class _Handler(BaseHTTPRequestHandler):
    server: _TSAServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
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
            request = tsp.TimeStampReq.load(body)
            request.native  # noqa: B018 - parse it all now
            response = self.server.stamper.request_tsa_response(request)
        except Exception as e:
            self._answer(400, f"bad request: {e}".encode(), "text/plain")
            return
        self._answer(200, response.dump(), "application/timestamp-reply")


@contextmanager
def running_tsa(pki_dir: Path, *, mode: Mode = "ok") -> Iterator[str]:
    """Serve a TSA backed by ``pki_dir``'s TSA certificate; yield its URL."""
    with tsa_server(pki_dir, mode=mode) as server:
        yield server.url


@contextmanager
def tsa_server(pki_dir: Path, *, mode: Mode = "ok") -> Iterator[_TSAServer]:
    """The same, yielding the server: tests may change its `mode` and read `requests`."""
    server = _TSAServer(_stamper(Path(pki_dir)), mode)
    thread = threading.Thread(target=server.serve_forever, name="test-tsa", daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        server.url = f"http://{host!s}:{port}/tsa"
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
