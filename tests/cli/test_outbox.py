"""`motcua outbox`, as an operator runs it after a gateway outage: the failed
notifications with their last error (recipients masked), then retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from infra.settings import get_settings
from motcua.cli import app
from store.repository.outbox_delivery import (
    claim_outbox,
    list_outbox_delivery,
    outbox_attempt_failed,
)
from tests.store.test_outbox_delivery import T0, queue

runner = CliRunner()


@pytest.fixture
def database(operator_env: Engine) -> Engine:
    return operator_env


def outbox(*args: str):  # type: ignore[no-untyped-def]
    get_settings.cache_clear()
    return runner.invoke(app, ["outbox", *args])


def test_failed_notifications_are_listed_and_retried(database: Engine) -> None:
    ids = queue(database, 3)
    queue(database, 1, channel="email")
    for row in claim_outbox(database, ["sms"], sender="s", limit=2, now=T0):
        outbox_attempt_failed(
            database, row.id, sender="s", error="SMS gateway HTTP 500", retry_at=None, at=T0
        )

    result = outbox("list", "--state", "failed", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [n["ref"] for n in out["notifications"]] == [
        "D000:1:sms:09******00",
        "D001:1:sms:09******01",
    ]
    first = out["notifications"][0]
    assert first["state"] == "failed" and first["attempts"] == 1
    assert first["last_error"] == "SMS gateway HTTP 500"
    assert first["recipient"] == "09******00"  # masked
    assert "0912000000" not in result.stdout
    counts = {(c["channel"], c["state"]): c["count"] for c in out["counts"]}
    assert counts == {("sms", "failed"): 2, ("sms", "pending"): 1, ("email", "pending"): 1}

    text = outbox("list", "--state", "failed")
    assert text.exit_code == 0, text.output
    assert "lỗi gần nhất: SMS gateway HTTP 500" in text.stdout
    assert "0912000000" not in text.stdout and "2 thông báo gửi không thành công" in text.stdout
    assert "1 lần thử" in text.stdout and "10:00 07/01/2030" in text.stdout

    assert outbox("retry").exit_code == 2  # neither a dossier nor --all-failed
    one = outbox("retry", "--dossier", "D000")
    assert one.exit_code == 0 and "đã đưa lại 1 thông báo vào hàng đợi gửi" in one.stdout
    assert "đưa lại 0 thông báo" in outbox("retry", "--dossier", "D000").stdout  # not failed now
    assert "đưa lại 0 thông báo" in outbox("retry", "--all-failed", "--channel", "email").stdout
    assert "đưa lại 1 thông báo" in outbox("retry", "--all-failed").stdout
    pending = list_outbox_delivery(database, "pending", channel="sms")
    assert sorted(r.id for r in pending) == sorted(ids)
    assert all(r.attempts == 0 for r in pending if r.id in ids[:2])
    assert claim_outbox(database, ["sms"], sender="t", now=datetime.now(UTC) + timedelta(seconds=1))
