"""Publishing a month of the service index over HTTP, on SQLite and PostgreSQL: a leader of
the centre publishes a past month once (again: 409), a correction is the next revision with
its reason, and the published month is public, without a token, as JSON, CSV and a page,
with no applicant's personal data. The month's dossiers are written to the read model
directly (a month that is over cannot be lived through in a test); what is published is
computed by the running API."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.catalog import Role
from store import repository as repo
from store.schemas import DossierSummary
from tests.api.support import AUDITOR, CENTRE, INTAKE, LEADER, POLICE, Api, error_of

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PERIOD = "2025-06"
APPLICANT, ID_NUMBER = "Hoàng Thị Công Bố", "079190000766"


def seed_month(api: Api) -> None:
    for n, (processed, appointment) in enumerate([((6, 5), (6, 10)), ((6, 20), (6, 12))], start=1):
        code = f"{CENTRE}-250601-{n:04d}"
        received = datetime(2025, 6, 2, 9, tzinfo=TZ)
        done = datetime(2025, *processed, 15, tzinfo=TZ)
        repo.record_events(
            api.engine,
            [],
            DossierSummary(
                code=code,
                procedure_code="3.000333",
                procedure_version=1,
                procedure_name="Cấp Phiếu lý lịch tư pháp số 1",
                status="returned",
                channel="counter",
                centre_agency=CENTRE,
                competent_agency=POLICE,
                submitted_at=received,
                received_at=received,
                appointment_at=datetime(2025, *appointment, 17, tzinfo=TZ),
                overdue=done > datetime(2025, *appointment, 17, tzinfo=TZ),
                applicant_name=APPLICANT,
                applicant_id_number=ID_NUMBER,
                closed_at=done,
                processed_at=done,
                resolution_minutes=480 * 3,
                last_event_seq=1,
            ),
        )


async def test_a_month_is_published_once_corrected_by_revision_and_public(api: Api) -> None:
    seed_month(api)
    centre_leader = api.headers(Role.LEADER, CENTRE)
    async with api.http() as http:
        # Who may publish: a leader of the centre, an administrator; not another agency's
        # leader, not an intake officer, not an auditor.
        for who in (LEADER, INTAKE, AUDITOR):
            r = await http.post(
                "/v1/index/publications", json={"period": PERIOD}, headers=api.headers(*who)
            )
            error_of(r, 403, "forbidden")
        r = await http.get(f"/v1/public/index/{PERIOD}")
        error_of(r, 404, "not_found")

        r = await http.post(
            "/v1/index/publications", json={"period": PERIOD}, headers=centre_leader
        )
        assert r.status_code == 201, r.text
        first = r.json()
        assert (first["revision"], first["reason"], first["intact"]) == (1, "", True)
        total = first["snapshot"]["index"]["total"]["counts"]
        assert (total["received"], total["on_time"]) == (2, 1)

        r = await http.post(
            "/v1/index/publications", json={"period": PERIOD}, headers=centre_leader
        )
        assert "đã được công bố" in error_of(r, 409, "already_published")

        # A correction: the next revision, with its reason; by an administrator here.
        reason = "Đính chính: đồng bộ lại hồ sơ tháng 6"
        r = await http.post(
            "/v1/index/publications",
            json={"period": PERIOD, "reason": reason},
            headers=api.headers(Role.ADMIN, None),
        )
        assert r.status_code == 201, r.text
        assert (r.json()["revision"], r.json()["reason"]) == (2, reason)

        # The running month cannot be published; nor a correction of a month never published.
        now = datetime.now(TZ).strftime("%Y-%m")
        r = await http.post("/v1/index/publications", json={"period": now}, headers=centre_leader)
        error_of(r, 409, "month_not_over")
        r = await http.post(
            "/v1/index/publications",
            json={"period": "2025-05", "reason": "x"},
            headers=centre_leader,
        )
        error_of(r, 409, "not_published")
        r = await http.post(
            "/v1/index/publications", json={"period": "2025-13"}, headers=centre_leader
        )
        assert r.status_code == 422, r.text

        r = await http.get(
            "/v1/index/publications", params={"period": PERIOD}, headers=api.headers(*AUDITOR)
        )
        assert [(p["revision"], p["reason"]) for p in r.json()] == [(1, ""), (2, reason)]

        # Public, without a token: the latest revision, every revision listed, the first kept.
        r = await http.get(f"/v1/public/index/{PERIOD}")
        assert r.status_code == 200, r.text
        month = r.json()
        assert month["current"]["revision"] == 2 and month["current"]["intact"] is True
        assert [p["revision"] for p in month["revisions"]] == [1, 2]
        r1 = await http.get(f"/v1/public/index/{PERIOD}", params={"revision": 1})
        assert r1.json()["current"]["sha256"] == first["sha256"]
        index_csv = await http.get(f"/v1/public/index/{PERIOD}/index.csv")
        assert index_csv.status_code == 200 and index_csv.headers["content-type"].startswith(
            "text/csv"
        )
        assert index_csv.text.splitlines()[-1].startswith("*,,Tổng cộng,2,1,50.0")
        late_csv = await http.get(f"/v1/public/index/{PERIOD}/late.csv")
        assert late_csv.text.startswith("dossier_code,procedure_code")
        page = await http.get(f"/ui/cong-khai/{PERIOD}")
        assert page.status_code == 200
        assert "Lần 1" in page.text and "Lần 2" in page.text and reason in page.text
        assert "50,00 %" in page.text  # the on-time rate, 1 of 2
        missing = await http.get("/ui/cong-khai/2025-05")
        assert missing.status_code == 404
        # No applicant's personal data anywhere in what is public.
        for text in (r.text, r1.text, index_csv.text, late_csv.text, page.text):
            assert APPLICANT not in text and ID_NUMBER not in text
