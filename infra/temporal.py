"""Connecting to Temporal the same way everywhere (workers, API, CLI, tests):
one data converter, so payloads written by one process replay in another (and every
payload is encrypted under the deployment's key ring, infra/codec.py), one
tracing interceptor, so a trace runs from the caller into workflows and activities,
and the TLS settings of the deployment (server CA, client certificate for mutual TLS)."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)
from temporalio.service import TLSConfig

from infra import telemetry
from infra.codec import EncryptionCodec
from infra.settings import Settings, keyring_for


def converter_with(codec: PayloadCodec | None) -> DataConverter:
    """Pydantic's data converter with `codec` over every payload, and failures whose
    message and stack trace travel as an (encoded) payload too: an exception's message
    may quote personal data. Without a codec: what reads plain histories."""
    return dataclasses.replace(
        pydantic_data_converter,
        payload_codec=codec,
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )


def data_converter(settings: Settings) -> DataConverter:
    """The one data converter of every process of a deployment (clients, workers made
    from them, the Replayer, the audit's history decoding): payloads encrypted under the
    settings' key ring."""
    return converter_with(EncryptionCodec(keyring_for(settings)))


def tls_config(settings: Settings) -> TLSConfig | bool:
    """The TLS to connect with: False (plain gRPC, the dev server), or a TLSConfig from
    the PEM files the settings name (unset CA: the system's roots)."""
    if not settings.uses_temporal_tls:
        return False

    def read(path: object) -> bytes | None:
        from pathlib import Path

        return Path(path).read_bytes() if path else None  # type: ignore[arg-type]

    return TLSConfig(
        server_root_ca_cert=read(settings.temporal_tls_ca_file),
        client_cert=read(settings.temporal_tls_cert_file),
        client_private_key=read(settings.temporal_tls_key_file),
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: Settings, *, lazy: bool = False) -> Client:
    """A client of the configured namespace. ``lazy``: connect on first use (the API
    starts, and its /readyz says why, while Temporal is still coming up)."""
    api_key = settings.temporal_api_key
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls_config(settings),
        api_key=api_key.get_secret_value() if api_key else None,
        lazy=lazy,
        # Tracing (workers made from this client inherit it); the process's Temporal
        # runtime, with its metrics, is the default one set by telemetry.setup_telemetry.
        interceptors=telemetry.client_interceptors(),
    )
