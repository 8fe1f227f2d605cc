"""Metrics: motcua's Prometheus counters, the Temporal runtime's SDK metrics, /metrics."""

from __future__ import annotations

import logging
import socket
import threading
import urllib.request
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

if TYPE_CHECKING:
    from domain.dossier import DossierView, Event
    from infra.settings import Settings

log = logging.getLogger(__name__)


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
