"""Two-level local government (issue 24 item 5): the commune of Hòa An merges into Bình
Long. Its open dossiers move to Bình Long's queues in one command (`merge_agency`, what
`motcua agencies merge` runs), each with an `agency_moved` event, the history and the
receiving centre kept; a closed dossier stays where it was; the 766 index counts the moved
dossiers for the successor. Over HTTP against the dev server, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx

from domain.catalog import Role
from domain.dossier import Actor
from services.mergers import check_merger, merge_agency
from store import repository
from store.index import index_counts
from tests.api.support import (
    AUDITOR,
    CIVIL_STATUS,
    COMMUNE,
    COMMUNE_CENTRE,
    Api,
    act,
    caught_up,
    error_of,
    submission,
    wait_view,
)

SUCCESSOR = "000.32.00.H99"  # Ủy ban nhân dân xã Bình Long (agencies.yaml)
OPERATOR = Actor(id="quan-tri", name="Quản trị hệ thống", role=Role.ADMIN)
DECISION = "Nghị quyết sáp nhập xã (thử nghiệm)"


def received_by_agency(api: Api) -> Counter[str]:
    """The 766 index's received count of the civil-status procedure, per deciding agency."""
    now = datetime.now(UTC)
    counts = index_counts(
        api.engine,
        now - timedelta(days=3),
        now + timedelta(days=1),
        document_procedures=[CIVIL_STATUS],
        fee_procedures=[],
        procedure=CIVIL_STATUS,
    )
    return Counter({c.agency: c.received for c in counts})


async def test_a_merged_commune_s_open_dossiers_move_to_its_successor(
    api: Api, http: httpx.AsyncClient
) -> None:
    intake = api.headers(Role.INTAKE_OFFICER, COMMUNE_CENTRE)

    async def filed(tag: str) -> str:
        body = submission(api.person(tag), procedure=CIVIL_STATUS)
        r = await http.post("/v1/dossiers", json=body, headers=intake)
        assert r.status_code == 201, r.text
        code: str = r.json()["code"]
        return code

    # In appraisal at Hòa An, waiting at the counter, and refused (closed).
    appraising, waiting, refused = (await filed("đang xử lý"), await filed("chờ"), await filed("x"))
    r = await act(api, http, appraising, (Role.INTAKE_OFFICER, COMMUNE_CENTRE), "accept")
    assert r.status_code == 200, r.text
    assert r.json()["current_step"]["agency"] == COMMUNE
    r = await act(
        api, http, refused, (Role.INTAKE_OFFICER, COMMUNE_CENTRE), "refuse", comment="Sai thủ tục"
    )
    assert r.status_code == 200, r.text
    await caught_up(api, http, appraising, waiting, refused)
    before = await asyncio.to_thread(received_by_agency, api)
    assert before[COMMUNE] >= 1

    # -- the merger
    assert check_merger(api.catalog, COMMUNE, SUCCESSOR) == SUCCESSOR
    open_at_commune = await asyncio.to_thread(repository.open_dossiers_at, api.engine, COMMUNE)
    assert {appraising, waiting} <= set(open_at_commune) and refused not in open_at_commune
    report = await merge_agency(
        api.client, api.engine, api.catalog, COMMUNE, SUCCESSOR, actor=OPERATOR, decision=DECISION
    )
    try:
        assert {appraising, waiting} <= set(report.moved), report
        assert refused not in report.moved and not report.failed, report

        # The step in progress is Bình Long's now; the centre that received it is unchanged.
        r = await http.get(f"/v1/dossiers/{appraising}", headers=api.headers(*AUDITOR))
        view = r.json()
        assert (view["centre_agency"], view["competent_agency"]) == (COMMUNE_CENTRE, SUCCESSOR)
        assert view["current_step"]["agency"] == SUCCESSOR
        assert view["steps"][0]["agency"] == COMMUNE_CENTRE  # where it was received
        assert [m["from_agency"] for m in view["agency_moves"]] == [COMMUNE]
        # Hòa An's specialist no longer acts on it; Bình Long's does.
        opinion = {"opinion": "Đúng sổ hộ tịch", "recommendation": "grant"}
        r = await act(api, http, appraising, (Role.SPECIALIST, COMMUNE), "appraise", data=opinion)
        error_of(r, 403, "forbidden")
        r = await act(api, http, appraising, (Role.SPECIALIST, SUCCESSOR), "appraise", data=opinion)
        assert r.status_code == 200, r.text
        assert r.json()["current_step"]["agency"] == SUCCESSOR

        # The waiting one: its intake stays at the commune centre, its decision goes on.
        view = (await http.get(f"/v1/dossiers/{waiting}", headers=api.headers(*AUDITOR))).json()
        assert view["current_step"]["agency"] == COMMUNE_CENTRE
        assert [s["agency"] for s in view["steps"]][1:4] == [SUCCESSOR] * 3

        # One recorded event each, with the history before it kept.
        await caught_up(api, http, appraising, waiting)
        for code in (appraising, waiting):
            events = await asyncio.to_thread(repository.list_events, api.engine, code)
            moves = [e for e in events if e.kind == "agency_moved"]
            assert len(moves) == 1, [e.kind for e in events]
            assert (moves[0].data["from_agency"], moves[0].data["to_agency"]) == (
                COMMUNE,
                SUCCESSOR,
            )
            assert moves[0].comment == DECISION and moves[0].actor_id == OPERATOR.id
            assert events[0].kind == "submitted"
        refused_view = await wait_view(
            api, http, refused, lambda v: v["closed_at"] is not None, "closed"
        )
        assert refused_view["competent_agency"] == COMMUNE

        # The 766 index: the moved, received dossiers count for Bình Long now.
        row = await asyncio.to_thread(repository.get_dossier, api.engine, appraising)
        assert row is not None and (row.competent_agency, row.centre_agency) == (
            SUCCESSOR,
            COMMUNE_CENTRE,
        )
        after = await asyncio.to_thread(received_by_agency, api)
        assert sum(after.values()) == sum(before.values())
        assert after[SUCCESSOR] - before[SUCCESSOR] >= 1
        assert before[COMMUNE] - after[COMMUNE] == after[SUCCESSOR] - before[SUCCESSOR]

        # Run again: nothing moves twice.
        again = await merge_agency(
            api.client, api.engine, api.catalog, COMMUNE, SUCCESSOR, actor=OPERATOR
        )
        assert appraising not in again.moved and waiting not in again.moved, again
    finally:
        # Other tests of this session file at Hòa An: its work goes back to it.
        await merge_agency(api.client, api.engine, api.catalog, SUCCESSOR, COMMUNE, actor=OPERATOR)
    view = (await http.get(f"/v1/dossiers/{waiting}", headers=api.headers(*AUDITOR))).json()
    assert view["competent_agency"] == COMMUNE
