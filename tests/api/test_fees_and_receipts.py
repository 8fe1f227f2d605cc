"""Fees at the counter, over HTTP, on both databases: a judicial record certificate
dossier (3.000333, phí 200.000 đồng collected at intake) pays at the intake officer's
counter, another amount is refused naming the one due, an unpaid dossier is not returned
until the return officer collects, and every fee collected yields an e-receipt numbered
in its collecting unit's series for the year, sealed by that unit, listed with the
dossier's documents and downloadable by the applicant. The series stays gap-free under
concurrent issuing, and a cancelled receipt is replaced, never deleted."""

from __future__ import annotations

import asyncio
import io
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from pypdf import PdfReader

from store import repository
from tests.api.support import (
    AUDITOR,
    CENTRE,
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    error_of,
    submit,
    wait_for_step,
)

SHOTS = Path("/tmp/h-fees")


def picture(pdf: bytes, name: str) -> None:
    """The receipt as an official sees it: a PNG next to the PDF, in /tmp/h-fees."""
    if not shutil.which("pdftoppm"):
        return
    SHOTS.mkdir(exist_ok=True)
    (SHOTS / f"{name}.pdf").write_bytes(pdf)
    args = ["pdftoppm", "-png", "-r", "80", "-singlefile", str(SHOTS / f"{name}.pdf")]
    subprocess.run([*args, str(SHOTS / name)], check=True)


async def ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def to_return_step(api: Api, http: httpx.AsyncClient, code: str) -> None:
    await ok(await act(api, http, code, INTAKE, "accept", comment="Hồ sơ đầy đủ"))
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    await ok(
        await act(
            api,
            http,
            code,
            SPECIALIST,
            "appraise",
            data={"opinion": "Không có án tích", "recommendation": "grant"},
        )
    )
    await ok(await act(api, http, code, LEADER, "approve", comment="Đồng ý cấp Phiếu"))
    await ok(await act(api, http, code, SIGNER, "sign", data={"document": "phieu.pdf"}))


async def receipt_documents(
    api: Api, http: httpx.AsyncClient, code: str, headers: dict[str, str]
) -> list[dict[str, Any]]:
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=headers)
    docs = (await ok(r))["documents"]
    return [d for d in docs if d["form"] == "receipt"]


async def test_a_counter_dossier_pays_the_exact_fee_and_gets_a_sealed_e_receipt(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("phi")
    code = await submit(api, http, person)
    view = await ok(await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE)))
    assert view["holder"]["action"] == "accept"
    assert {"action": "pay", "role": "intake_officer", "agency": CENTRE} in [
        {k: a[k] for k in ("action", "role", "agency")} for a in view["allowed_actions"]
    ]

    # The figure of the issue: 25.000.000 đồng is refused, naming the 200.000 due.
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 25_000_000, "method": "cash"})
    message = error_of(r, 422, "invalid")
    assert "200.000 đồng" in message and "25.000.000 đồng" in message, message
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "séc"})
    assert "cash, card, bank_qr" in error_of(r, 422, "invalid")
    # Four certificates: 200.000 + 5.000 for the third and the fourth.
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "copies": 4})
    assert "210.000 đồng" in error_of(r, 422, "invalid")

    view = await ok(
        await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "bank_qr"})
    )
    assert view["status"] == "submitted" and view["current_step"]["step_id"] == "tiep_nhan"
    assert not any(a["action"] == "pay" for a in view["allowed_actions"])
    r = await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "cash"})
    error_of(r, 409, "wrong_step")

    await to_return_step(api, http, code)
    await ok(await act(api, http, code, RETURNER, "return", data={"channel": "counter"}))
    await caught_up(api, http, code)

    # The receipt: in the centre's series, sealed by the centre, with the dossier's
    # documents, and the applicant downloads it.
    receipts = await asyncio.to_thread(repository.receipts_of, api.engine, code)
    assert len(receipts) == 1
    receipt = receipts[0]
    assert (receipt.agency_code, receipt.amount_vnd, receipt.method) == (CENTRE, 200_000, "bank_qr")
    assert receipt.status == "issued" and receipt.online is False
    year = datetime.now(UTC).astimezone(repository.receipts.TZ).year  # type: ignore[attr-defined]
    assert receipt.year == year and receipt.id == f"{CENTRE}:{year}:{receipt.number:07d}"
    # (A counter dossier has no applicant account: the centre's officers read it.)
    listed = await receipt_documents(api, http, code, api.headers(*RETURNER))
    assert [d["id"] for d in listed] == [receipt.document_id]
    assert listed[0]["signers"] == [f"seal:{CENTRE}"]
    r = await http.get(listed[0]["href"], headers=api.headers(*RETURNER))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(r.content))
    text = reader.pages[0].extract_text()
    for words in ("BIÊN LAI THU PHÍ, LỆ PHÍ", f"{receipt.number:07d}", "200.000", code):
        assert words in text, (words, text)
    assert "Hai trăm nghìn đồng" in text
    fields = reader.get_fields() or {}
    assert "DauCoQuan" in fields  # the collecting unit's seal
    if api.db == "sqlite":
        await asyncio.to_thread(picture, r.content, "receipt")


