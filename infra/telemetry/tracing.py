"""Traces: the process's tracer provider, redacting spans on their way out, exporters."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import opentelemetry.context
import opentelemetry.trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event as SpanEvent
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status as SpanStatus
from opentelemetry.util.types import Attributes, AttributeValue

from infra.privacy import personal_key, redact

if TYPE_CHECKING:
    from infra.settings import Settings

log = logging.getLogger(__name__)


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
