"""Connecting to Temporal the same way everywhere (workers, API, CLI, tests):
one data converter, so payloads written by one process replay in another, and one
tracing interceptor, so a trace runs from the caller into workflows and activities."""

from __future__ import annotations

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from motcua import telemetry
from motcua.settings import Settings

DATA_CONVERTER: DataConverter = pydantic_data_converter


async def connect(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=DATA_CONVERTER,
        # Tracing (workers made from this client inherit it); the process's Temporal
        # runtime, with its metrics, is the default one set by telemetry.setup_telemetry.
        interceptors=telemetry.client_interceptors(),
    )
