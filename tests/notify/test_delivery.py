"""Notifications reach people: a dossier's outbox rows, queued by the read model as the
dossier moves, are delivered by the sender to a real local SMTP server and a real local
SMS gateway, in Vietnamese, once each; a gateway that fails is retried with backoff and
then given up with its last error; two senders at once never send a row twice; with
nothing configured, the rows wait and the worker says so once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from activities.notifications import notifications_for
from domain.dossier import Action, ActionInput, Channel
from domain.machine import DossierMachine
from infra.settings import Settings
from infra.telemetry.metrics import REGISTRY
from services.notify import (
    NotificationSender,
    RetryPolicy,
    notification_sender,
    start_notifications,
)
from services.notify.channels import message_key, transports_from
from store import repository as repo
from store.models import OutboxRow
from store.repository.outbox_delivery import list_outbox_delivery, retry_outbox
from store.schemas import OutboxMessage
from tests.factories import CENTRE, dossier_input, officer, synthetic_calendar
from tests.notify.servers import SMTP_PASSWORD, SMTP_USER, sms_gateway, smtp_server

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.01.H99-300107-0001"
EMAIL = "an.nguyen@example.vn"
PHONE = "0912345678"
BASE = "https://motcua.example.gov.vn"


def queue_accepted_dossier(engine: Engine) -> datetime:
    """An online dossier submitted and accepted on Monday 07/01/2030; its notifications
    queued as the read model queues them. Returns the acceptance time."""
    start = datetime(2030, 1, 7, 9, 0, tzinfo=TZ)
    inp = dossier_input(CODE, start, synthetic_calendar(start.date()), channel=Channel.ONLINE)
    applicant = inp.applicant.model_copy(update={"email": EMAIL, "phone": PHONE})
    inp = inp.model_copy(update={"applicant": applicant})
    m = DossierMachine(inp)
    m.start(start)
    accepted = start.replace(hour=10)
    m.apply(Action.ACCEPT, ActionInput(actor=officer("intake_officer", CENTRE)), accepted)
    view = m.view(accepted)
    outbox = [msg for e in m.drain() for msg in notifications_for(e, view, applicant)]
    repo.add_outbox(engine, outbox)
    return accepted


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(state_dir=tmp_path / "state", public_base_url=BASE, **values)  # type: ignore[arg-type]


class Clock:
    """The sender's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = datetime(2030, 1, 7, 3, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def tls_smtp(tmp_path: Path, port: int, password: str, **values: object) -> Settings:
    """Settings for the local server's STARTTLS and login (its certificate in tmp_path)."""
    return settings(
        tmp_path,
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_ca_file=tmp_path / "smtp-cert.pem",
        smtp_user=SMTP_USER,
        smtp_password=password,
        **{"smtp_security": "starttls", **values},
    )


def sender_for(s: Settings, engine: Engine, clock: Clock | None = None) -> NotificationSender:
    sender = notification_sender(s, engine)
    assert sender is not None
    if clock is not None:
        sender.clock = clock
    return sender


def one(engine: Engine, channel: str) -> OutboxRow:
    rows = [r for r in list_outbox_delivery(engine, "all", channel=channel)]
    assert len(rows) == 1, rows
    return rows[0]


