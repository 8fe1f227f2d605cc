"""A stand-in national portal (Cổng DVCQG): a real HTTP server on 127.0.0.1:<free port>,
in its own thread, that behaves as the portal does towards a province's back office, and
misbehaves on demand.

- GET  /dvcqg/hoso?since=<cursor>&limit=<n>: the dossiers filed since the cursor (the
  pull), `{"items": [...], "next_cursor": "<n>", "more": bool}`; the feed may list a
  dossier twice, or a later one first (`file`);
- GET  /dvcqg/tep/<name>: a dossier's document file;
- POST /dvcqg/dongbo: a status update from the back office (the outbox sender), kept
  with its Idempotency-Key once acknowledged;
- `push()`: the portal delivering a dossier to motcua's POST /v1/portal/dossiers, signed
  as MOTCUA_PORTAL_PUSH_AUTH=hmac says, retried as the portal retries until taken.

Faults: `fail(route, *faults)` queues what the next requests of a route get instead of
an answer: an HTTP status (500, 503, ...) or "timeout" (the answer comes after
`slow_seconds`, later than the client waits). `fail_every` makes every n-th status
update a 500. Every request is counted per route (`calls`)."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict, deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from api.routes.portal import sign

FEED, FILES, STATUS = "feed", "files", "status"


class PortalSimulator(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, token: str = "portal-token") -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.token = token
        self.lock = threading.Lock()
        self.feed: list[dict[str, Any]] = []
        self.files: dict[str, bytes] = {}
        self.acknowledged: list[tuple[str, dict[str, Any]]] = []
        self.faults: dict[str, deque[int | str]] = defaultdict(deque)
        self.calls: Counter[str] = Counter()
        self.unauthorised = 0
        self.slow_seconds = 3.0
        self.fail_every = 0  # every n-th status update answers 500 (0: never)
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    # -- the portal's side ------------------------------------------------------------

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    @property
    def feed_url(self) -> str:
        return f"{self.base}/dvcqg/hoso"

    @property
    def status_url(self) -> str:
        return f"{self.base}/dvcqg/dongbo"

    def add_file(self, name: str, content: bytes) -> str:
        self.files[name] = content
        return f"{self.base}/dvcqg/tep/{urllib.parse.quote(name)}"

    def file(self, *dossiers: dict[str, Any]) -> None:
        """List dossiers in the pull's feed, in this order (duplicates and all)."""
        with self.lock:
            self.feed.extend(dossiers)

    def fail(self, route: str, *faults: int | str) -> None:
        with self.lock:
            self.faults[route].extend(faults)

    def statuses_of(self, portal_code: str) -> list[dict[str, Any]]:
        with self.lock:
            return [body for _, body in self.acknowledged if body.get("MaHoSo") == portal_code]

    def push(
        self, url: str, dossier: dict[str, Any], secret: str, *, attempts: int = 20
    ) -> tuple[int, dict[str, Any]]:
        """Deliver a dossier to the back office, as the portal does: signed, and again
        after an answer that asks for it (5xx, no answer) until it is taken or refused."""
        body = json.dumps(dossier, ensure_ascii=False).encode()
        for _ in range(attempts):
            stamp = str(int(time.time()))
            request = urllib.request.Request(
                url,
                data=body,
                method="POST",
                headers={
                    "Content-Type": "application/json",
                    "X-Portal-Timestamp": stamp,
                    "X-Portal-Signature": sign(secret, stamp, body),
                },
            )
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    return response.status, json.loads(response.read())
            except urllib.error.HTTPError as exc:
                if exc.code < 500:
                    return exc.code, json.loads(exc.read())
            except (urllib.error.URLError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"the back office never took {dossier.get('MaHoSo')}")

    # -- the server ---------------------------------------------------------------------

    def __enter__(self) -> PortalSimulator:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    def _fault(self, route: str) -> int | str | None:
        with self.lock:
            self.calls[route] += 1
            if self.faults[route]:
                return self.faults[route].popleft()
            if route == STATUS and self.fail_every and self.calls[route] % self.fail_every == 0:
                return 500
        return None


class _Handler(BaseHTTPRequestHandler):
    server: PortalSimulator

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", media_type: str = "application/json") -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", media_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a "timeout" fault)

    def _faulted(self, route: str) -> bool:
        """Whether this request got a fault instead of its answer."""
        if self.headers.get("Authorization") != f"Bearer {self.server.token}":
            self.server.unauthorised += 1
            self._answer(401)
            return True
        fault = self.server._fault(route)
        if fault is None:
            return False
        if fault == "timeout":
            time.sleep(self.server.slow_seconds)
            fault = 504
        self._answer(int(fault))
        return True

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.path == "/dvcqg/hoso":
            if self._faulted(FEED):
                return
            query = urllib.parse.parse_qs(url.query)
            since = int(query.get("since", ["0"])[0])
            limit = int(query.get("limit", ["50"])[0])
            with self.server.lock:
                items = self.server.feed[since : since + limit]
                total = len(self.server.feed)
            after = since + len(items)
            page = {"items": items, "next_cursor": str(after), "more": after < total}
            self._answer(200, json.dumps(page, ensure_ascii=False).encode())
        elif url.path.startswith("/dvcqg/tep/"):
            if self._faulted(FILES):
                return
            name = urllib.parse.unquote(url.path.removeprefix("/dvcqg/tep/"))
            content = self.server.files.get(name)
            if content is None:
                self._answer(404)
            else:
                self._answer(200, content, "application/octet-stream")
        else:
            self._answer(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path != "/dvcqg/dongbo":
            self._answer(404)
            return
        if self._faulted(STATUS):
            return
        with self.server.lock:
            self.server.acknowledged.append((self.headers["Idempotency-Key"], json.loads(body)))
        self._answer(200, b"{}")
