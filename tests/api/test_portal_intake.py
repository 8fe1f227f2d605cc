"""The national portal as front door, against a stand-in portal that is a real HTTP server
(tests/portal_simulator.py) and misbehaves: its list answers 500 and then too late, a
document file answers 500, it lists a dossier twice and a later dossier first, and it
pushes the same dossier while the pull takes it too, twice at once.

Each dossier filed on the portal becomes one dossier (one workflow in the namespace, one
binding of its portal code), started with the files fetched from the portal; delivering
it again answers with the same dossier. Its status changes then reach the portal in the
order they happened, under the portal's code, with the fields the national index reads:
the overdue flag once a second supplement was requested, the result's link on the public
verification page, no online payment. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client

from api.routes.portal import sign
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor
from infra.docstore import open_document_store
from motcua.devserver import DevServer
from services.dossiers import DossierService
from store import repository
from store.db import init_db, make_engine
from tests.api.conftest import serving, settings_for
from tests.api.support import Api
from tests.conftest import fresh_pg_database
from tests.devserver.conftest import new_namespace
from tests.devserver.journeys import (
    INTAKE,
    PROCEDURE,
    SPECIALIST,
    wait_for_step,
    walk_to_returned,
)
from tests.files import jpeg, pdf
from tests.portal_simulator import FEED, FILES, PortalSimulator

pytestmark = pytest.mark.devserver

SECRET = "portal-push-secret-for-tests"
PUBLIC = "https://motcua.example.gov.vn"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def portal_engine(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    if request.param == "postgresql":
        with fresh_pg_database("motcua_portal") as engine:
            yield engine
        return
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('portal') / 'motcua.db'}")
    init_db(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def portal(portal_engine: Engine) -> Iterator[PortalSimulator]:
    """A fresh portal per database: its feed and counters are that stack's alone."""
    with PortalSimulator() as sim:
        yield sim


@pytest.fixture(scope="module")
async def stack(
    portal: PortalSimulator,
    portal_engine: Engine,
    tmp_path_factory: pytest.TempPathFactory,
    devserver: DevServer,
    devserver_client: Client,
) -> AsyncIterator[Api]:
    """motcua with the portal adapter on: pushes accepted with SECRET, the pull every
    half second, status sync to the simulator every fifth of a second. Its own
    namespace: the dossier workflows in it are this module's only."""
    client = await new_namespace(devserver_client, devserver.address, "portal")
    settings = settings_for(
        tmp_path_factory.mktemp("portal-state"),
        public_base_url=PUBLIC,
        portal_url=portal.status_url,
        portal_token=portal.token,
        portal_interval_seconds=0.2,
        portal_pull_url=portal.feed_url,
        portal_pull_interval_seconds=0.5,
        portal_push_secret=SECRET,
        portal_timeout_seconds=2,
    )
    async with serving("portal", client, settings, portal_engine) as api:
        yield api


def filed(
    portal: PortalSimulator, tag: str, name: str, id_number: str, at: datetime
) -> dict[str, Any]:
    """A judicial record certificate dossier as the portal delivers it, its files served
    by the portal."""
    code = f"G22.99-{tag}-{uuid.uuid4().hex[:8]}"
    return {
        "MaHoSo": code,
        "MaTTHC": PROCEDURE,
        "NgayNopHoSo": at.isoformat(),
        "ChuHoSo": {
            "HoTen": name,
            "SoGiayTo": id_number,
            "SoDienThoai": "0912345678",
            "TaiKhoan": f"vneid-{id_number}",
        },
        "TaiLieuNop": [
            {
                "MaThanhPhan": "to_khai",
                "TenTep": "to-khai.pdf",
                "DuongDan": portal.add_file(f"{code}/to-khai.pdf", pdf(code)),
            },
            {
                "MaThanhPhan": "giay_to_tuy_than",
                "TenTep": "can-cuoc.jpg",
                "DuongDan": portal.add_file(f"{code}/can-cuoc.jpg", jpeg(code)),
            },
        ],
    }


async def started(api: Api, portal_code: str) -> str:
    """The motcua code of a portal dossier, once its workflow has been started."""
    for _ in range(600):
        row = await asyncio.to_thread(repository.portal_dossier, api.engine, portal_code)
        if row is not None and row.started_at is not None:
            return row.dossier_code
        await asyncio.sleep(0.05)
    raise AssertionError(f"{portal_code} was never started")


