"""A small HTTP server run in a background thread for the length of a block: the
development CA's services (signatures/dev_ca.py) and the tests' stand-ins for outside
services."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import HTTPServer
from typing import TypeVar

S = TypeVar("S", bound=HTTPServer)


@contextmanager
def served_in_thread(server: S, name: str = "http") -> Iterator[S]:
    """Serve ``server`` from a daemon thread until the block exits, then shut it down and
    close its socket."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