async def test_an_unpaid_dossier_is_not_returned_and_numbers_follow_the_series(
    api: Api, http: httpx.AsyncClient
) -> None:
    first, second = api.person("no1"), api.person("no2")
    a = await submit(api, http, first)
    await ok(await act(api, http, a, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "cash"}))
    b = await submit(api, http, second, as_applicant=True)
    await to_return_step(api, http, b)
    r = await act(api, http, b, RETURNER, "return", data={"channel": "counter"})
    message = error_of(r, 409, "wrong_step")
    assert "200.000 đồng" in message and "pay" in message, message
    # A student pays the reduced fee to the return officer, then takes the result.
    r = await act(
        api,
        http,
        b,
        RETURNER,
        "pay",
        data={"amount_vnd": 200_000, "exemption": "sinh_vien", "method": "card"},
    )
    assert "100.000 đồng" in error_of(r, 422, "invalid")
    await ok(
        await act(
            api,
            http,
            b,
            RETURNER,
            "pay",
            data={"amount_vnd": 100_000, "exemption": "sinh_vien", "method": "card"},
        )
    )
    view = await ok(await act(api, http, b, RETURNER, "return", data={"channel": "counter"}))
    assert view["status"] == "returned"
    await caught_up(api, http, a, b)
    ra = (await asyncio.to_thread(repository.receipts_of, api.engine, a))[0]
    rb = (await asyncio.to_thread(repository.receipts_of, api.engine, b))[0]
    assert rb.agency_code == ra.agency_code == CENTRE and rb.year == ra.year
    assert rb.number > ra.number
    assert rb.amount_vnd == 100_000
    assert rb.lines and rb.lines[0]["exemption"] == "Sinh viên"
    # The applicant (online) downloads the receipt with the dossier's documents.
    listed = await receipt_documents(api, http, b, api.applicant(second))
    assert [d["id"] for d in listed] == [rb.document_id]
    r = await http.get(listed[0]["href"], headers=api.applicant(second))
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert "Một trăm nghìn đồng" in PdfReader(io.BytesIO(r.content)).pages[0].extract_text()


