"""The HTTP API killed (SIGKILL) and started again during a burst of concurrent
submissions carrying Idempotency-Keys: every intended dossier exists exactly once, and
a retry with the same key returns the same dossier (issue 10, item 2).

The API is `motcua api`, a process of its own configured by environment variables (one
PostgreSQL read model with the workers, the session's Temporal dev server on a namespace
of the test's own); the centre's worker runs in the test process (it only records the
submissions and answers the API's state queries). A burst of submissions, half by
applicants online and half by an intake officer at the counter (one principal, many
keys), each with its own key: a first wave at once, while the centre's worker is not
running yet, so that a request that has started its dossier waits for the answer to
its state query; once a few have started their dossiers a second wave, while the
dossier-number sequence is locked so that requests that have not yet reserved their
number wait there; then the API process is killed, the centre's worker started, and a
new API process started on the same port and database. The kill cuts requests in every
phase: key claimed and no dossier started, dossier started and never answered (held
there, not caught by chance: on a busy machine the first wave used to be answered in
full before the kill). Each client does what a client of an idempotent API must: when a
request fails (connection refused or reset, a 5xx, or 409 "still in progress") it sends
the same request with the same key again, until it gets its dossier.

Then: every client got a dossier; the codes are all different; the read model and
Temporal each hold exactly one dossier per submission (by the applicant's ID number),
none doubled, none lost; every key names its dossier; sending any request again with
its key answers 200 with the same code. Last, the phase a kill rarely catches (a code
reserved under the key, its dossier not started yet) is set up as such a request leaves
it, and three concurrent retries start that dossier, under that code, once.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from api.auth import issue_token
from api.schemas import SubmitDossier
from domain.catalog import Role
from motcua.devserver import DevServer, find_free_port
from motcua.stack import workers_running
from services.audit.history import decode
from services.dossiers import TZ
from store import repository
from store.models import DossierRow, DossierSequenceRow, IdempotencyKeyRow
from tests.devserver.conftest import new_namespace
from tests.exactly_once import rows
from tests.faults.support import (
    CENTRE,
    POLICE,
    PROCEDURE,
    PUBLIC_BASE_URL,
    service_settings,
    table_locked,
    waiting_on_lock,
)
from tests.files import pdf
from tests.harness import pki_manifest_for_tests
from tests.payload_keys import plain
from tests.processes import motcua_env, running_fleet

TO_KHAI = base64.b64encode(pdf("to khai")).decode()
CAN_CUOC = base64.b64encode(pdf("can cuoc")).decode()

pytestmark = [pytest.mark.slow, pytest.mark.timeout(150)]

SUBMISSIONS = 24
FIRST_WAVE = 16  # sent at once; the others once a few of these are answered
KILL_AFTER = 4  # dossiers started (unanswered: no worker yet) before the API is killed
CLIENT_LIMIT = 60  # seconds a client keeps retrying its submission
RETRY_PAUSE = 0.2  # seconds between a client's attempts


@dataclass
class Submission:
    """One intended dossier: who submits it, with which key, and what came back."""

    n: int
    principal: str
    headers: dict[str, str]
    body: dict[str, object]
    key: str
    code: str | None = None  # what the API answered
    attempts: int = 0
    failures: Counter[str] = field(default_factory=Counter)

    @property
    def id_number(self) -> str:
        applicant = self.body["applicant"]
        assert isinstance(applicant, dict)
        return str(applicant["id_number"])


def body(n: int) -> dict[str, object]:
    return {
        "procedure_code": PROCEDURE,
        "applicant": {
            "name": f"Nguyễn Văn Thử {n}",
            "id_number": f"0790{n:08d}",
            "phone": "0912345678",
            "address": "Hạ Long, Quảng Ninh",
        },
        "channel": "counter",
        "documents": [
            {
                "kind": "to_khai",
                "filename": "to-khai-03.pdf",
                "content_base64": TO_KHAI,
            },
            {
                "kind": "giay_to_tuy_than",
                "filename": "can-cuoc.pdf",
                "content_base64": CAN_CUOC,
            },
        ],
    }


async def submit(http: httpx.AsyncClient, s: Submission) -> str:
    """Send the submission until it is answered with its dossier, the same key each time."""
    deadline = time.monotonic() + CLIENT_LIMIT
    while True:
        s.attempts += 1
        try:
            r = await http.post(
                "/v1/dossiers", json=s.body, headers={**s.headers, "Idempotency-Key": s.key}
            )
        except httpx.TransportError as exc:
            s.failures[type(exc).__name__] += 1
        else:
            if r.status_code in (200, 201):
                s.code = str(r.json()["code"])
                return s.code
            if r.status_code >= 500 or r.status_code == 409:
                s.failures[f"{r.status_code} {r.json()['error']['code']}"] += 1
            else:
                raise AssertionError(f"submission {s.n}: {r.status_code} {r.text}")
        if time.monotonic() > deadline:
            raise AssertionError(f"submission {s.n} ({s.key}) never answered: {dict(s.failures)}")
        await asyncio.sleep(RETRY_PAUSE)


def request_digest(s: Submission) -> str:
    """What the API keys a request's body by (api/routes/dossiers.py)."""
    role = Role.APPLICANT if s.principal.startswith("citizen-") else Role.INTAKE_OFFICER
    body = SubmitDossier.model_validate(s.body).model_dump(mode="json")
    return hashlib.sha256(json.dumps([role.value, body], sort_keys=True).encode()).hexdigest()


