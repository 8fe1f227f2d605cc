"""A local HTTP server (http.server) answering from a thread for the length of a block:
the gateways and portals the tests deliver to (infra/http_thread.py, which the development
CA's services use too)."""

from __future__ import annotations

from contextlib import AbstractContextManager
from http.server import HTTPServer
from typing import TypeVar

from infra.http_thread import served_in_thread

S = TypeVar("S", bound=HTTPServer)


def serving(server: S) -> AbstractContextManager[S]:
    return served_in_thread(server, "test-http")
