"""What an SMS says, within what a brandname contract carries: Vietnamese without its
accents (GSM-7) or with them (UCS-2, when configured), cut at a word within the
configured segments, the dossier code kept and the tracking link kept when it fits."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.notify.templates import email, sms, sms_limit, tracking_url, unaccented
from store.models import OutboxRow

CODE = "000.00.01.H99-300107-0001"
BASE = "https://motcua.example.gov.vn"


def row(body: str, channel: str = "sms") -> OutboxRow:
    return OutboxRow(
        id=f"{CODE}:2:{channel}:0912345678",
        dossier_code=CODE,
        event_id=f"{CODE}:2",
        recipient=f"{channel}:0912345678",
        channel=channel,
        subject="Yêu cầu bổ sung, hoàn thiện hồ sơ",
        body=body,
        created_at=datetime(2030, 1, 7, 17, 30, tzinfo=UTC),  # 00:30 on the 8th in Viet Nam
    )


def test_unaccented_vietnamese() -> None:
    assert unaccented("Hồ sơ đã được tiếp nhận — Đơn đề nghị") == (
        "Ho so da duoc tiep nhan - Don de nghi"
    )
    assert unaccented("Ưu tiên “gấp”") == 'Uu tien "gap"'


def test_a_short_sms_carries_the_whole_body_and_the_link() -> None:
    text = sms(
        row("Hồ sơ đã được tiếp nhận. Mã hồ sơ " + CODE + "."),
        base_url=BASE,
        unicode=False,
        segments=2,
    )
    assert text == (
        f"Ho so da duoc tiep nhan. Ma ho so {CODE}. Tra cuu: {tracking_url(BASE, CODE)}"
    )


def test_the_body_ends_with_a_full_stop_before_the_link() -> None:
    body = f"Hồ sơ đã được tiếp nhận. Mã hồ sơ {CODE}. Hồ sơ đầy đủ, hợp lệ"
    text = sms(row(body), base_url=BASE, unicode=True, segments=3)
    assert "Hồ sơ đầy đủ, hợp lệ. Tra cứu: " in text


@pytest.mark.parametrize(("unicode", "segments"), [(False, 1), (False, 2), (True, 2), (True, 3)])
def test_a_long_sms_is_cut_at_a_word_within_its_segments(unicode: bool, segments: int) -> None:
    comment = "Thiếu bản vẽ hiện trạng, giấy xác nhận của Ủy ban nhân dân xã về nguồn gốc đất. " * 6
    body = f"Yêu cầu bổ sung, hoàn thiện hồ sơ. Mã hồ sơ {CODE}. {comment}"
    text = sms(row(body), base_url=BASE, unicode=unicode, segments=segments)
    limit = sms_limit(unicode=unicode, segments=segments)
    assert len(text) <= limit
    assert text.isascii() != unicode
    assert CODE in text
    prefix = "Yêu cầu bổ sung" if unicode else "Yeu cau bo sung"
    assert text.startswith(prefix)
    link = ("Tra cứu: " if unicode else "Tra cuu: ") + tracking_url(BASE, CODE)
    if limit >= 160:  # room for the link and the message
        assert text.endswith(f"... {link}")
    else:  # the link would leave no room for the message
        assert link not in text and text.endswith("...")


def test_the_email_says_when_in_viet_nam_time() -> None:
    content = email(
        row("Yêu cầu bổ sung. Mã hồ sơ " + CODE + ".", channel="email"),
        base_url=None,
        signature="Trung tâm",
    )
    assert content.subject == f"[{CODE}] Yêu cầu bổ sung, hoàn thiện hồ sơ"
    assert "Thời điểm: 00:30 08/01/2030" in content.body
    assert "Tra cứu" not in content.body  # no public address configured: no link
    assert content.body.rstrip().endswith("Trung tâm")
