"""A real local RFC 3161 time-stamping authority over HTTP, for tests.

``running_tsa(pki_dir)`` serves on 127.0.0.1 (an ephemeral port) in a background thread and
yields its URL: the development CA's services (signatures/dev_ca.py), whose ``/tsa`` answers
``application/timestamp-query`` POSTs with tokens signed by the PKI's TSA certificate.

Modes: ``"ok"``; ``"error"`` answers HTTP 500; ``"garbage"`` answers 200 with the right content
type and a body that is no timestamp response.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from signatures.dev_ca import DevCAServer, Mode, serving


@contextmanager
def running_tsa(pki_dir: Path, *, mode: Mode = "ok") -> Iterator[str]:
    """Serve a TSA backed by ``pki_dir``'s TSA certificate; yield its URL."""
    with serving(Path(pki_dir), mode=mode) as server:
        yield server.tsa_url


@contextmanager
def tsa_server(pki_dir: Path, *, mode: Mode = "ok") -> Iterator[DevCAServer]:
    """The same, yielding the server: tests may change its `mode` and read `requests`
    (its `tsa_url` is the TSA's address)."""
    with serving(Path(pki_dir), mode=mode) as server:
        yield server
