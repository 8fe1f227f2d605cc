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
every text through `infra.privacy.redact` (docs/personal-data.md).

Where things are:

- ``names.py``: the service names and the span attribute keys (`DOSSIER_CODE`, ...).
- ``tracing.py``: the tracer provider, `redacted_span`, `capture_spans`, `setup_tracing`.
- ``instrumentation.py``: `TRACING` and the interceptors for Temporal clients, workers
  and workflows; `instrument_fastapi`; `note_procedure`.
- ``metrics.py``: `REGISTRY` and its counters, `observe_events`, the Temporal runtime,
  `render_metrics`, `serve_metrics`.
- ``logs.py``: `ContextFilter`, `RedactFilter`, `JsonFormatter`, `configure_logging`.
- ``process.py``: `setup_telemetry`, what a process sets up once.
"""

from infra.telemetry.instrumentation import (
    TRACING,
    MotcuaTracingInterceptor,
    client_interceptors,
    instrument_fastapi,
    note_procedure,
    worker_interceptors,
)
from infra.telemetry.logs import (
    TEXT_FORMAT,
    ContextFilter,
    JsonFormatter,
    RedactFilter,
    configure_logging,
    log_handler,
)
from infra.telemetry.logs import _NoQueryString as _NoQueryString
from infra.telemetry.metrics import (
    DOSSIERS_OVERDUE,
    DOSSIERS_RECEIVED,
    DOSSIERS_RETURNED,
    DOSSIERS_SUBMITTED,
    ESCALATIONS,
    METRICS_CONTENT_TYPE,
    REGISTRY,
    STEP_DURATION,
    install_temporal_runtime,
    observe_events,
    render_metrics,
    serve_metrics,
)
from infra.telemetry.names import (
    DOSSIER_CODE,
    PROCEDURE_CODE,
    SERVICE_API,
    SERVICE_DEV,
    SERVICE_WORKER,
)
from infra.telemetry.process import setup_telemetry
from infra.telemetry.tracing import (
    add_span_processor,
    capture_spans,
    current_trace_ids,
    redacted_span,
    remove_span_processor,
    setup_tracing,
    tracer_provider,
)

__all__ = [
    "DOSSIERS_OVERDUE",
    "DOSSIERS_RECEIVED",
    "DOSSIERS_RETURNED",
    "DOSSIERS_SUBMITTED",
    "DOSSIER_CODE",
    "ESCALATIONS",
    "METRICS_CONTENT_TYPE",
    "PROCEDURE_CODE",
    "REGISTRY",
    "SERVICE_API",
    "SERVICE_DEV",
    "SERVICE_WORKER",
    "STEP_DURATION",
    "TEXT_FORMAT",
    "TRACING",
    "ContextFilter",
    "JsonFormatter",
    "MotcuaTracingInterceptor",
    "RedactFilter",
    "add_span_processor",
    "capture_spans",
    "client_interceptors",
    "configure_logging",
    "current_trace_ids",
    "install_temporal_runtime",
    "instrument_fastapi",
    "log_handler",
    "note_procedure",
    "observe_events",
    "redacted_span",
    "remove_span_processor",
    "render_metrics",
    "serve_metrics",
    "setup_telemetry",
    "setup_tracing",
    "tracer_provider",
    "worker_interceptors",
]
