"""The counter's kiosk over HTTP, on the real API, workers and Temporal: applicants who
came in person rate their dossier with the codes printed on their receipt (Form 01), no
login; strangers cannot; every rating is kept with its time, and the month's index counts
each dossier's latest rating (its unhappy figure moves by a hand count)."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from pypdf import PdfReader

from store import repository
from tests.api.support import (
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    Person,
    act,
    caught_up,
    error_of,
    pay_fee,
    submit,
    wait_for_step,
)

RATING_CODE = re.compile(r"Mã đánh giá sự hài lòng: ([0-9A-Z]{4}-[0-9A-Z]{4})")


async def to_approval(api: Api, http: httpx.AsyncClient, code: str) -> None:
    assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    r = await act(api, http, code, SPECIALIST, "appraise", data={"opinion": "Không có án tích"})
    assert r.status_code == 200, r.text
    assert (await act(api, http, code, LEADER, "approve", comment="Đồng ý")).status_code == 200
    assert (await act(api, http, code, SIGNER, "sign")).status_code == 200


async def returned(api: Api, http: httpx.AsyncClient, code: str, person: Person) -> None:
    await pay_fee(api, http, code, RETURNER)  # the fee, collected at the return
    r = await act(
        api, http, code, RETURNER, "return", data={"channel": "counter", "received_by": person.name}
    )
    assert r.status_code == 200, r.text
    await caught_up(api, http, code)


async def receipt_rating_code(api: Api, http: httpx.AsyncClient, code: str) -> str:
    """The rating code as printed on the dossier's receipt (Form 01), read from the PDF."""
    for _ in range(300):
        r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
        assert r.status_code == 200, r.text
        receipt = [d for d in r.json()["documents"] if d["form"] == "01"]
        if receipt:
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"{code} has no receipt")
    r = await http.get(receipt[0]["href"], headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    found = RATING_CODE.search(" ".join(text.split()))
    assert found, text
    assert "/ui/rate?code=" in "".join(text.split())  # the kiosk link, codes filled in
    return found.group(1)


async def unhappy(api: Api, http: httpx.AsyncClient, month: str) -> dict[str, Any]:
    r = await http.get(
        "/v1/index",
        params={"period": month, "procedure": "3.000333"},
        headers=api.headers(*LEADER),
    )
    assert r.status_code == 200, r.text
    counts: dict[str, Any] = r.json()["total"]["counts"]
    return counts


async def rate(
    http: httpx.AsyncClient, code: str, rating_code: str, rating: str, comment: str = ""
) -> httpx.Response:
    return await http.post(
        "/v1/kiosk/ratings",
        json={"code": code, "rating_code": rating_code, "rating": rating, "comment": comment},
    )


async def test_counter_applicants_rate_at_the_kiosk_and_the_latest_rating_counts(
    api: Api,
) -> None:
    month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
    async with api.http() as http:
        before = await unhappy(api, http, month)
        # A and B came to the counter (no account); C filed online and has one.
        a, b, c = api.person("kiosk-a"), api.person("kiosk-b"), api.person("kiosk-c")
        code_a = await submit(api, http, a)
        code_b = await submit(api, http, b)
        code_c = await submit(api, http, c, as_applicant=True, channel="online")
        for code in (code_a, code_b, code_c):
            await to_approval(api, http, code)
        token_a = await receipt_rating_code(api, http, code_a)
        token_b = await receipt_rating_code(api, http, code_b)
        token_c = await receipt_rating_code(api, http, code_c)
        assert len({token_a, token_b, token_c}) == 3

        # Before the result is returned: the kiosk finds the dossier and says to wait.
        r = await http.get(f"/v1/kiosk/dossiers/{code_a}", params={"rating_code": token_a})
        assert r.status_code == 200, r.text
        assert r.json()["can_rate"] is False and r.json()["procedure_name"]
        error_of(await rate(http, code_a, token_a, "like"), 409, "wrong_step")

        await returned(api, http, code_a, a)
        await returned(api, http, code_b, b)
        await pay_fee(api, http, code_c, RETURNER)
        r = await act(api, http, code_c, RETURNER, "return", data={"channel": "online"})
        assert r.status_code == 200, r.text
        await caught_up(api, http, code_c)

        # Strangers: a made-up code, B's code on A's dossier, an unknown dossier: one
        # answer, which tells none of them apart. Nothing is recorded.
        wrong = [
            await rate(http, code_a, "AAAA-AAAA", "dislike"),
            await rate(http, code_a, token_b, "dislike"),
            await rate(http, code_a + "9", token_a, "dislike"),
            await http.get(f"/v1/kiosk/dossiers/{code_a}", params={"rating_code": token_b}),
        ]
        assert {error_of(r, 404, "not_found") for r in wrong} == {
            "Mã hồ sơ hoặc mã đánh giá không đúng: hãy nhập đúng như in trên giấy tiếp nhận "
            "hồ sơ và hẹn trả kết quả"
        }
        assert repository.rating_history(api.engine, code_a) == []
        error_of(await rate(http, code_a, token_a, "5 sao"), 422)

        # A: like, then dislike (typed in lower case, without the dash): unhappy.
        r = await rate(http, code_a, token_a, "like")
        assert r.status_code == 201, r.text
        assert r.json()["ratings"] == 1
        r = await rate(http, code_a, token_a.lower().replace("-", ""), "dislike", "Chờ lâu")
        assert r.status_code == 201, r.text
        assert r.json()["ratings"] == 2
        # B: dislike, then like: happy.
        assert (await rate(http, code_b, token_b, "dislike")).status_code == 201
        assert (await rate(http, code_b, token_b, "like")).status_code == 201
        # C: dislikes from their account, then likes at the kiosk with the receipt: happy.
        r = await http.post(
            f"/v1/dossiers/{code_c}/rating", json={"rating": "dislike"}, headers=api.applicant(c)
        )
        assert r.status_code == 201, r.text
        assert (await rate(http, code_c, token_c, "like")).status_code == 201

        history = repository.rating_history(api.engine, code_a)
        assert [(h.rating, h.source, h.comment) for h in history] == [
            ("like", "kiosk", ""),
            ("dislike", "kiosk", "Chờ lâu"),
        ]
        assert history[0].at < history[1].at
        assert [(h.rating, h.source) for h in repository.rating_history(api.engine, code_c)] == [
            ("dislike", "account"),
            ("like", "kiosk"),
        ]
        r = await http.get(f"/v1/kiosk/dossiers/{code_b}", params={"rating_code": token_b})
        assert r.json()["can_rate"] is True and r.json()["ratings"] == 2

        # By hand: three more dossiers received this month, one of them (A) unhappy.
        after = await unhappy(api, http, month)
        assert after["received"] - before["received"] == 3
        assert after["complained_or_disliked"] - before["complained_or_disliked"] == 1
