"""Status changes reach the national portal, in order, against a real local HTTP server
that fails at times: each change is queued once by the read model's projection with the
national status code and the index fields, retried until acknowledged, and a dossier's
later changes wait behind an earlier one that failed."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

from activities.notifications import portal_sync
from domain.dossier import Action, ActionInput, Channel
from domain.machine import DossierMachine
from services.portal import PortalSender
from store import repository as repo
from tests.factories import AGENCY, CENTRE, dossier_input, officer, synthetic_calendar

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


class Portal(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.calls = 0
        self.acknowledged: list[tuple[str, dict[str, object]]] = []
        self.fail_every = 2  # every second request answers 500

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/dvcqg/hoso"


class Handler(BaseHTTPRequestHandler):
    server: Portal

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.calls += 1
        if self.server.calls % self.server.fail_every == 0:
            self.send_response(500)
            self.end_headers()
            return
        self.server.acknowledged.append((self.headers["Idempotency-Key"], json.loads(body)))
        self.send_response(200)
        self.end_headers()


@contextmanager
def portal() -> Iterator[Portal]:
    server = Portal()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_status_changes_reach_the_portal_in_order_despite_failures(engine) -> None:
    start = datetime(2030, 1, 7, 9, 0, tzinfo=TZ)  # a Monday
    m = DossierMachine(
        dossier_input(
            "000.00.01.H99-300107-0001",
            start,
            synthetic_calendar(start.date()),
            channel=Channel.ONLINE,
        )
    )
    m.start(start)
    m.apply(
        Action.ACCEPT, ActionInput(actor=officer("intake_officer", CENTRE)), start.replace(hour=10)
    )
    m.handoff_acknowledged({"agency": AGENCY}, start.replace(hour=10, minute=5))
    m.apply(
        Action.REQUEST_SUPPLEMENT,
        ActionInput(actor=officer("specialist", AGENCY), data={"missing": ["Bản vẽ"]}),
        start.replace(hour=14),
    )
    view = m.view(start.replace(hour=15))
    messages = [msg for e in m.drain() if (msg := portal_sync(e, view, "https://motcua.example"))]
    statuses = [json.loads(msg.body)["TrangThaiHoSo"] for msg in messages]
    assert statuses == [1, 2, 4, 5]  # submitted, received, in progress, supplement requested
    repo.add_outbox(engine, messages)
    repo.add_outbox(engine, messages)  # a retried projection queues nothing twice

    with portal() as server:
        sender = PortalSender(engine, server.url, token="t")
        rounds = []
        for _ in range(10):
            rounds.append(sender.deliver_pending())
            if not repo.list_pending_outbox(engine, channel="dvcqg"):
                break
    assert any(r.failed for r in rounds) and any(r.waiting for r in rounds)  # it did fail
    ids = [key for key, _ in server.acknowledged]
    assert ids == [msg.id for msg in messages]  # each acknowledged once, in order
    last = server.acknowledged[-1][1]
    assert last["MaHoSo"] == "000.00.01.H99-300107-0001" and last["KenhThucHien"] == 2
    assert last["TrangThaiHoSo"] == 5 and last["SoLanYeuCauBoSung"] == 1
    assert last["YeuCauBoSung"] == [{"NgayYeuCau": "2030-01-07T14:00:00+07:00", "NgayBoSung": None}]
    assert last["NgayTiepNhan"] and last["DuongDanTepTinKetQua"] is None

    # The portal is down: nothing is lost, everything waits.
    repo.add_outbox(engine, [messages[0].model_copy(update={"id": "later:dvcqg"})])
    down = PortalSender(engine, "http://127.0.0.1:9/down", timeout=1).deliver_pending()
    assert (down.sent, down.failed) == (0, 1)
    assert [r.id for r in repo.list_pending_outbox(engine, channel="dvcqg")] == ["later:dvcqg"]
