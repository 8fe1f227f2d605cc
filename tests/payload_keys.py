"""The payload key ring of the test suite (a test key, derived from a label: it protects
nothing) and the data converter every test client uses: the deployment's converter
(infra.temporal.data_converter) under that ring. tests/conftest.py exports the ring as
MOTCUA_PAYLOAD_KEYS, so every Settings() a test builds, every `motcua` command it runs
in-process and every process it starts (tests/processes.py) encrypts and decrypts with
the same keys as the test's own clients."""

from __future__ import annotations

import hashlib

from pydantic import SecretStr
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import DataConverter

from infra.codec import EncryptionCodec, KeyRing, payloads_in
from infra.settings import Settings
from infra.temporal import data_converter


def key_for_tests(label: str) -> bytes:
    """A 32-byte key made from `label`: reproducible, and worthless outside tests."""
    return hashlib.sha256(f"motcua test payload key: {label}".encode()).digest()


TEST_KEYRING = KeyRing(current="test-1", keys={"test-1": key_for_tests("test-1")})
TEST_PAYLOAD_KEYS = TEST_KEYRING.to_json()
TEST_SETTINGS = Settings(
    payload_keys=SecretStr(TEST_PAYLOAD_KEYS), payload_keys_file=None, payload_key_id=None
)
DATA_CONVERTER = data_converter(TEST_SETTINGS)


def converter_for_tests() -> DataConverter:
    """The test data converter, made anew (a child process's, for ReplayPool)."""
    return data_converter(TEST_SETTINGS)


def plain(history: WorkflowHistory) -> WorkflowHistory:
    """A copy of a history fetched from a test server, its payloads decrypted with the
    test keys (what `infra.codec.decoded_history` does, without awaiting)."""
    codec = DATA_CONVERTER.payload_codec
    assert isinstance(codec, EncryptionCodec)
    events = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        for payload in payloads_in(copy):
            payload.CopyFrom(codec.decrypt(payload))
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)
