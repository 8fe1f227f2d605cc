"""The service index over HTTP: the applicant's rating and complaint, and the month's
figures (JSON and CSV) and late list for leaders; exact figures are checked in
tests/store/test_index.py on a known set of dossiers."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from tests.api.support import AUDITOR, INTAKE, LEADER, POLICE, Api, error_of, submit
from tests.api.test_documents import returned_dossier


async def test_rating_feedback_and_the_months_index(api: Api) -> None:
    async with api.http() as http:
        code, person, _ = await returned_dossier(api, http)
        mine = api.applicant(person)
        month = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).strftime("%Y-%m")
        before = await http.get(
            "/v1/index",
            params={"period": month, "procedure": "3.000333"},
            headers=api.headers(*LEADER),
        )
        assert before.status_code == 200, before.text
        unhappy_before = before.json()["total"]["counts"]["complained_or_disliked"]

        r = await http.post(f"/v1/dossiers/{code}/rating", json={"rating": "dislike"}, headers=mine)
        assert r.status_code == 201, r.text
        r = await http.post(
            f"/v1/dossiers/{code}/feedback",
            json={"kind": "complaint", "text": "Phải chờ lâu tại quầy"},
            headers=mine,
        )
        assert r.status_code == 201, r.text
        # Someone else's dossier; a rating before the result; a rating that is not one.
        stranger = api.applicant(api.person())
        error_of(
            await http.post(
                f"/v1/dossiers/{code}/rating", json={"rating": "like"}, headers=stranger
            ),
            403,
            "forbidden",
        )
        other = api.person()
        open_code = await submit(api, http, other, as_applicant=True, channel="online")
        r = await http.post(
            f"/v1/dossiers/{open_code}/rating",
            json={"rating": "like"},
            headers=api.applicant(other),
        )
        error_of(r, 409, "wrong_step")
        r = await http.post(f"/v1/dossiers/{code}/rating", json={"rating": "5 sao"}, headers=mine)
        error_of(r, 422)

        r = await http.get(
            "/v1/index",
            params={"period": month, "procedure": "3.000333"},
            headers=api.headers(*LEADER),
        )
        index = r.json()
        row = next(x for x in index["rows"] if x["procedure_code"] == "3.000333")
        assert row["agency"] == POLICE and row["counts"]["received"] >= 1
        # The dislike and the complaint are on one dossier: it counts once.
        assert index["total"]["counts"]["complained_or_disliked"] == unhappy_before + 1
        assert 0 <= row["satisfaction"] <= 100 and row["on_time_rate"] is not None

        r = await http.get(
            "/v1/index", params={"period": month, "format": "csv"}, headers=api.headers(*AUDITOR)
        )
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
        assert r.text.splitlines()[0].startswith("agency,procedure_code")

        r = await http.get("/v1/index/late", params={"period": month}, headers=api.headers(*LEADER))
        assert r.status_code == 200 and isinstance(r.json(), list)
        # A page, with how many the index counts late in all.
        assert int(r.headers["x-total-count"]) >= len(r.json())
        r = await http.get(
            "/v1/index/late", params={"period": month, "limit": 0}, headers=api.headers(*LEADER)
        )
        assert r.status_code == 422

        error_of(
            await http.get("/v1/index", params={"period": month}, headers=api.headers(*INTAKE)),
            403,
            "forbidden",
        )
        error_of(
            await http.get("/v1/index", params={"period": "2026-13"}, headers=api.headers(*LEADER)),
            422,
            "invalid",
        )
