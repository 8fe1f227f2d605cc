"""Observability of one real request: the span tree from the HTTP request through the
workflow start (or update) to the activities, the Prometheus counters it moves, and the
JSON log lines of its activities, with their dossier code and trace id.

A real uvicorn serves `create_app()` against the time-skipping test server, with the
centre's worker and the police's running (motcua.stack.workers_running), on a SQLite read
model and on a PostgreSQL one. Spans are captured in memory from the process's tracer
provider (nothing global is replaced: `telemetry.capture_spans()` adds a processor for
the block only).
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import urllib.request
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from sqlalchemy.engine import Engine
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client, WorkflowHistory
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from api.auth import issue_token
from domain.catalog import Role
from infra import telemetry
from infra.settings import Settings
from motcua.devserver import find_free_port
from motcua.stack import api_serving, workers_running
from store import repository
from tests.api.support import CENTRE, INTAKE, POLICE, PROCEDURE, Person, submission
from tests.devserver.journeys import shipped_catalog
from tests.harness import pki_manifest_for_tests
from tests.payload_keys import DATA_CONVERTER
from workers.centre import INTERCEPTORS
from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

PERSON = Person(sub="citizen-otel", id_number="001090077777", name="Nguyễn Thị Riêng Tư")
PERSONAL = (PERSON.name, PERSON.id_number, "0912345678", "Hạ Long", "thu@example.vn")


@dataclass
class Stack:
    url: str
    settings: Settings
    engine: Engine
    client: Client
    spans: InMemorySpanExporter
    codes: list[str] = field(default_factory=list)

    def headers(self, role: Role, agency: str | None) -> dict[str, str]:
        token = issue_token(
            self.settings, sub=f"{role.value}-1", roles=[role], agency=agency, name="Cán bộ"
        )
        return {"Authorization": f"Bearer {token}"}

    def http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30)


@pytest.fixture
def captured() -> Iterator[InMemorySpanExporter]:
    with telemetry.capture_spans() as exporter:
        yield exporter


@pytest.fixture
async def stack(
    ts_env: WorkflowEnvironment,
    engine: Engine,
    tmp_path: Path,
    captured: InMemorySpanExporter,
) -> AsyncIterator[Stack]:
    """The API and the workers of the centre and the police, on one traced client (as
    `motcua dev` runs them: the workers inherit the client's tracing interceptor)."""
    config = ts_env.client.config()
    config["interceptors"] = [*config["interceptors"], *telemetry.client_interceptors()]
    client = Client(**config)
    settings = Settings(
        centre_task_queue=f"centre-otel-{uuid.uuid4().hex[:8]}",
        state_dir=tmp_path,
        api_port=find_free_port(),
        rate_limit_per_minute=100_000,
        pki_manifest=pki_manifest_for_tests(),
        document_store=str(tmp_path / "documents"),
        archive_interval_seconds=0,
    )
    async with (
        workers_running(client, settings, engine, agencies=[POLICE]),
        api_serving(settings, client, engine, shipped_catalog()) as url,
    ):
        stack = Stack(url=url, settings=settings, engine=engine, client=client, spans=captured)
        yield stack
        # Nothing left running on the test server once the test is done.
        for code in stack.codes:
            await client.get_workflow_handle(code).terminate("test finished")


# --------------------------------------------------------------------------- helpers


def named(
    spans: Sequence[ReadableSpan], name: str, trace_id: int | None = None
) -> list[ReadableSpan]:
    return [
        s
        for s in spans
        if s.name == name
        and (trace_id is None or (s.context is not None and s.context.trace_id == trace_id))
    ]


def one(spans: Sequence[ReadableSpan], name: str, trace_id: int | None = None) -> ReadableSpan:
    found = named(spans, name, trace_id)
    assert len(found) == 1, (name, [s.name for s in spans])
    return found[0]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


def span_id(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.span_id


def trace_of(span: ReadableSpan) -> int:
    assert span.context is not None
    return span.context.trace_id


async def spans_until(
    exporter: InMemorySpanExporter, done: Callable[[Sequence[ReadableSpan]], bool], what: str
) -> Sequence[ReadableSpan]:
    spans: Sequence[ReadableSpan] = ()
    for _ in range(400):
        spans = exporter.get_finished_spans()
        if done(spans):
            return spans
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saw {what}: {sorted({s.name for s in spans})}")


def assert_no_personal_data(spans: Sequence[ReadableSpan]) -> None:
    for s in spans:
        for key, value in (s.attributes or {}).items():
            text = str(value)
            for secret in PERSONAL:
                assert secret not in text, (s.name, key, value)


async def submit(stack: Stack, http: httpx.AsyncClient) -> str:
    r = await http.post("/v1/dossiers", json=submission(PERSON), headers=stack.headers(*INTAKE))
    assert r.status_code == 201, r.text
    code: str = r.json()["code"]
    stack.codes.append(code)
    return code


async def read_model_caught_up(stack: Stack, http: httpx.AsyncClient, code: str) -> None:
    for _ in range(400):
        r = await http.get(f"/v1/dossiers/{code}", headers=stack.headers(Role.AUDITOR, None))
        row = await asyncio.to_thread(repository.get_dossier, stack.engine, code)
        if row is not None and row.last_event_seq == r.json()["event_seq"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the read model of {code} never caught up")


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one Prometheus sample (0 when absent)."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name) : line.rindex("}") + 1]))
        if found == labels:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


# --------------------------------------------------------------------------- traces


async def test_a_request_is_one_trace_from_http_to_workflow_and_activities(stack: Stack) -> None:
    async with stack.http() as http:
        code = await submit(stack, http)
        spans = await spans_until(
            stack.spans,
            lambda ss: any(
                s.name == "RunActivity:record_dossier_events"
                and (s.attributes or {}).get(telemetry.DOSSIER_CODE) == code
                for s in ss
            ),
            "the submission's events recorded",
        )

        # The HTTP server span is the root of the submission's trace.
        request = one(
            [s for s in spans if (s.attributes or {}).get(telemetry.DOSSIER_CODE) == code],
            "POST /v1/dossiers",
        )
        assert request.kind is SpanKind.SERVER and request.parent is None
        trace = trace_of(request)
        assert request.attributes is not None
        assert request.attributes[telemetry.DOSSIER_CODE] == code
        assert request.attributes[telemetry.PROCEDURE_CODE] == PROCEDURE

        # HTTP request -> StartWorkflow (client) -> RunWorkflow (worker).
        start = one(spans, "StartWorkflow:DossierWorkflow", trace)
        assert start.kind is SpanKind.CLIENT and parent_of(start) == span_id(request)
        assert start.attributes is not None
        assert start.attributes[telemetry.DOSSIER_CODE] == code
        assert start.attributes[telemetry.PROCEDURE_CODE] == PROCEDURE
        assert start.attributes["temporalWorkflowID"] == code
        run = one(spans, "RunWorkflow:DossierWorkflow", trace)
        assert parent_of(run) == span_id(start)
        assert run.attributes is not None and run.attributes[telemetry.DOSSIER_CODE] == code

        # The workflow's activity: StartActivity (in the workflow, under the workflow's
        # context, i.e. the StartWorkflow span) -> RunActivity (in the activity worker).
        scheduled = named(spans, "StartActivity:record_dossier_events", trace)
        assert scheduled and all(parent_of(s) == span_id(start) for s in scheduled)
        ran = named(spans, "RunActivity:record_dossier_events", trace)
        assert ran
        for r in ran:
            assert r.kind is SpanKind.SERVER
            assert parent_of(r) in {span_id(s) for s in scheduled}
            assert r.attributes is not None
            assert r.attributes[telemetry.DOSSIER_CODE] == code
            assert r.attributes[telemetry.PROCEDURE_CODE] == PROCEDURE
        assert {trace_of(s) for s in (request, start, run, *scheduled, *ran)} == {trace}

        # An action: HTTP request -> StartWorkflowUpdate -> ValidateUpdate / HandleUpdate,
        # in the action's own trace, linked to the dossier's.
        r = await http.post(
            f"/v1/dossiers/{code}/actions",
            json={"action": "accept", "comment": "Hồ sơ hợp lệ"},
            headers=stack.headers(*INTAKE),
        )
        assert r.status_code == 200, r.text
        spans = await spans_until(
            stack.spans,
            lambda ss: (
                any(s.name == "POST /v1/dossiers/{code}/actions" for s in ss)
                and any(s.name == "HandleUpdate:accept" for s in ss)
            ),
            "the accept update handled",
        )
        action = one(spans, "POST /v1/dossiers/{code}/actions")
        assert action.kind is SpanKind.SERVER and action.parent is None
        assert action.attributes is not None
        assert action.attributes[telemetry.DOSSIER_CODE] == code
        assert action.attributes[telemetry.PROCEDURE_CODE] == PROCEDURE  # from its result
        action_trace = trace_of(action)
        assert action_trace != trace
        update = one(spans, "StartWorkflowUpdate:accept", action_trace)
        assert update.kind is SpanKind.CLIENT and parent_of(update) == span_id(action)
        assert update.attributes is not None
        assert update.attributes[telemetry.DOSSIER_CODE] == code
        handled = one(spans, "HandleUpdate:accept", action_trace)
        assert parent_of(handled) == span_id(update)
        validated = one(spans, "ValidateUpdate:accept", action_trace)
        assert parent_of(validated) == span_id(update)
        assert handled.attributes is not None
        assert handled.attributes[telemetry.DOSSIER_CODE] == code
        assert handled.attributes[telemetry.PROCEDURE_CODE] == PROCEDURE
        # ... linked to the dossier's own trace (where its workflow runs).
        assert [link.context.trace_id for link in handled.links] == [trace]

        # Public tracking takes the applicant's ID number in the query: not in any span.
        r = await http.get(f"/v1/track/{code}", params={"id_number": PERSON.id_number})
        assert r.status_code == 200, r.text
        spans = await spans_until(
            stack.spans,
            lambda ss: any(s.name == "GET /v1/track/{code}" for s in ss),
            "the tracking request",
        )
        assert_no_personal_data(spans)


# --------------------------------------------------------------------------- metrics and logs


async def test_metrics_move_and_activity_logs_carry_dossier_and_trace(stack: Stack) -> None:
    stream = io.StringIO()
    handler = telemetry.log_handler(json=True, stream=stream)
    logger = logging.getLogger("infra.telemetry")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        async with stack.http() as http:
            before = (await http.get("/metrics")).text
            code = await submit(stack, http)
            r = await http.post(
                f"/v1/dossiers/{code}/actions",
                json={"action": "accept", "comment": "Hồ sơ hợp lệ"},
                headers=stack.headers(*INTAKE),
            )
            assert r.status_code == 200, r.text
            await read_model_caught_up(stack, http, code)
            r = await http.get("/metrics")
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/plain")
            after = r.text
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

    labels = {"procedure": PROCEDURE, "agency": CENTRE}
    for name in ("motcua_dossiers_submitted_total", "motcua_dossiers_received_total"):
        assert sample(after, name, **labels) == sample(before, name, **labels) + 1, name
    # The intake step ended: its duration is in the histogram (no dossier code label).
    step = {"procedure": PROCEDURE, "step_kind": "intake", "agency": CENTRE}
    count = "motcua_step_duration_seconds_count"
    assert sample(after, count, **step) >= sample(before, count, **step) + 1
    assert code not in after
    for secret in PERSONAL:
        assert secret not in after

    # JSON lines from the projection activity: the dossier code (from the activity's
    # info) and the trace id (of the activity's span, in the submission's trace).
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    recorded = [
        x for x in lines if x["message"].startswith("recorded") and x["dossier_code"] == code
    ]
    assert recorded, lines
    first = recorded[0]
    assert set(first) >= {"time", "level", "logger", "message", "dossier_code", "trace_id"}
    assert re.fullmatch(r"[0-9a-f]{32}", first["trace_id"])
    runs = [
        s
        for s in stack.spans.get_finished_spans()
        if s.name == "RunActivity:record_dossier_events"
        and (s.attributes or {}).get(telemetry.DOSSIER_CODE) == code
    ]
    assert first["trace_id"] in {f"{trace_of(s):032x}" for s in runs}
    assert first["span_id"] in {f"{span_id(s):016x}" for s in runs}


async def test_metrics_include_the_temporal_sdk_metrics(ts_env: WorkflowEnvironment) -> None:
    """The SDK's Prometheus exporter (a Temporal Runtime's, on a loopback port) is read
    into the same page as motcua's metrics; the metrics port serves that page."""
    port = find_free_port()
    runtime = Runtime(
        telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"127.0.0.1:{port}"))
    )
    client = await Client.connect(
        ts_env.client.service_client.config.target_host,
        namespace=ts_env.client.namespace,
        runtime=runtime,
    )
    await client.workflow_service.get_system_info(GetSystemInfoRequest())
    page = telemetry.render_metrics(f"http://127.0.0.1:{port}/metrics").decode()
    assert "# TYPE motcua_dossiers_received_total counter" in page
    assert re.search(r'^temporal_request\{.*operation="GetSystemInfo"', page, re.M)

    server = telemetry.serve_metrics("127.0.0.1", find_free_port())
    try:
        host, served_port = server.server_address[:2]
        body = await asyncio.to_thread(
            lambda: urllib.request.urlopen(f"http://{host!s}:{served_port}/metrics").read()
        )
        assert b"# TYPE motcua_step_duration_seconds histogram" in body
    finally:
        server.shutdown()
        server.server_close()