async def test_the_series_is_gap_free_under_concurrent_issuing_and_cancelling_replaces(
    api: Api, http: httpx.AsyncClient
) -> None:
    agency = f"TEST.{api.db[:2].upper()}{datetime.now(UTC):%H%M%S%f}"[:20]
    now = datetime.now(UTC)

    def issue(i: int) -> int:
        values = {
            "agency_code": agency,
            "year": 2026,
            "dossier_code": f"X-{i}",
            "event_id": f"X-{i}:3",
            "amount_vnd": 200_000,
            "method": "cash",
            "issued_at": now,
        }
        row = repository.issue_receipt(api.engine, f"X-{i}:3", values)
        again = repository.issue_receipt(api.engine, f"X-{i}:3", values)  # a retry
        assert again.id == row.id
        return row.number

    with ThreadPoolExecutor(max_workers=6) as pool:
        numbers = sorted(
            await asyncio.gather(
                *(asyncio.to_thread(lambda i=i: pool.submit(issue, i).result()) for i in range(24))
            )
        )
    assert numbers == list(range(1, 25))

    old, new = await asyncio.to_thread(
        repository.cancel_and_replace,
        api.engine,
        repository.receipts.receipt_id(agency, 2026, 5),  # type: ignore[attr-defined]
        by="leader@x",
        reason="Ghi sai tên người nộp",
        at=now,
    )
    assert old.status == "cancelled" and old.replaced_by == new.id
    assert new.replaces == old.id and new.status == "issued"
    assert new.number == 25 or new.year != 2026  # the next number of its year's series
    kept = await asyncio.to_thread(repository.get_receipt, api.engine, old.id)
    assert kept is not None and kept.status == "cancelled"
    assert kept.cancel_reason == "Ghi sai tên người nộp"
    with pytest.raises(repository.ReceiptNotCancellable):
        await asyncio.to_thread(
            repository.cancel_and_replace, api.engine, old.id, by="x", reason="y", at=now
        )


async def test_a_cancelled_receipt_is_kept_and_replaced_over_http(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("huy")
    code = await submit(api, http, person)
    await ok(
        await act(api, http, code, INTAKE, "pay", data={"amount_vnd": 200_000, "method": "card"})
    )
    await caught_up(api, http, code)
    listed = (
        await ok(await http.get(f"/v1/dossiers/{code}/receipts", headers=api.headers(*INTAKE)))
    )["receipts"]
    [first] = listed
    path = f"/v1/dossiers/{code}/receipts/{quote(first['id'], safe='')}/cancel"
    # Another unit's officer, an auditor, no reason: refused, nothing changes.
    r = await http.post(path, json={"reason": "x"}, headers=api.headers(*SPECIALIST))
    error_of(r, 403, "forbidden")
    r = await http.post(path, json={"reason": ""}, headers=api.headers(*INTAKE))
    error_of(r, 422)
    r = await http.post(
        path, json={"reason": "Ghi sai hình thức thanh toán"}, headers=api.headers(*INTAKE)
    )
    done = await ok(r)
    old, new = done["cancelled"], done["replacement"]
    assert (old["id"], old["status"], old["cancel_reason"]) == (
        first["id"],
        "cancelled",
        "Ghi sai hình thức thanh toán",
    )
    assert old["replaced_by"] == new["id"] and new["replaces"] == old["id"]
    assert new["agency_code"] == CENTRE and new["number"] > old["number"]
    assert new["amount_vnd"] == 200_000 and new["status"] == "issued"
    r = await http.post(path, json={"reason": "lần nữa"}, headers=api.headers(*INTAKE))
    error_of(r, 409, "conflict")
    # Both are kept; both PDFs are with the dossier's documents, the new one says whom
    # it replaces.
    listed = (
        await ok(await http.get(f"/v1/dossiers/{code}/receipts", headers=api.headers(*AUDITOR)))
    )["receipts"]
    assert [(x["id"], x["status"]) for x in listed] == [
        (old["id"], "cancelled"),
        (new["id"], "issued"),
    ]
    docs = await receipt_documents(api, http, code, api.headers(*AUDITOR))
    assert [d["id"] for d in docs] == [first["document_id"], new["document_id"]]
    r = await http.get(docs[1]["href"], headers=api.headers(*AUDITOR))
    text = PdfReader(io.BytesIO(r.content)).pages[0].extract_text()
    assert f"{old['number']:07d}" in text and "đã bị hủy" in text, text
    if api.db == "sqlite":
        await asyncio.to_thread(picture, r.content, "replacement")
