"""The notification outbox over HTTP, for administrators: a dossier accepted at the
counter queues its applicant's email and SMS through the real workers; with no SMTP
server or SMS gateway configured they wait, pending, and the administrator sees them
with the recipients masked; nobody else may look."""

from __future__ import annotations

from domain.catalog import Role
from tests.api.support import INTAKE, Api, act, caught_up, error_of, submit

ADMIN = (Role.ADMIN, None)


async def test_the_administrator_sees_the_pending_notifications(api: Api) -> None:
    async with api.http() as http:
        code = await submit(api, http, api.person())
        r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ hợp lệ")
        assert r.status_code == 200, r.text
        await caught_up(api, http, code)

        r = await http.get(
            "/v1/outbox",
            params={"channel": "email", "limit": 1000},
            headers=api.headers(*ADMIN),
        )
        assert r.status_code == 200, r.text
        body = r.json()
        mine = [n for n in body["notifications"] if n["dossier_code"] == code]
        assert [n["subject"] for n in mine] == ["Hồ sơ đã được tiếp nhận"]
        (email,) = mine
        assert email["state"] == "pending" and email["attempts"] == 0
        assert email["recipient"] == "t***@example.vn"
        assert email["ref"].endswith(":email:t***@example.vn")
        assert "thu@example.vn" not in r.text and "0912345678" not in r.text
        counts = {(c["channel"], c["state"]): c["count"] for c in body["counts"]}
        assert counts[("email", "pending")] >= 1 and counts[("sms", "pending")] >= 1

        error_of(await http.get("/v1/outbox", headers=api.headers(*INTAKE)), 403, "forbidden")
        error_of(
            await http.get("/v1/outbox", params={"state": "lost"}, headers=api.headers(*ADMIN)),
            422,
        )