async def statuses(
    portal: PortalSimulator, portal_code: str, until: int, seconds: float = 30
) -> list[dict[str, Any]]:
    """What the portal has received about a dossier, once its last status is `until`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        got = portal.statuses_of(portal_code)
        if got and got[-1]["TrangThaiHoSo"] == until:
            return got
        assert loop.time() < deadline, [m["TrangThaiHoSo"] for m in got]
        await asyncio.sleep(0.1)


async def dossier_workflows(api: Api) -> int:
    return (await api.client.count_workflows("WorkflowType = 'DossierWorkflow'")).count


async def test_a_dossier_delivered_twice_becomes_one_and_its_statuses_reach_the_portal(
    stack: Api, portal: PortalSimulator
) -> None:
    api = stack
    now = datetime.now(UTC).replace(microsecond=0)
    # A is Nguyễn Văn An, who receives the result at the counter (walk_to_returned).
    a = filed(portal, "A", "Nguyễn Văn An", "001090000101", now - timedelta(hours=1))
    b = filed(portal, "B", "Trần Thị Bé", "001090000102", now)

    # The portal misbehaves: its list answers 500, then too late; A's first file 500.
    portal.fail(FEED, 500, "timeout")
    portal.fail(FILES, 500)
    portal.fail_every = 3  # and every third status update is lost
    # The later dossier first, and A twice; A is also pushed, twice at once.
    portal.file(b, a, a)
    push_url = f"{api.url}/v1/portal/dossiers"
    pushes = await asyncio.gather(
        asyncio.to_thread(portal.push, push_url, a, SECRET),
        asyncio.to_thread(portal.push, push_url, a, SECRET),
    )
    code_a = await started(api, a["MaHoSo"])
    code_b = await started(api, b["MaHoSo"])
    assert code_a != code_b
    assert {status for status, _ in pushes} <= {200, 201}
    assert {receipt["dossier_code"] for _, receipt in pushes} == {code_a}

    # Delivered again once started: the same dossier, nothing started.
    status, receipt = await asyncio.to_thread(portal.push, push_url, a, SECRET)
    assert (status, receipt["dossier_code"], receipt["duplicate"]) == (200, code_a, True)
    # The pull has gone through the whole feed (B, A, A) despite its failures.
    poller = api.client.get_workflow_handle(f"portal-pull:{api.settings.centre_task_queue}")
    for _ in range(200):
        position = await poller.query("position")
        if position and position["cursor"] == "3":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError(f"the pull never read the whole feed: {position}")
    assert portal.calls[FEED] >= 3 and portal.unauthorised == 0
    row = await asyncio.to_thread(repository.portal_dossier, api.engine, a["MaHoSo"])
    assert row is not None and row.deliveries >= 4  # 2 pushes, the push again, 2 pulls
    # One dossier each: two dossier workflows in this namespace, no more.
    for _ in range(100):
        count = (await api.client.count_workflows("WorkflowType = 'DossierWorkflow'")).count
        assert count <= 2
        if count == 2:
            break
        await asyncio.sleep(0.05)
    assert count == 2

    # A was started with the portal's files, as filed on the portal, online.
    service = DossierService(api.client, api.engine, api.catalog, api.settings)
    view = await service.state(code_a)
    assert view.channel.value == "online"
    assert view.submitted_at == datetime.fromisoformat(a["NgayNopHoSo"])
    assert view.applicant_account == "vneid-001090000101"
    store = open_document_store(api.settings.resolved_document_store)
    assert [store.get(d.sha256) for d in view.documents] == [
        portal.files[f"{a['MaHoSo']}/to-khai.pdf"],
        portal.files[f"{a['MaHoSo']}/can-cuoc.jpg"],
    ]

    # A's life: a supplement at intake, accepted, a second supplement during appraisal,
    # then appraised, approved, signed and returned.
    citizen = Actor(id="vneid-001090000101", name="Nguyễn Văn An", role=Role.APPLICANT)
    extra = store.put(pdf(f"bo sung {code_a}"))
    more = {"documents": [{"kind": "giay_to_cu_tru", "filename": "cu-tru.pdf", "sha256": extra}]}
    missing = {"missing": ["Giấy tờ chứng minh nơi cư trú"]}
    await service.act(code_a, Action.REQUEST_SUPPLEMENT, ActionInput(actor=INTAKE, data=missing))
    await service.act(code_a, Action.SUPPLEMENT, ActionInput(actor=citizen, data=more))
    await service.act(code_a, Action.ACCEPT, ActionInput(actor=INTAKE))
    await wait_for_step(service, code_a, "tra_cuu_xac_minh")
    await service.act(
        code_a, Action.REQUEST_SUPPLEMENT, ActionInput(actor=SPECIALIST, data=missing)
    )
    await service.act(code_a, Action.SUPPLEMENT, ActionInput(actor=citizen, data=more))
    await walk_to_returned(service, code_a)

    got = await statuses(portal, a["MaHoSo"], until=10)
    sent = [r.id for r in await asyncio.to_thread(repository.list_outbox, api.engine, code_a)]
    keys = [k for k, body in portal.acknowledged if body["MaHoSo"] == a["MaHoSo"]]
    assert keys == [k for k in sent if k.endswith(":dvcqg")]  # each once, in order
    codes = [m["TrangThaiHoSo"] for m in got]
    assert codes == [1, 5, 1, 2, 4, 5, 4, 9, 10], codes
    assert {m["MaHoSo"] for m in got} == {a["MaHoSo"]}
    assert {m["MaHoSoDiaPhuong"] for m in got} == {code_a}
    assert {m["KenhThucHien"] for m in got} == {2}
    assert [m["SoLanYeuCauBoSung"] for m in got] == [0, 1, 1, 1, 1, 2, 2, 2, 2]
    # More than one supplement request: overdue for the national index.
    assert [m["QuaHan"] for m in got] == [False] * 5 + [True] * 4
    assert {m["DuocThanhToanTrucTuyen"] for m in got} == {0}
    link = f"{PUBLIC}/ui/verify?code={code_a}"
    assert [m["DuongDanTepTinKetQua"] for m in got] == [None] * 7 + [link] * 2
    assert got[-1]["MaKetQua"] and got[-1]["NgayKetThucXuLy"]
    # The link opens the public verification page, which shows that very result.
    async with api.http() as http:
        page = await http.get(link.replace(PUBLIC, api.url))
        issued = await http.get(f"/v1/issued/{code_a}")
    assert page.status_code == 200 and issued.status_code == 200, issued.text
    assert got[-1]["MaKetQua"] in [d["number"] for d in issued.json()["documents"]]

    # B reached the portal too, under its own code.
    [first] = (await statuses(portal, b["MaHoSo"], until=1))[:1]
    assert (first["MaHoSo"], first["MaHoSoDiaPhuong"]) == (b["MaHoSo"], code_b)


async def test_the_push_takes_only_what_the_portal_signed_and_can_be_used(
    stack: Api, portal: PortalSimulator
) -> None:
    api = stack
    url = f"{api.url}/v1/portal/dossiers"
    dossier = filed(portal, "C", "Lê Văn Cư", "001090000103", datetime.now(UTC))
    body = json.dumps(dossier).encode()
    stamp = str(int(time.time()))
    before = await dossier_workflows(api)
    async with api.http() as http:

        async def push(raw: bytes, headers: dict[str, str]) -> tuple[int, str]:
            r = await http.post(
                url, content=raw, headers={"Content-Type": "application/json", **headers}
            )
            return r.status_code, r.json()["error"]["message"] if r.status_code >= 400 else ""

        unsigned = await push(body, {})
        forged = await push(
            body, {"X-Portal-Timestamp": stamp, "X-Portal-Signature": sign("x" * 20, stamp, body)}
        )
        old = str(int(time.time()) - 3600)
        stale = await push(
            body, {"X-Portal-Timestamp": old, "X-Portal-Signature": sign(SECRET, old, body)}
        )

        def signed(d: dict[str, Any]) -> dict[str, str]:
            raw = json.dumps(d).encode()
            return {"X-Portal-Timestamp": stamp, "X-Portal-Signature": sign(SECRET, stamp, raw)}

        bad_code = {**dossier, "MaHoSo": "../../etc"}
        unknown = {**dossier, "MaTTHC": "9.999999"}
        elsewhere = {
            **dossier,
            "TaiLieuNop": [{**dossier["TaiLieuNop"][0], "DuongDan": "http://127.0.0.1:9/x.pdf"}],
        }
        gone = {
            **dossier,
            "TaiLieuNop": [
                {**dossier["TaiLieuNop"][0], "DuongDan": portal.base + "/dvcqg/tep/none"}
            ],
        }
        answers = {
            name: await push(json.dumps(d).encode(), signed(d))
            for name, d in [
                ("bad_code", bad_code),
                ("unknown", unknown),
                ("elsewhere", elsewhere),
                ("gone", gone),
            ]
        }
    assert unsigned[0] == forged[0] == stale[0] == 401
    assert "X-Portal-Signature" in unsigned[1] and "lệch quá 300 giây" in stale[1]
    assert answers["bad_code"][0] == 422 and "MaHoSo" in answers["bad_code"][1]
    assert answers["unknown"][0] == 422 and "9.999999" in answers["unknown"][1]
    assert (
        answers["elsewhere"][0] == 422 and "không thuộc kho tệp của Cổng" in answers["elsewhere"][1]
    )
    assert answers["gone"][0] == 422 and "Cổng trả lời 404" in answers["gone"][1]
    # Nothing refused was bound (no motcua number consumed), nor started.
    assert await asyncio.to_thread(repository.portal_dossier, api.engine, dossier["MaHoSo"]) is None
    assert await dossier_workflows(api) == before


async def test_administrators_see_the_portal_dossiers_the_pull_went_past(stack: Api) -> None:
    api = stack
    code = f"G22.99-SKIP-{uuid.uuid4().hex[:6]}"
    await asyncio.to_thread(
        repository.record_portal_skip, api.engine, code, "pull", "MaTTHC: không có trong danh mục"
    )
    async with api.http() as http:
        r = await http.get("/v1/portal/skipped", headers=api.headers(Role.ADMIN, None))
        assert r.status_code == 200, r.text
        listed = {row["portal_code"]: row for row in r.json()}
        assert listed[code]["reason"] == "MaTTHC: không có trong danh mục"
        assert listed[code]["times"] == 1 and listed[code]["via"] == "pull"
        r = await http.get("/v1/portal/skipped", headers=api.headers(Role.AUDITOR, None))
        assert r.status_code == 403, r.text
        assert (await http.get("/v1/portal/skipped")).status_code == 401
