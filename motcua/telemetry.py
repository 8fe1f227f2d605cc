"""Observability: traces (OpenTelemetry), metrics (Prometheus) and structured logs.

Traces. One process-wide `TracerProvider` (`tracer_provider()`), made on first use with
the service name given to `setup_telemetry` and set as OpenTelemetry's global provider.
`TRACING` is the Temporal `TracingInterceptor` every client (`client_interceptors()`) and
worker (`worker_interceptors()`) uses, so one trace runs from the HTTP request through
the workflow start or update to the activities it causes. It adds the dossier code and
procedure code (never personal data) as `motcua.dossier_code` / `motcua.procedure_code`
to the caller's span, to the Temporal client spans, to workflow spans and to activity
spans. Spans are exported as `MOTCUA_OTEL_EXPORTER` says (`none`, `console`, `otlp`);
with `none` they still carry trace ids into the logs. Tests attach their own exporter
with `capture_spans()`.

Metrics. motcua's own counters and the step-duration histogram live in `REGISTRY`
(prometheus-client), moved by `observe_events` when the read model records a batch of
events. The Temporal SDK's own metrics come from the process's Temporal `Runtime` (made
by `install_temporal_runtime`, one per process), whose Prometheus exporter listens on a
loopback port; `render_metrics()` serves both as one Prometheus text page: the API's
`/metrics`, and `MOTCUA_METRICS_PORT` for workers (`serve_metrics`).

Logs. `configure_logging(json=True)` writes JSON lines with `dossier_code` (from the
activity or workflow being run: workflow id = dossier code; or from the current span) and
`trace_id` / `span_id` (from the current OpenTelemetry span).

Personal data. Spans reach every exporter through `redacted_span`, log records every
handler of `log_handler` through `RedactFilter`: no attribute named for personal data, and
every text through `motcua.privacy.redact` (docs/personal-data.md).
"""

from __future__ import annotations

import contextlib
import json as jsonlib
import logging
import socket
import threading
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

import opentelemetry.context
import opentelemetry.trace
import temporalio.activity
import temporalio.client
import temporalio.worker
import temporalio.workflow
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.util.types import Attributes, AttributeValue
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from temporalio.common import SearchAttributeKey, TypedSearchAttributes
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from motcua.privacy import personal_key, redact

if TYPE_CHECKING:
    from fastapi import FastAPI

    from domain.dossier import DossierView, Event
    from motcua.settings import Settings

SERVICE_API = "motcua-api"
SERVICE_WORKER = "motcua-worker"
SERVICE_DEV = "motcua-dev"

# Span attributes: codes only. Never the applicant's name, ID number, phone or address.
DOSSIER_CODE = "motcua.dossier_code"
PROCEDURE_CODE = "motcua.procedure_code"
_PROCEDURE_KEY = SearchAttributeKey.for_keyword("ProcedureCode")

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- traces


class _SpanProcessors(SpanProcessor):
    """The provider's one processor: forwards to processors that can be added and
    removed while the process runs (OpenTelemetry's provider only ever adds)."""

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()
        self._lock = threading.Lock()

    def add(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._processors = (*self._processors, processor)

    def remove(self, processor: SpanProcessor) -> None:
        with self._lock:
            self._processors = tuple(p for p in self._processors if p is not processor)

    def on_start(
        self, span: Span, parent_context: opentelemetry.context.Context | None = None
    ) -> None:
        for p in self._processors:
            p.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        # The one place spans leave the process: every exporter gets them redacted.
        processors = self._processors
        if not processors:
            return
        clean = redacted_span(span)
        for p in processors:
            p.on_end(clean)

    def shutdown(self) -> None:
        for p in self._processors:
            p.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all(p.force_flush(timeout_millis) for p in self._processors)


def _clean_value(value: AttributeValue) -> AttributeValue:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, tuple | list) and any(isinstance(v, str) for v in value):
        return tuple(redact(v) if isinstance(v, str) else v for v in value)
    return value


