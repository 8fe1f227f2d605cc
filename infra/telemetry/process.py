"""Setting up a motcua process's telemetry once: logging, tracing, runtime, metrics port."""

from __future__ import annotations

import logging
from http.server import ThreadingHTTPServer
from typing import TYPE_CHECKING

from infra.telemetry.logs import configure_logging
from infra.telemetry.metrics import install_temporal_runtime, serve_metrics
from infra.telemetry.tracing import setup_tracing

if TYPE_CHECKING:
    from infra.settings import Settings

log = logging.getLogger(__name__)


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