def test_json_log_lines_outside_temporal_have_the_span_and_its_dossier() -> None:
    stream = io.StringIO()
    handler = telemetry.log_handler(json=True, stream=stream)
    logger = logging.getLogger("motcua.test_telemetry")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        with (
            telemetry.capture_spans(),
            telemetry.tracer_provider().get_tracer("t").start_as_current_span("request") as span,
        ):
            span.set_attribute(telemetry.DOSSIER_CODE, "000.00.20.H99-260101-0001")
            logger.info("hồ sơ %s", "ok")
        logger.info("no span")
    finally:
        logger.removeHandler(handler)
    inside, outside = (json.loads(line) for line in stream.getvalue().splitlines())
    assert inside["message"] == "hồ sơ ok"
    assert inside["dossier_code"] == "000.00.20.H99-260101-0001"
    assert inside["trace_id"] == f"{span.get_span_context().trace_id:032x}"
    assert outside["dossier_code"] is None and outside["trace_id"] is None


async def test_the_golden_histories_replay_with_the_workers_interceptors() -> None:
    """Tracing adds nothing to histories: every recorded history replays with the
    workers' interceptors (workers.centre.INTERCEPTORS), and replaying makes no spans."""
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=DATA_CONVERTER,
        workflow_runner=WORKFLOW_RUNNER,
        interceptors=INTERCEPTORS,
    )
    histories = sorted((Path(__file__).parents[1] / "histories").glob("*.json"))
    assert histories
    with telemetry.capture_spans() as spans:
        for path in histories:
            data = json.loads(path.read_text(encoding="utf-8"))
            await replayer.replay_workflow(WorkflowHistory.from_json(path.stem, data))
    assert not spans.get_finished_spans()


def test_access_log_lines_lose_their_query_string() -> None:
    """uvicorn's access line of the tracking route would carry the ID number."""
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", f"/v1/track/X?id_number={PERSON.id_number}", "1.1", 404),
        None,
    )
    assert telemetry._NoQueryString().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/track/X HTTP/1.1" 404'