def _clean_attributes(attributes: Attributes) -> tuple[dict[str, AttributeValue], bool]:
    """The attributes without personal keys and with personal-looking text redacted,
    and whether anything changed."""
    out: dict[str, AttributeValue] = {}
    changed = False
    for key, value in (attributes or {}).items():
        if personal_key(key):
            changed = True
            continue
        out[key] = _clean_value(value)
        changed = changed or out[key] != value
    return out, changed


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """`span` as it may leave the process: no attribute whose key names personal data
    (applicant, id_number, phone, e-mail), and every text (attributes, event attributes
    such as a recorded exception's message and stack trace, the status description)
    through `privacy.redact`. The span itself when there was nothing to change."""
    attributes, changed = _clean_attributes(span.attributes)
    events = []
    for event in span.events:
        event_attributes, event_changed = _clean_attributes(event.attributes)
        changed = changed or event_changed
        events.append(
            SpanEvent(event.name, event_attributes, event.timestamp) if event_changed else event
        )
    status = span.status
    if status.description:
        description = redact(status.description)
        if description != status.description:
            status = SpanStatus(status.status_code, description)
            changed = True
    name = redact(span.name)
    if not changed and name == span.name:
        return span
    return ReadableSpan(
        name=name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=status,
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


_processors = _SpanProcessors()
_provider: TracerProvider | None = None
_service_name = "motcua"
_exporter_installed = False
_provider_lock = threading.Lock()


def tracer_provider() -> TracerProvider:
    """The process's tracer provider, made on first use (service name from
    `setup_telemetry`, else "motcua") and set as the global one when none is set."""
    global _provider
    with _provider_lock:
        if _provider is None:
            _provider = TracerProvider(resource=Resource.create({"service.name": _service_name}))
            _provider.add_span_processor(_processors)
            if isinstance(
                opentelemetry.trace.get_tracer_provider(), opentelemetry.trace.ProxyTracerProvider
            ):
                opentelemetry.trace.set_tracer_provider(_provider)
        return _provider


class _ProcessTracer(opentelemetry.trace.ProxyTracer):
    """A tracer of `tracer_provider()`, resolved on first use (so that module-level
    interceptors exist before the process has chosen its service name)."""

    @property
    def _tracer(self) -> opentelemetry.trace.Tracer:
        if self._real_tracer is None:
            self._real_tracer = tracer_provider().get_tracer(self._instrumenting_module_name)
        return self._real_tracer


def add_span_processor(processor: SpanProcessor) -> None:
    tracer_provider()
    _processors.add(processor)


def remove_span_processor(processor: SpanProcessor) -> None:
    _processors.remove(processor)


@contextlib.contextmanager
def capture_spans() -> Iterator[InMemorySpanExporter]:
    """Every span that ends while the block runs, in memory (tests, diagnostics)."""
    exporter = InMemorySpanExporter()
    processor = SimpleSpanProcessor(exporter)
    add_span_processor(processor)
    try:
        yield exporter
    finally:
        remove_span_processor(processor)


def setup_tracing(settings: Settings, service: str) -> None:
    """Name this process's service and export its spans as the settings say."""
    global _service_name, _exporter_installed
    if _provider is None:
        _service_name = service
    elif _service_name != service:
        log.warning("tracing already set up as %s; keeping that name", _service_name)
    tracer_provider()
    if _exporter_installed or settings.otel_exporter == "none":
        return
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    exporter: SpanExporter
    if settings.otel_exporter == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        _processors.add(SimpleSpanProcessor(ConsoleSpanExporter(service_name=service)))
    else:
        # Imported lazily: only processes that export over OTLP need it.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=settings.otel_endpoint or None)
        _processors.add(BatchSpanProcessor(exporter))
    _exporter_installed = True


def current_trace_ids() -> tuple[str | None, str | None]:
    """(trace id, span id) of the current span as hex, or (None, None)."""
    ctx = opentelemetry.trace.get_current_span().get_span_context()
    if not ctx.is_valid:
        return None, None
    return f"{ctx.trace_id:032x}", f"{ctx.span_id:016x}"


def _set_on_current_span(attributes: Mapping[str, AttributeValue | None]) -> None:
    span = opentelemetry.trace.get_current_span()
    if span.is_recording():
        span.set_attributes({k: v for k, v in attributes.items() if v is not None})


def note_procedure(code: str) -> None:
    """Name the dossier's procedure on the current span (an action's HTTP request: the
    update's result names it, where a state query used to)."""
    _set_on_current_span({PROCEDURE_CODE: code})


def _procedure_in(search_attributes: Any) -> str | None:
    if isinstance(search_attributes, TypedSearchAttributes):
        return search_attributes.get(_PROCEDURE_KEY)
    if isinstance(search_attributes, Mapping):
        values = search_attributes.get(_PROCEDURE_KEY.name)
        return str(values[0]) if values else None
    return None


def _procedure_of(args: Sequence[Any]) -> str | None:
    """The procedure code of a workflow's or activity's first argument, if it has one
    (DossierInput.procedure_code, or the .dossier view of the activity inputs)."""
    if not args:
        return None
    first = args[0]
    for holder in (first, getattr(first, "dossier", None)):
        code = getattr(holder, "procedure_code", None)
        if isinstance(code, str):
            return code
    return None


class _DossierAttributes(temporalio.client.OutboundInterceptor):
    """Puts the dossier code (= workflow id) and, at start, the procedure code on the
    current span: the caller's (the HTTP request's) when outside the tracing
    interceptor, the Temporal client span when inside it."""

    async def start_workflow(
        self, input: temporalio.client.StartWorkflowInput
    ) -> temporalio.client.WorkflowHandle[Any, Any]:
        _set_on_current_span(
            {
                DOSSIER_CODE: input.id,
                PROCEDURE_CODE: _procedure_in(input.search_attributes) or _procedure_of(input.args),
            }
        )
        return await super().start_workflow(input)

    async def start_workflow_update(
        self, input: temporalio.client.StartWorkflowUpdateInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        _set_on_current_span({DOSSIER_CODE: input.id})
        return await super().start_workflow_update(input)

    async def start_update_with_start_workflow(
        self, input: temporalio.client.StartWorkflowUpdateWithStartInput
    ) -> temporalio.client.WorkflowUpdateHandle[Any]:
        start = input.start_workflow_input
        _set_on_current_span(
            {
                DOSSIER_CODE: start.id,
                PROCEDURE_CODE: _procedure_in(start.search_attributes) or _procedure_of(start.args),
            }
        )
        return await super().start_update_with_start_workflow(input)

    async def signal_workflow(self, input: temporalio.client.SignalWorkflowInput) -> None:
        _set_on_current_span({DOSSIER_CODE: input.id})
        await super().signal_workflow(input)

    async def query_workflow(self, input: temporalio.client.QueryWorkflowInput) -> Any:
        _set_on_current_span({DOSSIER_CODE: input.id})
        result = await super().query_workflow(input)
        # A dossier's state (DossierView) names its procedure.
        procedure = getattr(result, "procedure_code", None)
        if isinstance(procedure, str):
            _set_on_current_span({PROCEDURE_CODE: procedure})
        return result


class _ActivityAttributes(temporalio.worker.ActivityInboundInterceptor):
    """Inside the RunActivity span: the dossier code (the workflow id) and the procedure."""

    async def execute_activity(self, input: temporalio.worker.ExecuteActivityInput) -> Any:
        info = temporalio.activity.info()
        _set_on_current_span(
            {DOSSIER_CODE: info.workflow_id, PROCEDURE_CODE: _procedure_of(input.args)}
        )
        return await super().execute_activity(input)


class _WorkflowTracing(TracingWorkflowInboundInterceptor):
    """The SDK's workflow tracing, with two changes.

    - An update's spans (ValidateUpdate, HandleUpdate) are children of the caller's
      StartWorkflowUpdate span, so they and any activity the handler starts (signing,
      sealing) are in the trace of the HTTP request that asked for the action; they link
      to the workflow's own trace. (The SDK puts them in the workflow's trace, linked to
      the caller, and marks a refused update as "CompleteWorkflow" with an error.)
    - Every workflow span carries the dossier code and, once known, the procedure code
      (from the ProcedureCode search attribute: deterministic workflow state).

    Spans are still made only when not replaying, through the SDK's extern function."""

    def _caller_carrier(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        header = input.headers.get(self.header_key)
        if not header:
            return None
        return self.payload_converter.from_payloads([header])[0] or None

    @contextlib.contextmanager
    def _caller_context(self, carrier: Any) -> Iterator[None]:
        context = self._set_on_context(self.text_map_propagator.extract(carrier))
        with attached_context(context):
            yield

    def handle_update_validator(self, input: temporalio.worker.HandleUpdateInput) -> None:
        carrier = self._caller_carrier(input)
        if carrier is None:
            super().handle_update_validator(input)
            return
        with self._caller_context(carrier):
            self._completed_span(
                f"ValidateUpdate:{input.update}",
                link_context_carrier=self._load_workflow_context_carrier(),
                kind=SpanKind.SERVER,
            )
            self.next.handle_update_validator(input)

    async def handle_update_handler(self, input: temporalio.worker.HandleUpdateInput) -> Any:
        carrier = self._caller_carrier(input)
        if carrier is None:
            return await super().handle_update_handler(input)
        with self._caller_context(carrier):
            self._completed_span(
                f"HandleUpdate:{input.update}",
                link_context_carrier=self._load_workflow_context_carrier(),
                kind=SpanKind.SERVER,
            )
            return await self.next.handle_update_handler(input)

    def _completed_span(
        self,
        span_name: str,
        *,
        additional_attributes: Attributes = None,
        **kwargs: Any,
    ) -> None:
        info = temporalio.workflow.info()
        attributes: dict[str, AttributeValue] = dict(additional_attributes or {})
        attributes[DOSSIER_CODE] = info.workflow_id
        procedure = info.typed_search_attributes.get(_PROCEDURE_KEY)
        if procedure:
            attributes[PROCEDURE_CODE] = procedure
        super()._completed_span(span_name, additional_attributes=attributes, **kwargs)


class MotcuaTracingInterceptor(TracingInterceptor):
    """`TracingInterceptor` plus motcua's span attributes and update parenting."""

    def intercept_client(
        self, next: temporalio.client.OutboundInterceptor
    ) -> temporalio.client.OutboundInterceptor:
        # Outer: the caller's span (the HTTP request); inner: the Temporal client span.
        return _DossierAttributes(super().intercept_client(_DossierAttributes(next)))

    def intercept_activity(
        self, next: temporalio.worker.ActivityInboundInterceptor
    ) -> temporalio.worker.ActivityInboundInterceptor:
        return super().intercept_activity(_ActivityAttributes(next))

    def workflow_interceptor_class(
        self, input: temporalio.worker.WorkflowInterceptorClassInput
    ) -> type[TracingWorkflowInboundInterceptor]:
        super().workflow_interceptor_class(input)  # registers the span extern function
        return _WorkflowTracing


TRACING = MotcuaTracingInterceptor(_ProcessTracer("temporalio.contrib.opentelemetry"))


def client_interceptors() -> list[temporalio.client.Interceptor]:
    """Interceptors for every Temporal client of motcua (workers made from the client
    inherit them)."""
    tracer_provider()  # made here, outside any workflow sandbox
    return [TRACING]


def worker_interceptors(client: temporalio.client.Client) -> list[temporalio.worker.Interceptor]:
    """Interceptors for a worker: tracing, unless its client already brings it."""
    tracer_provider()
    if any(isinstance(i, TracingInterceptor) for i in client.config()["interceptors"]):
        return []
    return [TRACING]


def _scrub_request_span(span: opentelemetry.trace.Span, scope: dict[str, Any]) -> None:
    """No query strings (the tracking route takes an ID number) and no client address
    on the request span."""
    if not span.is_recording():
        return
    path = str(scope.get("path", ""))
    attributes = getattr(span, "attributes", None) or {}
    if "http.url" in attributes:
        span.set_attribute("http.url", str(attributes["http.url"]).split("?", 1)[0])
    for key in ("http.target", "url.path"):
        if key in attributes:
            span.set_attribute(key, path)
    for key in ("url.query", "net.peer.ip", "client.address", "http.client_ip"):
        if key in attributes:
            span.set_attribute(key, "")


def instrument_fastapi(app: FastAPI) -> None:
    """A server span for every HTTP request (not for /metrics and health probes)."""
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app,
        tracer_provider=tracer_provider(),
        excluded_urls=r"/metrics$,/v1/healthz$,/v1/readyz$",
        exclude_spans=["receive", "send"],
        server_request_hook=_scrub_request_span,
    )


# --------------------------------------------------------------------------- metrics

REGISTRY = CollectorRegistry()
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

_LABELS = ("procedure", "agency")
DOSSIERS_SUBMITTED = Counter(
    "motcua_dossiers_submitted",
    "Dossiers submitted (recorded in the read model), by procedure and receiving centre",
    _LABELS,
    registry=REGISTRY,
)
DOSSIERS_RECEIVED = Counter(
    "motcua_dossiers_received",
    "Dossiers received (accepted at intake), by procedure and receiving agency",
    _LABELS,
    registry=REGISTRY,
)
DOSSIERS_RETURNED = Counter(
    "motcua_dossiers_returned",
    "Results returned to the applicant, by procedure and returning agency",
    _LABELS,
    registry=REGISTRY,
)
DOSSIERS_OVERDUE = Counter(
    "motcua_dossiers_overdue",
    "Dossiers that passed their appointment, by procedure and the agency holding them",
    _LABELS,
    registry=REGISTRY,
)
ESCALATIONS = Counter(
    "motcua_escalations",
    "Escalations of a late step, by procedure, agency and step kind",
    (*_LABELS, "step_kind"),
    registry=REGISTRY,
)
STEP_DURATION = Histogram(
    "motcua_step_duration_seconds",
    "Wall-clock time a step took, from its start to its end, by procedure, step kind and agency",
    ("procedure", "step_kind", "agency"),
    buckets=(
        60,
        300,
        900,
        3600,
        4 * 3600,
        8 * 3600,
        86400,
        2 * 86400,
        3 * 86400,
        5 * 86400,
        7 * 86400,
        10 * 86400,
        15 * 86400,
        30 * 86400,
        60 * 86400,
        float("inf"),
    ),
    registry=REGISTRY,
)
_COUNTED: dict[str, Counter] = {
    "submitted": DOSSIERS_SUBMITTED,
    "accept": DOSSIERS_RECEIVED,
    "return": DOSSIERS_RETURNED,
    "overdue": DOSSIERS_OVERDUE,
}


def observe_events(events: Sequence[Event], dossier: DossierView) -> None:
    """Count a recorded batch of a dossier's events, and time the steps it ended.

    Labels are codes only (procedure, agency, step kind): no personal data, and no
    dossier code (one series per dossier would swamp Prometheus)."""
    try:
        procedure = dossier.procedure_code
        steps = {s.step_id: s for s in dossier.steps}

        def agency_of(event: Event) -> str:
            step = steps.get(event.step_id or "")
            return (step.agency if step else None) or event.agency or dossier.centre_agency

        for event in events:
            counter = _COUNTED.get(event.kind)
            if counter is not None:
                counter.labels(procedure, agency_of(event)).inc()
            elif event.kind == "escalated":
                step_kind = event.step_kind.value if event.step_kind else ""
                ESCALATIONS.labels(procedure, agency_of(event), step_kind).inc()
        ended = {e.at for e in events}
        for step in dossier.steps:
            if step.started_at and step.ended_at and step.ended_at in ended:
                seconds = (step.ended_at - step.started_at).total_seconds()
                STEP_DURATION.labels(procedure, step.kind.value, step.agency).observe(
                    max(seconds, 0.0)
                )
        log.debug("recorded %d event(s): %s", len(events), ", ".join(e.kind for e in events))
    except Exception:  # metrics must never fail the projection
        log.exception("could not count the events of a dossier")


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


_runtime: Runtime | None = None
_sdk_metrics_url: str | None = None


def install_temporal_runtime(settings: Settings) -> Runtime:
    """The process's one Temporal Runtime, made the default for every client made after
    it: Core logs go to Python logging ("temporalio.core"), and the SDK's metrics to a
    Prometheus exporter on a loopback port that `render_metrics` reads."""
    global _runtime, _sdk_metrics_url
    if _runtime is not None:
        return _runtime
    metrics = None
    url = None
    if settings.temporal_sdk_metrics:
        address = f"127.0.0.1:{_free_loopback_port()}"
        metrics = PrometheusConfig(bind_address=address)
        url = f"http://{address}/metrics"
    _runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=metrics,
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
        )
    )
    Runtime.set_default(_runtime, error_if_already_set=False)
    _sdk_metrics_url = url
    return _runtime


