"""`motcua agencies merge` as an operator runs it (issue 24 item 5): an OS process
configured by environment variables alone, against the real Temporal dev server and the
read model (SQLite and PostgreSQL), while the centre's worker and the agencies' workers
run. Hòa An's People's Committee merges into Bình Long's. Its open dossiers move to Bình
Long's queues, one recorded `agency_moved` event each, the history kept and the centre
that received them unchanged, including a construction permit whose handoff to Hòa An is
in flight (sent, never acknowledged: Hòa An's worker is gone), which Bình Long's worker
then acknowledges; a refused dossier stays where it was; the 766 index counts the moved
dossiers for Hòa An before and for Bình Long after; the catalog records Hòa An's last
day and successor (`motcua agencies list`); run again, nothing moves twice."""

from __future__ import annotations

import asyncio
import os
import subprocess
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client

from domain.catalog import Catalog, Role
from domain.dossier import Action, ActionInput, Actor, Applicant, Channel, DossierView
from infra.settings import REPO_ROOT, Settings
from services.dossiers import DossierService, SubmitRequest
from store import repository
from store.index import index_counts
from tests.devserver.journeys import shipped_catalog
from tests.factories import doc
from tests.harness import caught_up, running_workers
from tests.payload_keys import TEST_PAYLOAD_KEYS
from tests.processes import MOTCUA
from workflows.dossier import DossierWorkflow

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

COMMUNE = "000.31.00.H99"  # Ủy ban nhân dân xã Hòa An: merges
SUCCESSOR = "000.32.00.H99"  # Ủy ban nhân dân xã Bình Long: takes over
COMMUNE_CENTRE = "000.31.01.H99"  # Hòa An's centre: received them, stays
PERMIT = "1.009994"  # construction permit: intake, handoff to the commune, appraisal...
CIVIL_STATUS = "2.000635"  # civil status extract: intake, appraisal at the commune...
DECISION = "Nghị quyết số 1/NQ-UBTVQH (thử nghiệm): sáp nhập xã Hòa An vào xã Bình Long"
INTAKE = Actor(
    id="tnhs-xa", name="Cán bộ tiếp nhận xã", role=Role.INTAKE_OFFICER, agency=COMMUNE_CENTRE
)
SPECIALIST = Actor(id="cv-binh-long", name="Chuyên viên", role=Role.SPECIALIST, agency=SUCCESSOR)
TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def filing(catalog: Catalog, procedure: str, n: int) -> SubmitRequest:
    """A counter filing at Hòa An's centre with a file for every required component."""
    return SubmitRequest(
        procedure_code=procedure,
        applicant=Applicant(
            name=f"Nguyễn Thị Sáp Nhập {n}",
            id_number=f"0012{uuid.uuid4().int % 10**8:08d}",
            phone="0912345678",
            address="Xã Hòa An",
        ),
        channel=Channel.COUNTER,
        documents=[
            doc(f"{d.kind}-{n}.pdf", d.kind)
            for d in catalog.procedure(procedure).documents
            if d.required
        ],
    )


def received_by_agency(engine: Engine) -> Counter[str]:
    """The 766 index's received dossiers of the two procedures, per deciding agency."""
    now = datetime.now(UTC)
    counts = index_counts(
        engine,
        now - timedelta(days=3),
        now + timedelta(days=1),
        document_procedures=[],
        fee_procedures=[],
    )
    out: Counter[str] = Counter()
    for c in counts:
        if c.procedure_code in (PERMIT, CIVIL_STATUS):
            out[c.agency] += c.received
    return out


def motcua(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(MOTCUA), *args],
        env=env,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


async def wait_until(
    service: DossierService,
    code: str,
    ok,
    what: str,  # type: ignore[no-untyped-def]
) -> DossierView:
    for _ in range(600):
        view = await service.state(code)
        if ok(view):
            return view
        await asyncio.sleep(0.1)
    raise AssertionError(f"{code}: {what} never happened: {view.current_step}")