@pytest.fixture
async def client(devserver: DevServer, devserver_client: Client) -> AsyncIterator[Client]:
    yield await new_namespace(devserver_client, devserver.address, "apikill")


async def test_api_killed_during_a_burst_every_dossier_exactly_once(
    devserver: DevServer, client: Client, shared_database: Engine, tmp_path: Path
) -> None:
    started = time.monotonic()
    engine = shared_database
    centre_queue = f"centre-apikill-{client.namespace[-12:]}"
    state = tmp_path / "state"
    (state / "documents").mkdir(parents=True)
    logs = tmp_path / "logs"
    logs.mkdir()
    port = find_free_port()
    settings = service_settings(state, centre_queue, api_port=port)
    env = motcua_env(
        temporal_address=devserver.address,
        namespace=client.namespace,
        centre_queue=centre_queue,
        centre_agency=CENTRE,
        database_url=engine.url.render_as_string(hide_password=False),
        state=state,
        pki_manifest=pki_manifest_for_tests(),
        public_base_url=PUBLIC_BASE_URL,
        MOTCUA_RATE_LIMIT_PER_MINUTE="100000",
        MOTCUA_RATE_LIMIT_SUBMIT_PER_MINUTE="100000",
    )

    def submission(n: int) -> Submission:
        if n % 2:  # an applicant online, for their own account
            sub, role, agency = f"citizen-{n:03d}", Role.APPLICANT, None
        else:  # the counter: one officer, one key per dossier
            sub, role, agency = f"intake@{CENTRE}", Role.INTAKE_OFFICER, CENTRE
        token = issue_token(settings, sub=sub, roles=[role], agency=agency, name=sub)
        return Submission(
            n=n,
            principal=sub,
            headers={"Authorization": f"Bearer {token}"},
            body=body(n),
            key=f"burst-{n:03d}",
        )

    submissions = [submission(n) for n in range(1, SUBMISSIONS + 1)]
    first_wave, second_wave = submissions[:FIRST_WAVE], submissions[FIRST_WAVE:]

    centre = AsyncExitStack()
    async with (
        running_fleet(env, logs, centre_queue) as fleet,
        centre,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        first = fleet.start_api("api-1", port)
        await first.wait_ready()
        ready = time.monotonic()

        burst = [asyncio.create_task(submit(http, s)) for s in first_wave]
        # Once a few have started their dossiers (and wait for the worker's answer), the
        # others are on their way...
        while len(await started_dossiers(client, engine)) < KILL_AFTER:
            assert not any(t.done() for t in burst), [t.result() for t in burst if t.done()]
            await asyncio.sleep(0.05)
        # ...and the second wave arrives; those that have not reserved a dossier number yet
        # are held there (the number's sequence locked): the API is killed with requests
        # in every phase.
        with table_locked(engine, "dossier_sequences"):
            burst += [asyncio.create_task(submit(http, s)) for s in second_wave]
            await wait_until(
                "a request waits for its number",
                lambda: waiting_on_lock(engine, "dossier_sequences"),
            )
            await first.kill()
        killed = time.monotonic()
        cut = await phases(client, engine, submissions)
        await centre.enter_async_context(workers_running(client, settings, engine))
        second = fleet.start_api("api-2", port)
        await second.wait_ready()
        back = time.monotonic()
        outcomes = await asyncio.gather(*burst, return_exceptions=True)
        done = time.monotonic()

        # -- every client got its dossier, each a different one
        codes = {s.key: s.code for s in submissions}
        if not all(codes.values()):
            stored = rows(engine, IdempotencyKeyRow)
            workflows = {wf.id async for wf in client.list_workflows()}
            unnamed = workflows - {k.dossier_code for k in stored}
            raise AssertionError(
                f"never answered: {[str(o) for o in outcomes if isinstance(o, BaseException)]}; keys left "
                f"in progress: {[(k.principal, k.key) for k in stored if not k.dossier_code]}; "
                f"dossiers started that no key names: {sorted(unnamed)}"
            )
        assert len(set(codes.values())) == SUBMISSIONS, Counter(codes.values())
        # ...and the same request with the same key answers with the same dossier.
        for s in submissions:
            r = await http.post(
                "/v1/dossiers", json=s.body, headers={**s.headers, "Idempotency-Key": s.key}
            )
            assert (r.status_code, r.json()["code"]) == (200, s.code), (s.key, r.text)
        second.check_alive()

        # -- one dossier per submission in Temporal and in the read model, none else
        executions = [wf async for wf in client.list_workflows()]
        assert sorted(wf.id for wf in executions) == sorted(str(c) for c in codes.values())
        id_numbers: dict[str, str] = {}
        for wf in executions:
            history = await client.get_workflow_handle(wf.id).fetch_history()
            id_numbers[wf.id] = decode([plain(history)]).input.applicant.id_number
        by_id_number = Counter(id_numbers.values())
        assert by_id_number == Counter(s.id_number for s in submissions)
        assert {s.id_number: id_numbers[str(s.code)] for s in submissions} == {
            s.id_number: s.id_number for s in submissions
        }
        dossiers = rows(engine, DossierRow)
        assert Counter(d.applicant_id_number for d in dossiers) == by_id_number
        assert sorted(d.code for d in dossiers) == sorted(id_numbers)
        named = {(k.principal, k.key): k.dossier_code for k in rows(engine, IdempotencyKeyRow)}
        assert named == {(s.principal, s.key): s.code for s in submissions}

        # -- the phase a kill rarely catches (a code reserved under the key, the dossier
        #    not started yet), left exactly as such a request leaves it: the retry starts
        #    that dossier, under that code, once.
        late = submission(SUBMISSIONS + 1)
        digest = request_digest(late)
        await asyncio.to_thread(
            repository.claim_idempotency_key, engine, late.key, late.principal, digest
        )
        reserved = await asyncio.to_thread(
            repository.allocate_dossier_code, engine, POLICE, datetime.now(TZ).date()
        )
        await asyncio.to_thread(
            repository.complete_idempotency_key, engine, late.key, late.principal, reserved
        )
        answers = await asyncio.gather(*(submit(http, late) for _ in range(3)))
        assert answers == [reserved] * 3
        history = await client.get_workflow_handle(reserved).fetch_history()
        assert decode([plain(history)]).input.applicant.id_number == late.id_number

    retried = Counter(k for s in submissions for k in s.failures.elements())
    print(
        f"\nAPI ready in {ready - started:.1f} s; killed with requests cut: {cut}; the new "
        f"API answered {back - killed:.1f} s later; every submission answered "
        f"{done - killed:.1f} s after the kill; failed attempts retried: {dict(retried)}"
    )


async def wait_until(what: str, check: Callable[[], object], limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not await asyncio.to_thread(check):
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        await asyncio.sleep(0.05)


async def started_dossiers(client: Client, engine: Engine) -> dict[str, str]:
    """The dossiers started so far, by the applicant's ID number: every code the sequence
    handed out, looked up in Temporal (no visibility lag)."""
    started: dict[str, str] = {}
    for seq in await asyncio.to_thread(rows, engine, DossierSequenceRow):
        day = datetime.strptime(seq.day, "%y%m%d").date()
        for n in range(1, seq.last_seq + 1):
            code = repository.format_dossier_code(seq.agency_code, day, n)
            try:
                history = await client.get_workflow_handle(code).fetch_history()
            except RPCError as exc:
                assert exc.status is RPCStatusCode.NOT_FOUND, exc
                continue
            started[decode([plain(history)]).input.applicant.id_number] = code
    return started


async def phases(client: Client, engine: Engine, submissions: list[Submission]) -> dict[str, int]:
    """Where the requests the kill cut off were: their dossier started or not, and whether
    their key names its code yet. The kill must have cut some of each of the first two."""
    started = await started_dossiers(client, engine)
    named = {(k.principal, k.key): k.dossier_code for k in rows(engine, IdempotencyKeyRow)}
    cut: Counter[str] = Counter()
    for s in submissions:
        if s.code is None:
            phase = "started" if s.id_number in started else "not started"
            if named.get((s.principal, s.key)):
                phase += ", its code named by the key"
            cut[phase] += 1
    assert cut["started"] + cut["started, its code named by the key"], cut
    assert cut["not started"] + cut["not started, its code named by the key"], cut
    return dict(cut)