async def test_email_reaches_the_smtp_server_in_vietnamese(engine: Engine, tmp_path: Path) -> None:
    queue_accepted_dossier(engine)
    with smtp_server(tls_dir=tmp_path) as (box, port):
        s = tls_smtp(
            tmp_path,
            port,
            SMTP_PASSWORD,
            smtp_from="Trung tâm Phục vụ hành chính công tỉnh <motcua@hcc.example.gov.vn>",
        )
        result = await sender_for(s, engine).deliver_round()
    assert (result.sent, result.failed, result.retrying) == (1, 0, 0)
    assert box.recipients == [[EMAIL]]
    msg = box.messages[0]
    assert msg["Subject"] == f"[{CODE}] Hồ sơ đã được tiếp nhận"
    assert msg["From"].addresses[0].addr_spec == "motcua@hcc.example.gov.vn"
    assert msg["Content-Language"] == "vi"
    body = msg.get_content()
    assert body.startswith("Kính gửi Ông/Bà,")
    assert f"Mã hồ sơ {CODE}" in body
    # The appointment and the event's time as people read them here.
    appointment = one(engine, "email").body.split("Ngày hẹn trả: ")[1].rstrip(".")
    assert re.fullmatch(r"\d\d:\d\d \d\d/01/2030", appointment), appointment
    assert f"Ngày hẹn trả: {appointment}." in body
    assert "Thời điểm: 10:00 07/01/2030" in body
    assert f"{BASE}/ui/track?code={CODE}" in body
    assert "Trung tâm Phục vụ hành chính công tỉnh" in body
    # Nothing about the applicant beyond what they need.
    assert "Nguyễn Văn An" not in msg.as_string() and "001090000001" not in msg.as_string()

    row = one(engine, "email")
    assert row.sent_at is not None and row.attempts == 1 and row.last_error is None
    assert row.claimed_by is None
    # SMS is not configured: its row waits, untried; the portal rows too.
    sms = one(engine, "sms")
    assert sms.sent_at is None and sms.attempts == 0
    assert all(r.attempts == 0 for r in list_outbox_delivery(engine, channel="portal"))