async def test_an_operator_merges_a_commune_and_its_open_dossiers_follow(
    client: Client, engine: Engine, tmp_path: Path
) -> None:
    catalog = shipped_catalog()
    await asyncio.to_thread(repository.sync_catalog, engine, catalog)
    settings = Settings(
        centre_task_queue=f"centre-merge-{uuid.uuid4().hex[:8]}", state_dir=tmp_path / "state"
    )
    service = DossierService(client, engine, catalog, settings)
    # Every agency's worker but Hòa An's: what it is sent stays unacknowledged.
    agencies = [code for code in catalog.agencies if code != COMMUNE]
    async with running_workers(client, engine, agencies, task_queue=settings.centre_task_queue):
        permit = (await service.submit(filing(catalog, PERMIT, 1), INTAKE)).code
        appraising = (await service.submit(filing(catalog, CIVIL_STATUS, 2), INTAKE)).code
        waiting = (await service.submit(filing(catalog, CIVIL_STATUS, 3), INTAKE)).code
        refused = (await service.submit(filing(catalog, CIVIL_STATUS, 4), INTAKE)).code
        for code in (permit, appraising):
            await service.act(code, Action.ACCEPT, ActionInput(actor=INTAKE))
        await service.act(
            refused, Action.REFUSE, ActionInput(actor=INTAKE, comment="Không thuộc thẩm quyền")
        )
        # The permit's handoff to Hòa An is sent and waits: an activity on its queue.
        view = await wait_until(
            service,
            permit,
            lambda v: v.current_step is not None and v.current_step.kind.value == "handoff",
            "the handoff",
        )
        assert view.current_step is not None and view.current_step.agency == COMMUNE
        handle = client.get_workflow_handle_for(DossierWorkflow.run, permit)
        for _ in range(100):
            pending = (await handle.describe()).raw_description.pending_activities
            if pending:
                break
            await asyncio.sleep(0.1)
        assert [p.activity_type.name for p in pending] == ["receive_handoff"], pending
        for code in (permit, appraising, waiting, refused):
            await caught_up(engine, client.get_workflow_handle_for(DossierWorkflow.run, code))
        before = await asyncio.to_thread(received_by_agency, engine)
        assert before[COMMUNE] == 2 and before[SUCCESSOR] == 0, before  # permit, appraising
        events_before = {
            code: await asyncio.to_thread(repository.list_events, engine, code)
            for code in (permit, appraising, waiting)
        }

        # -- the operator runs the merger, by environment variables alone
        last_day = datetime.now(TZ).date() - timedelta(days=1)
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("MOTCUA_") and k != "DATABASE_URL"
        } | {
            "MOTCUA_TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "MOTCUA_TEMPORAL_NAMESPACE": client.namespace,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "MOTCUA_STATE_DIR": str(tmp_path / "operator"),
            "MOTCUA_PAYLOAD_KEYS": TEST_PAYLOAD_KEYS,
        }
        done = await asyncio.to_thread(
            motcua,
            env,
            "agencies",
            "merge",
            COMMUNE,
            "--into",
            SUCCESSOR,
            "--last-day",
            last_day.isoformat(),
            "--decision",
            DECISION,
            "--operator",
            "quan-tri-tinh",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        out = done.stdout
        assert f"{COMMUNE} -> {SUCCESSOR}" in out, out
        assert f"hoạt động đến hết ngày {last_day:%d/%m/%Y}" in out, out
        for code in (permit, appraising, waiting):
            assert f"đã chuyển       {code}" in out, out
        assert refused not in out, out
        assert "3 hồ sơ đã chuyển" in out and "0 không chuyển được" in out, out

        # The handoff in flight went to Bình Long, whose worker acknowledged it.
        view = await wait_until(
            service,
            permit,
            lambda v: v.current_step is not None and v.current_step.kind.value == "appraisal",
            "the successor's acknowledgement",
        )
        assert view.current_step is not None and view.current_step.agency == SUCCESSOR
        assert [a["agency"] for a in view.handoff_acks] == [SUCCESSOR]
        assert (view.centre_agency, view.competent_agency) == (COMMUNE_CENTRE, SUCCESSOR)
        assert view.steps[0].agency == COMMUNE_CENTRE  # the intake unit is unchanged
        # Bình Long's specialist takes the appraisal of the other one.
        view = await service.act(
            appraising,
            Action.APPRAISE,
            ActionInput(
                actor=SPECIALIST, data={"opinion": "Đúng sổ hộ tịch", "recommendation": "grant"}
            ),
        )
        assert view.current_step is not None and view.current_step.agency == SUCCESSOR
        view = await service.state(waiting)
        assert view.current_step is not None and view.current_step.agency == COMMUNE_CENTRE
        assert [s.agency for s in view.steps][1:4] == [SUCCESSOR] * 3

        # One recorded event each, after the history it had, which is kept.
        for code in (permit, appraising, waiting, refused):
            await caught_up(engine, client.get_workflow_handle_for(DossierWorkflow.run, code))
        for code in (permit, appraising, waiting):
            events = await asyncio.to_thread(repository.list_events, engine, code)
            assert events[: len(events_before[code])] == events_before[code]
            moves = [e for e in events if e.kind == "agency_moved"]
            assert len(moves) == 1, [e.kind for e in events]
            move = moves[0]
            assert (move.data["from_agency"], move.data["to_agency"]) == (COMMUNE, SUCCESSOR)
            assert (move.comment, move.actor_id) == (DECISION, "quan-tri-tinh")
            assert move.data["centre_agency"] == COMMUNE_CENTRE
            assert move.data.get("handoff_to") == (SUCCESSOR if code == permit else None)
            row = await asyncio.to_thread(repository.get_dossier, engine, code)
            assert row is not None
            assert (row.centre_agency, row.competent_agency) == (COMMUNE_CENTRE, SUCCESSOR)
        acks = [
            e
            for e in await asyncio.to_thread(repository.list_events, engine, permit)
            if e.kind == "handoff_acknowledged"
        ]
        assert [e.data["to_agency"] for e in acks] == [SUCCESSOR]
        closed = await asyncio.to_thread(repository.get_dossier, engine, refused)
        assert closed is not None and closed.competent_agency == COMMUNE

        # The 766 index: the received, moved dossiers count for Bình Long now.
        after = await asyncio.to_thread(received_by_agency, engine)
        assert (after[COMMUNE], after[SUCCESSOR]) == (0, 2), after
        assert sum(after.values()) == sum(before.values())

        # The catalog knows Hòa An's last day and successor.
        agency = {a.code: a for a in await asyncio.to_thread(repository.list_agencies, engine)}[
            COMMUNE
        ]
        assert (agency.valid_to, agency.successor) == (last_day, SUCCESSOR)
        listed = await asyncio.to_thread(motcua, env, "agencies", "list", "--ended")
        assert listed.returncode == 0, listed.stderr
        line = next(ln for ln in listed.stdout.splitlines() if ln.startswith(COMMUNE))
        assert "không" in line and f"{last_day:%d/%m/%Y}" in line and SUCCESSOR in line, line
        assert COMMUNE_CENTRE not in listed.stdout  # still in operation

        # Run again: nothing moves twice.
        again = await asyncio.to_thread(
            motcua, env, "agencies", "merge", COMMUNE, "--operator", "quan-tri-tinh"
        )
        assert again.returncode == 0, again.stdout + again.stderr
        assert "0 hồ sơ đã chuyển" in again.stdout, again.stdout
        for code in (permit, appraising, waiting):
            events = await asyncio.to_thread(repository.list_events, engine, code)
            assert [e.kind for e in events].count("agency_moved") == 1

        # A merger into an agency that has ended too is refused before anything moves.
        refused_merge = await asyncio.to_thread(
            motcua, env, "agencies", "merge", SUCCESSOR, "--into", COMMUNE
        )
        assert refused_merge.returncode == 2, refused_merge.stdout + refused_merge.stderr
        assert "hết hiệu lực" in refused_merge.stderr, refused_merge.stderr
