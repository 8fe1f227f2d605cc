"""Status changes reach the national portal, in order, against a real local HTTP server
that fails at times: each change is queued once by the read model's projection with the
national status code and the index fields, retried until acknowledged, and a dossier's
later changes wait behind an earlier one that failed."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from zoneinfo import ZoneInfo

from activities.contracts import RecordEventsInput
from activities.notifications import online_payment_code, portal_sync
from activities.read_model import PortalFacts, summary_of
from domain.catalog import Procedure, Role
from domain.dossier import Action, ActionInput, Actor, Channel
from domain.machine import DossierMachine
from services.portal import PortalSender
from store import repository as repo
from tests.factories import (
    AGENCY,
    CENTRE,
    dossier_input,
    officer,
    procedure,
    step,
    steps,
    synthetic_calendar,
)
from tests.serving import serving

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


def portal() -> AbstractContextManager[Portal]:
    return serving(Portal())


START = datetime(2030, 1, 7, 9, 0, tzinfo=TZ)  # a Monday


def handed_off(code: str, proc: Procedure | None = None) -> DossierMachine:
    """An online dossier filed at 09:00, accepted at 10:00, with the agency at 10:05."""
    start = START
    m = DossierMachine(
        dossier_input(code, start, synthetic_calendar(start.date()), proc, channel=Channel.ONLINE)
    )
    m.start(start)
    m.apply(
        Action.ACCEPT, ActionInput(actor=officer("intake_officer", CENTRE)), start.replace(hour=10)
    )
    m.handoff_acknowledged({"agency": AGENCY}, start.replace(hour=10, minute=5))
    return m


def test_status_changes_reach_the_portal_in_order_despite_failures(engine) -> None:
    start = START
    m = handed_off("000.00.01.H99-300107-0001")
    m.apply(
        Action.REQUEST_SUPPLEMENT,
        ActionInput(actor=officer("specialist", AGENCY), data={"missing": ["Bản vẽ"]}),
        start.replace(hour=14),
    )
    view = m.view(start.replace(hour=15))
    # One batch: the view is the dossier after all of them; each message says what was
    # so at its own event (the supplement request is the last one's news only).
    events = list(m.drain())
    messages = [
        msg
        for i, e in enumerate(events)
        if (msg := portal_sync(e, view, "https://motcua.example", later=events[i + 1 :]))
    ]
    bodies = [json.loads(msg.body) for msg in messages]
    statuses = [b["TrangThaiHoSo"] for b in bodies]
    assert statuses == [1, 2, 4, 5]  # submitted, received, in progress, supplement requested
    assert [b["SoLanYeuCauBoSung"] for b in bodies] == [0, 0, 0, 1]
    assert [len(b["YeuCauBoSung"]) for b in bodies] == [0, 0, 0, 1]
    assert [b["NgayTiepNhan"] is not None for b in bodies] == [False, True, True, True]
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


def synced(
    engine: Any, m: DossierMachine, now: datetime
) -> tuple[RecordEventsInput, list[dict[str, Any]]]:
    """The machine's new events as one batch of the read model's projection, and the
    bodies of the sync messages it queues for them (through PortalFacts, as the
    activity does: earlier batches are read from the read model)."""
    events = list(m.drain())
    inp = RecordEventsInput(dossier=m.view(now), applicant=m.inp.applicant, events=events)
    facts = PortalFacts(engine, m.inp.code)
    sent = [msg for i, e in enumerate(events) if (msg := facts.sync(e, inp, "https://x.vn/", i))]
    return inp, [json.loads(msg.body) for msg in sent]


def test_the_online_payment_flag_stays_once_a_gateway_confirmed_it(engine) -> None:
    """DuocThanhToanTrucTuyen: 0 until the gateway confirms the payment, then 1 (the
    national Payment Platform) on that message and on every later one, also in later
    batches, which learn it from the read model."""
    start = START
    proc = procedure(
        steps=steps(
            step("handoff", "handoff", "system", 0.5),
            step("appraisal", "appraisal", "specialist", 2),
            step("payment", "payment", "applicant", 5, agency="centre", pauses_clock=True),
            step("approval", "approval", "leader", 1),
        )
    )
    code = "000.00.20.H99-300107-0002"
    m = handed_off(code, proc)
    m.apply(
        Action.APPRAISE,
        ActionInput(
            actor=officer("specialist", AGENCY),
            data={"opinion": "Đủ điều kiện", "recommendation": "grant"},
        ),
        start.replace(hour=11),
    )
    gateway = Actor(id="payment-gateway", name="Cổng thanh toán", role=Role.SYSTEM)
    m.apply(
        Action.PAY,
        ActionInput(actor=gateway, data={"receipt_number": "BL-1", "method": "dvcqg"}),
        start.replace(hour=14),
    )
    inp, sent = synced(engine, m, start.replace(hour=14, minute=1))
    flags = [(b["TrangThaiHoSo"], b["DuocThanhToanTrucTuyen"]) for b in sent]
    assert flags[-1] == (4, 1) and {f for _, f in flags[:-1]} == {0}, flags
    repo.record_events(engine, inp.events, summary_of(inp))

    m.apply(
        Action.REJECT,
        ActionInput(actor=officer("leader", AGENCY), comment="Không đủ điều kiện"),
        start.replace(hour=15),
    )
    _, sent = synced(engine, m, start.replace(hour=15, minute=1))
    assert sent and {b["DuocThanhToanTrucTuyen"] for b in sent} == {1}
    assert online_payment_code("vietqr") == 2 and online_payment_code(None) == 0
    assert repo.online_payment_method(engine, code) == "dvcqg"