async def test_a_wrong_smtp_password_is_retried_not_given_up(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    queue_accepted_dossier(sqlite_engine)
    with smtp_server(tls_dir=tmp_path) as (box, port):
        s = tls_smtp(tmp_path, port, "sai-mat-khau")
        result = await sender_for(s, sqlite_engine).deliver_round()
    assert (result.sent, result.retrying, result.failed) == (0, 1, 0)
    row = one(sqlite_engine, "email")
    assert row.failed_at is None and row.next_attempt_at is not None
    assert row.last_error and row.last_error.startswith("SMTP 535")
    assert box.messages == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")
async def test_email_over_implicit_tls(sqlite_engine: Engine, tmp_path: Path) -> None:
    queue_accepted_dossier(sqlite_engine)
    with smtp_server(tls_dir=tmp_path, implicit_tls=True) as (box, port):
        s = tls_smtp(tmp_path, port, SMTP_PASSWORD, smtp_security="ssl")
        result = await sender_for(s, sqlite_engine).deliver_round()
    assert result.sent == 1 and box.recipients == [[EMAIL]]


async def test_sms_reaches_the_gateway_after_a_failure_and_a_timeout(
    engine: Engine, tmp_path: Path
) -> None:
    queue_accepted_dossier(engine)
    clock = Clock()
    with sms_gateway("500", "slow", "ok", slow_seconds=2.0) as gateway:
        s = settings(
            tmp_path,
            sms_gateway_url=gateway.url,
            sms_api_key="khoa-api",
            sms_secret_key="khoa-bi-mat",
            sms_brandname="HCC-TINH",
            sms_timeout_seconds=0.5,
            notify_backoff_seconds=30,
        )
        sender = sender_for(s, engine, clock)
        first = await sender.deliver_round()
        assert (first.sent, first.retrying) == (0, 1)
        row = one(engine, "sms")
        assert row.last_error == "SMS gateway HTTP 500" and row.attempts == 1
        assert row.next_attempt_at == clock.now + timedelta(seconds=30)

        clock.advance(29)  # not due yet: nothing is tried
        assert (await sender.deliver_round()).retrying == 0
        assert len(gateway.requests) == 1

        clock.advance(1)
        second = await sender.deliver_round()
        assert second.retrying == 1
        row = one(engine, "sms")
        assert row.last_error and "unreachable" in row.last_error and "timed out" in row.last_error
        assert row.next_attempt_at == clock.now + timedelta(seconds=60)  # the backoff doubled

        clock.advance(60)
        third = await sender.deliver_round()
    assert third.sent == 1
    row = one(engine, "sms")
    assert row.sent_at == clock.now and row.attempts == 3 and row.last_error is None

    assert len(gateway.requests) == 3 and len(gateway.taken) == 1
    taken = gateway.taken[0]
    assert {r["RequestId"] for r in gateway.requests} == {message_key(row)}  # it can dedupe
    assert PHONE not in message_key(row)
    assert taken["ApiKey"] == "khoa-api" and taken["SecretKey"] == "khoa-bi-mat"
    assert taken["Brandname"] == "HCC-TINH" and taken["SmsType"] == "2"
    assert taken["Phone"] == PHONE and taken["IsUnicode"] == "0"
    text = taken["Content"]
    assert text.startswith(f"Ho so da duoc tiep nhan. Ma ho so {CODE}. Ngay hen tra: ")
    assert text.isascii() and len(text) <= 2 * 153
    assert text.endswith(f"Tra cuu: {BASE}/ui/track?code={CODE}")
    assert "Nguyen Van An" not in text and "001090000001" not in text


async def test_a_failing_gateway_is_given_up_with_its_last_error_then_retried_by_hand(
    engine: Engine, tmp_path: Path
) -> None:
    queue_accepted_dossier(engine)
    clock = Clock()
    with sms_gateway("500", "500", "refuse", "ok") as gateway:
        s = settings(
            tmp_path,
            sms_gateway_url=gateway.url,
            sms_api_key="k",
            notify_max_attempts=3,
            notify_backoff_seconds=10,
        )
        sender = sender_for(s, engine, clock)
        failed_before = failed_metric()
        outcomes = []
        for _ in range(5):
            outcomes.append(await sender.deliver_round())
            clock.advance(3600)
        assert [(r.retrying, r.failed) for r in outcomes] == [
            (1, 0),
            (1, 0),
            (0, 1),
            (0, 0),
            (0, 0),
        ]
        row = one(engine, "sms")
        assert row.failed_at is not None and row.sent_at is None and row.attempts == 3
        assert row.last_error == "SMS gateway refused: CodeResult 103 Balance not enough"
        assert [r.id for r in list_outbox_delivery(engine, "failed")] == [row.id]
        assert len(gateway.requests) == 3  # nothing after giving up
        assert failed_metric() == failed_before + 1

        # The operator tops up the balance and retries: it goes.
        assert retry_outbox(engine, [row.id], at=clock.now) == 1
        assert (await sender.deliver_round()).sent == 1
    row = one(engine, "sms")
    assert row.sent_at is not None and row.failed_at is None and row.attempts == 1


async def test_a_request_the_gateway_rejects_is_given_up_at_once(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    queue_accepted_dossier(sqlite_engine)
    with sms_gateway("400") as gateway:
        s = settings(tmp_path, sms_gateway_url=gateway.url, sms_api_key="k")
        result = await sender_for(s, sqlite_engine).deliver_round()
    assert result.failed == 1 and len(gateway.requests) == 1
    row = one(sqlite_engine, "sms")
    assert row.failed_at is not None and row.last_error == "SMS gateway HTTP 400"


def failed_metric() -> float:
    value = REGISTRY.get_sample_value(
        "motcua_notifications_total", {"channel": "sms", "outcome": "failed"}
    )
    return value or 0.0


def many(engine: Engine, n: int) -> list[str]:
    """`n` email and `n` SMS notifications of `n` dossiers."""
    at = datetime(2030, 1, 7, 3, 0, tzinfo=UTC)
    messages = []
    for i in range(n):
        code = f"000.00.01.H99-300107-{i:04d}"
        for channel, address in (("email", f"a{i}@example.vn"), ("sms", f"09123{i:05d}")):
            messages.append(
                OutboxMessage(
                    dossier_code=code,
                    event_id=f"{code}:2",
                    recipient=f"{channel}:{address}",
                    channel=channel,
                    subject="Hồ sơ đã được tiếp nhận",
                    body=f"Hồ sơ đã được tiếp nhận. Mã hồ sơ {code}.",
                    created_at=at + timedelta(seconds=i),
                )
            )
    repo.add_outbox(engine, messages)
    return sorted(m.id for m in messages)


async def test_two_senders_at_once_never_send_a_row_twice(engine: Engine, tmp_path: Path) -> None:
    ids = many(engine, 24)
    with smtp_server() as (box, port), sms_gateway("ok") as gateway:
        s = settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            sms_gateway_url=gateway.url,
            sms_api_key="k",
            notify_batch=5,
        )
        a, b = sender_for(s, engine), sender_for(s, engine)
        assert a.name != b.name
        for _ in range(20):
            rounds = await asyncio.gather(a.deliver_round(), b.deliver_round())
            if not list_outbox_delivery(engine, "pending"):
                break
        assert all(r.lost == 0 for r in rounds)
    mail_ids = [m["Message-ID"] for m in box.messages]
    assert len(mail_ids) == 24 and len(set(mail_ids)) == 24
    sms_ids = [r["RequestId"] for r in gateway.requests]
    assert len(sms_ids) == 24 and len(set(sms_ids)) == 24
    sent = list_outbox_delivery(engine, "sent", limit=1000)
    assert sorted(r.id for r in sent) == ids
    assert all(r.attempts == 1 for r in sent)


def test_with_nothing_configured_the_rows_wait_and_the_worker_says_why_once(
    sqlite_engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    queue_accepted_dossier(sqlite_engine)
    with caplog.at_level(logging.WARNING, logger="services.notify"):
        assert notification_sender(settings(tmp_path), sqlite_engine) is None
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines
    assert any("email" in x and "MOTCUA_SMTP_HOST is not set" in x for x in lines)
    assert any("sms" in x and "MOTCUA_SMS_GATEWAY_URL is not set" in x for x in lines)
    assert any(x.startswith("notifications: portal:") and "stay pending" in x for x in lines)
    pending = list_outbox_delivery(sqlite_engine)
    assert {r.channel for r in pending} == {"email", "sms", "portal"}
    assert all(r.attempts == 0 for r in pending)


def test_a_third_party_transport_plugs_into_the_registry(tmp_path: Path) -> None:
    from services.notify import channels

    class Portal:
        channel = "portal"

        async def send(self, row: OutboxRow) -> None:
            return None

    make: Callable[[Settings], Portal] = lambda _s: Portal()  # noqa: E731
    channels.register_transport("portal", make)
    try:
        made = transports_from(settings(tmp_path))
    finally:
        del channels.TRANSPORTS["portal"]
    assert list(made) == ["portal"]


def test_retry_policy_doubles_up_to_its_ceiling_and_stops() -> None:
    policy = RetryPolicy(
        max_attempts=5, backoff=timedelta(seconds=30), backoff_max=timedelta(seconds=100)
    )
    now = datetime(2030, 1, 1, tzinfo=UTC)
    waits = [policy.retry_at(n, now) for n in range(1, 6)]
    assert [(w - now).total_seconds() if w else None for w in waits] == [30, 60, 100, 100, None]


async def test_the_centre_workers_sender_delivers_by_itself(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """What motcua/stack.py starts beside the centre's worker: rounds until cancelled."""
    queue_accepted_dossier(sqlite_engine)
    with smtp_server() as (box, port):
        s = settings(
            tmp_path,
            smtp_host="127.0.0.1",
            smtp_port=port,
            smtp_security="none",
            notify_interval_seconds=0.05,
        )
        task = start_notifications(s, sqlite_engine)
        assert task is not None
        try:
            for _ in range(400):  # up to ~20 s on a loaded machine
                if one(sqlite_engine, "email").sent_at is not None:
                    break
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert one(sqlite_engine, "email").sent_at is not None
    assert len(box.messages) == 1


async def test_stale_news_is_not_sent_unless_an_operator_asks(
    sqlite_engine: Engine, tmp_path: Path
) -> None:
    """A backlog from before SMS was configured: the 'received' SMS of a dossier accepted
    four days ago is not sent on its own; an operator's retry sends it."""
    queue_accepted_dossier(sqlite_engine)  # 07/01/2030
    clock = Clock()
    clock.advance(4 * 24 * 3600)
    with sms_gateway("ok") as gateway:
        s = settings(tmp_path, sms_gateway_url=gateway.url, sms_api_key="k")
        sender = sender_for(s, sqlite_engine, clock)
        assert (await sender.deliver_round()).failed == 1
        row = one(sqlite_engine, "sms")
        assert row.failed_at is not None and gateway.requests == []
        assert row.last_error and row.last_error.startswith("not sent: older than 3 days")
        assert retry_outbox(sqlite_engine, [row.id], at=clock.now) == 1
        assert (await sender.deliver_round()).sent == 1
    assert len(gateway.taken) == 1