def render_metrics(sdk_metrics_url: str | None = None) -> bytes:
    """motcua's metrics and the Temporal SDK's, as one Prometheus text page."""
    body = generate_latest(REGISTRY)
    url = sdk_metrics_url or _sdk_metrics_url
    if url:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                sdk: bytes = answer.read()
            body += sdk if sdk.endswith(b"\n") or not sdk else sdk + b"\n"
        except OSError as exc:
            body += f"# Temporal SDK metrics unavailable: {exc}\n".encode()
    return body


class _MetricsHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path.split("?", 1)[0] not in ("/metrics", "/"):
            self.send_error(404)
            return
        body = render_metrics()
        self.send_response(200)
        self.send_header("Content-Type", METRICS_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve_metrics(host: str, port: int) -> ThreadingHTTPServer:
    """Serve `render_metrics()` at http://host:port/metrics from a daemon thread."""
    server = ThreadingHTTPServer((host, port), _MetricsHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server


# --------------------------------------------------------------------------- logs


def _dossier_code_of(record: logging.LogRecord) -> str | None:
    given = getattr(record, "dossier_code", None)
    if given:
        return str(given)
    for extra in ("temporal_activity", "temporal_workflow"):
        info = getattr(record, extra, None)
        if isinstance(info, Mapping) and info.get("workflow_id"):
            return str(info["workflow_id"])
    if temporalio.activity.in_activity():
        return temporalio.activity.info().workflow_id
    if temporalio.workflow.in_workflow():
        return temporalio.workflow.info().workflow_id
    span = opentelemetry.trace.get_current_span()
    attributes = getattr(span, "attributes", None)
    if isinstance(attributes, Mapping) and attributes.get(DOSSIER_CODE):
        return str(attributes[DOSSIER_CODE])
    return None


class ContextFilter(logging.Filter):
    """Adds `dossier_code`, `trace_id` and `span_id` to every record (None when unknown)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.dossier_code = _dossier_code_of(record)
        except Exception:
            record.dossier_code = None
        if not getattr(record, "trace_id", None):
            record.trace_id, record.span_id = current_trace_ids()
        return True


_TRACEBACKS = logging.Formatter()


class RedactFilter(logging.Filter):
    """Every record's message, exception trace and stack through `privacy.redact` before
    any handler formats it: a pydantic error echoing the applicant's input, a failed
    statement's parameters, a URL with its query string, an ID number, phone or e-mail
    never reach a log line. (The record is changed in place: handlers added after this
    one, such as pytest's, see the redacted record too.)"""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: logging reports it, not us
            return True
        clean = redact(message)
        if clean != message and not self._redacted_arguments(record):
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True

    @staticmethod
    def _redacted_arguments(record: logging.LogRecord) -> bool:
        """Redact a record's arguments one by one and keep them, if the line they make
        is then clean (a clean record keeps its arguments as they are): a formatter may
        read them (uvicorn's access formatter unpacks
        them, and fails on a record whose arguments were replaced by its message)."""
        original = record.args
        if not isinstance(original, tuple) or not original:
            return False
        record.args = tuple(redact(a) if isinstance(a, str) else a for a in original)
        try:
            line = record.getMessage()
        except Exception:
            line = None
        if line is not None and redact(line) == line:
            return True
        record.args = original
        return False


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, dossier_code,
    trace_id, span_id, and the Temporal workflow/activity info when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "dossier_code": getattr(record, "dossier_code", None),
            "trace_id": getattr(record, "trace_id", None),
            "span_id": getattr(record, "span_id", None),
        }
        # Structured fields of a line (`extra={"fields": {...}}`), e.g. a supervisor's restarts.
        fields = getattr(record, "fields", None)
        if isinstance(fields, Mapping):
            for key, value in fields.items():
                out.setdefault(str(key), value)
        for extra in ("temporal_activity", "temporal_workflow"):
            info = getattr(record, extra, None)
            if isinstance(info, Mapping):
                out[extra.removeprefix("temporal_")] = {
                    k: v for k, v in info.items() if isinstance(v, str | int | float | bool)
                }
        if record.exc_text:
            out["exception"] = record.exc_text
        elif record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            out["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(out, ensure_ascii=False, default=str)


class _NoQueryString(logging.Filter):
    """uvicorn's access lines without query strings (the tracking route takes the
    applicant's ID number there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


# Libraries that say too much at INFO (font subsetting for every rendered form).
_QUIET = {"fontTools": logging.WARNING, "alembic.runtime.plugins": logging.WARNING}
TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s [%(dossier_code)s %(trace_id)s] %(message)s"
_HANDLER_NAME = "motcua"


def log_handler(json: bool, stream: Any = None) -> logging.Handler:
    """A stream handler with motcua's context and redaction filters and format."""
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(ContextFilter())
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if json else logging.Formatter(TEXT_FORMAT))
    return handler


def configure_logging(json: bool, level: str | int = "INFO") -> None:
    """Root logging for a motcua process: JSON lines (`json=True`) or text on stderr,
    with the dossier code and trace id of what is being run. Idempotent."""
    root = logging.getLogger()
    for h in list(root.handlers):
        if h.get_name() == _HANDLER_NAME:
            root.removeHandler(h)
    root.addHandler(log_handler(json))
    root.setLevel(level)
    for name, quiet in _QUIET.items():
        logging.getLogger(name).setLevel(quiet)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, _NoQueryString) for f in access.filters):
        access.addFilter(_NoQueryString())
    # uvicorn's own handlers (text mode keeps them) must not print what ours would redact.
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFilter) for f in logger.filters):
            logger.addFilter(RedactFilter())
    if json:
        _uvicorn_logs_to_root()


def _uvicorn_logs_to_root() -> None:
    """uvicorn configures its own text handlers when it starts: have its loggers
    propagate to the root (JSON) handler instead."""
    try:
        from uvicorn.config import LOGGING_CONFIG
    except ImportError:  # pragma: no cover - uvicorn is a dependency
        return
    LOGGING_CONFIG["handlers"] = {}
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        LOGGING_CONFIG["loggers"][name] = {"level": "INFO", "propagate": True}


# --------------------------------------------------------------------------- process

_metrics_server: ThreadingHTTPServer | None = None


def setup_telemetry(settings: Settings, service: str) -> None:
    """Everything a motcua process (`motcua api`, `worker`, `dev`) sets up once, first:
    logging, tracing, the Temporal runtime, and the metrics port when one is set."""
    global _metrics_server
    json = (
        settings.log_format == "json"
        if settings.log_format
        else (settings.environment == "production")
    )
    configure_logging(json=json, level=settings.log_level)
    setup_tracing(settings, service)
    install_temporal_runtime(settings)
    if settings.metrics_port and _metrics_server is None:
        _metrics_server = serve_metrics(settings.metrics_host, settings.metrics_port)
        log.info("metrics on http://%s:%d/metrics", settings.metrics_host, settings.metrics_port)
