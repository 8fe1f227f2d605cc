"""Tracing Temporal (clients, workers, workflows) and FastAPI, with the dossier's codes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import opentelemetry.trace
import temporalio.activity
import temporalio.client
import temporalio.worker
import temporalio.workflow
from opentelemetry.trace import SpanKind
from opentelemetry.util.types import Attributes, AttributeValue
from temporalio.common import TypedSearchAttributes
from temporalio.contrib.opentelemetry import TracingInterceptor, TracingWorkflowInboundInterceptor
from temporalio.contrib.opentelemetry._context import attached_context

from infra.telemetry.names import _PROCEDURE_KEY, DOSSIER_CODE, PROCEDURE_CODE
from infra.telemetry.tracing import _ProcessTracer, tracer_provider

if TYPE_CHECKING:
    from fastapi import FastAPI


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
