"""A real local data source over HTTP, for tests: the national databases (population,
civil status, ...) as the data-exchange platform answers for them
(activities/datasources.py has the protocol).

``data_source()`` serves on 127.0.0.1 (an ephemeral port) in a background thread and
yields the server: tests add records (``add``), mark a record as disagreeing with what
citizens declare (``wrong``), make it fail for a while (``failures``), and read what it was
asked (``lookups``, the bodies; ``paths``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.http_serving import answer_json, serving


class DataSourceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.mismatched: dict[tuple[str, str], list[str]] = {}
        self.failures = 0  # answer 503 to this many lookups first
        self.lookups: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()
        self.url = ""

    def add(self, database: str, subject_id: str, record_id: str, **data: str) -> None:
        self.records[(database, subject_id)] = {"record_id": record_id, "data": data}

    def wrong(self, database: str, subject_id: str, fields: list[str]) -> None:
        """The record holds other values than the citizen declares: answer 409 mismatch."""
        self.mismatched[(database, subject_id)] = fields

    def asked_about(self, subject_id: str) -> list[dict[str, Any]]:
        """The lookups that named this person (dossier codes repeat across the test
        stacks of each database; the tests' ID numbers do not)."""
        with self.lock:
            return [b for b in self.lookups if subject_id in b.get("subject_ids", [])]


class _Handler(BaseHTTPRequestHandler):
    server: DataSourceServer

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        answer_json(self, status, body)

    def do_POST(self) -> None:
        server = self.server
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if server.token and self.headers.get("Authorization") != f"Bearer {server.token}":
            self._answer(401, {"error": "unauthorized"})
            return
        parts = self.path.strip("/").split("/")
        if len(parts) != 2 or parts[1] != "lookup":
            self._answer(404, {"error": "no such endpoint"})
            return
        database = parts[0]
        body = json.loads(raw)
        with server.lock:
            server.lookups.append(body)
            server.paths.append(self.path)
            if server.failures > 0:
                server.failures -= 1
                self._answer(503, {"error": "temporarily unavailable"})
                return
        subjects = body.get("subject_ids", [])
        fields = body.get("fields", [])
        found = [server.records.get((database, s)) for s in subjects]
        if not subjects or any(r is None for r in found):
            self._answer(404, {"error": "not found"})
            return
        wrong = sorted({f for s in subjects for f in server.mismatched.get((database, s), [])})
        if wrong:
            self._answer(409, {"mismatch": wrong})
            return
        records = [
            {"record_id": r["record_id"], "data": {f: r["data"].get(f) for f in fields}}
            for r in found
            if r is not None
        ]
        self._answer(200, {"records": records})


@contextmanager
def data_source(token: str | None = None) -> Iterator[DataSourceServer]:
    server = DataSourceServer(token)
    with serving(server, "test-data-source") as url:
        server.url = url
        yield server
