"""The payload codec without a server: what leaves a process is ciphertext under the
current key with the key's id beside it; any key of the ring reads it back (rotation);
an altered or relabelled payload, or one under a key the ring lacks, is refused with the
key's id named (never the key); payloads written before encryption pass through; the key
ring's settings say what is wrong with them; and a committed dossier history, encrypted
whole, decodes to the same record and replays through the workers' converter."""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload
from temporalio.api.failure.v1 import Failure
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultFailureConverter
from temporalio.exceptions import ApplicationError
from typer.testing import CliRunner

from infra.codec import (
    ENCODING,
    KEY_ID_METADATA,
    NOT_ENCODED,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptionError,
    PayloadKeyError,
    decoded_history,
    payloads_in,
)
from infra.settings import Settings, SettingsError, get_settings, keyring_for, load_settings
from infra.temporal import connect, converter_with, data_converter
from services.audit.history import decode
from services.audit.replay import replay_history, replayer
from tests.payload_keys import key_for_tests

HISTORIES = Path(__file__).resolve().parents[1] / "histories"
KEY_A = key_for_tests("A")
KEY_B = key_for_tests("B")
RING_A = KeyRing(current="a", keys={"a": KEY_A})
RING_AB = KeyRing(current="b", keys={"a": KEY_A, "b": KEY_B})
RING_B = KeyRing(current="b", keys={"b": KEY_B})
NAME = "Hoàng Thị Mật"
ID_NUMBER = "079304777123"


def json_payload(value: Any) -> Payload:
    [p] = pydantic_data_converter.payload_converter.to_payloads([value])
    return p


def committed(name: str) -> WorkflowHistory:
    path = HISTORIES / f"{name}.json"
    return WorkflowHistory.from_json(name, path.read_text(encoding="utf-8"))


def encrypted(history: WorkflowHistory, codec: EncryptionCodec) -> WorkflowHistory:
    """The history as it would be had its workers encrypted every payload (the SDK
    leaves search attributes and headers alone, and the SDK's core writes its patch
    markers itself, in the clear)."""
    events = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        if event.HasField("marker_recorded_event_attributes"):
            assert event.marker_recorded_event_attributes.marker_name == "core_patch"
            events.append(copy)
            continue
        for payload in payloads_in(copy, skip=NOT_ENCODED):
            payload.CopyFrom(codec.encrypt(payload))
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)


def raw_bytes(history: WorkflowHistory) -> bytes:
    """Everything the history holds, as Temporal stores it (payload data as bytes) and
    as its JSON shows it."""
    return b"".join(e.SerializeToString() for e in history.events) + history.to_json().encode()


def secret_forms(*values: str) -> list[bytes]:
    """How a value could show in raw bytes: UTF-8, and JSON-escaped."""
    out = []
    for v in values:
        out += [v.encode(), json.dumps(v).strip('"').encode()]
    return out


# -- the codec ------------------------------------------------------------------------


async def test_a_payload_leaves_encrypted_under_the_current_key_and_comes_back_whole() -> None:
    codec = EncryptionCodec(RING_A)
    plain = json_payload({"name": NAME, "id_number": ID_NUMBER})
    [sealed] = await codec.encode([plain])
    assert sealed.metadata["encoding"] == ENCODING == b"binary/encrypted"
    assert sealed.metadata[KEY_ID_METADATA] == b"a"
    assert set(sealed.metadata) == {"encoding", KEY_ID_METADATA}  # json/plain is hidden too
    for form in secret_forms(NAME, ID_NUMBER, "json/plain"):
        assert form not in sealed.SerializeToString()
    [again] = await codec.encode([plain])
    assert again.data != sealed.data  # a fresh nonce every time
    [back] = await codec.decode([sealed])
    assert back == plain  # metadata and data, byte for byte


async def test_an_altered_or_relabelled_payload_is_refused() -> None:
    codec = EncryptionCodec(RING_AB)
    [sealed] = await codec.encode([json_payload({"id_number": ID_NUMBER})])
    for i in (0, 12, len(sealed.data) - 1):  # nonce, ciphertext, tag
        tampered = Payload()
        tampered.CopyFrom(sealed)
        data = bytearray(sealed.data)
        data[i] ^= 0x01
        tampered.data = bytes(data)
        with pytest.raises(PayloadDecryptionError, match="khóa 'b' không xác thực được"):
            await codec.decode([tampered])
    # The key id is authenticated: the same bytes under another key's id fail.
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[KEY_ID_METADATA] = b"a"
    with pytest.raises(PayloadDecryptionError, match="khóa 'a' không xác thực được"):
        await codec.decode([relabelled])
    truncated = Payload(metadata=dict(sealed.metadata), data=sealed.data[:20])
    with pytest.raises(PayloadDecryptionError, match="bị cắt cụt"):
        await codec.decode([truncated])


async def test_rotation_new_payloads_under_the_new_key_old_ones_still_read() -> None:
    [old] = await EncryptionCodec(RING_A).encode([json_payload("trước")])
    rotated = EncryptionCodec(RING_AB)  # b added and made current, a kept
    [new] = await rotated.encode([json_payload("sau")])
    assert new.metadata[KEY_ID_METADATA] == b"b"
    assert [p.data for p in await rotated.decode([old, new])] == [
        b'"tr\xc6\xb0\xe1\xbb\x9bc"',
        b'"sau"',
    ]
    # a dropped too early: its payloads are refused, the key id named, no key material.
    with pytest.raises(PayloadKeyError) as caught:
        await EncryptionCodec(RING_B).decode([old])
    message = str(caught.value)
    assert "khóa 'a'" in message and "bộ khóa có b" in message
    for key in (KEY_A, KEY_B):
        assert base64.b64encode(key).decode() not in message and key.hex() not in message


async def test_payloads_written_before_encryption_pass_through_unchanged() -> None:
    codec = EncryptionCodec(RING_A)
    plain = json_payload({"name": NAME})
    null = Payload(metadata={"encoding": b"binary/null"})
    decoded = await codec.decode([plain, null])
    assert decoded[0] is plain and decoded[1] is null


async def test_the_data_converter_encrypts_values_and_failure_messages() -> None:
    converter = converter_with(EncryptionCodec(RING_A))
    [payload] = await converter.encode([{"applicant": NAME}])
    assert payload.metadata["encoding"] == ENCODING
    assert await converter.decode([payload], [dict]) == [{"applicant": NAME}]
    # An exception's message may quote personal data: it travels encoded too.
    failure = Failure()
    await converter.encode_failure(ApplicationError(f"no record for {ID_NUMBER}"), failure)
    assert failure.message == "Encoded failure"
    assert failure.encoded_attributes.metadata["encoding"] == ENCODING
    assert ID_NUMBER.encode() not in failure.SerializeToString()
    error = await converter.decode_failure(failure)
    assert str(error) == f"no record for {ID_NUMBER}"


async def test_every_client_connects_with_the_settings_key_ring() -> None:
    """`connect` (the API, the workers made from its client, the CLI) carries the codec
    of the settings' ring and the failure converter that encodes messages."""
    ring = json.dumps({"current": "b", "keys": {"a": B64_A, "b": B64_B}})
    client = await connect(settings(payload_keys=SecretStr(ring)), lazy=True)
    codec = client.data_converter.payload_codec
    assert isinstance(codec, EncryptionCodec) and codec.ring == RING_AB
    assert isinstance(client.data_converter.failure_converter, DefaultFailureConverter)
    failure = Failure()
    await client.data_converter.encode_failure(ValueError(NAME), failure)
    assert failure.message == "Encoded failure"


# -- histories --------------------------------------------------------------------------


async def test_an_encrypted_history_decodes_to_the_same_record_and_replays() -> None:
    original = committed("happy_path")
    record = decode([original])
    name, id_number = record.input.applicant.name, record.input.applicant.id_number
    assert any(f in raw_bytes(original) for f in secret_forms(name, id_number))  # the scan works
    codec = EncryptionCodec(RING_A)
    history = encrypted(original, codec)
    assert not any(f in raw_bytes(history) for f in secret_forms(name, id_number))
    with pytest.raises(ValueError, match="binary/encrypted"):
        decode([history])  # the audit decoder reads plain payloads only
    plain = await decoded_history(history, codec)
    assert decode([plain]) == record
    # Compared as messages: the bytes of a map field (search attributes) may come out in
    # another order for the same map (one `make test` run failed on that).
    assert list(plain.events) == list(original.events)
    # The workers' converter replays it; without its key the replay fails, naming it.
    ok = await replayer(converter_with(codec)).replay_workflow(history)
    assert ok.replay_failure is None
    rotated = converter_with(EncryptionCodec(RING_AB))  # later: b current, a kept
    assert (await replayer(rotated).replay_workflow(history)).replay_failure is None
    without_a = converter_with(EncryptionCodec(RING_B))
    with pytest.raises(RuntimeError, match="PayloadKeyError"):
        await replayer(without_a).replay_workflow(history)
    report = await replay_history(history, run_id="r", source="archive", converter=without_a)
    assert not report.deterministic and report.error is not None
    assert report.error.startswith("PayloadKeyError: Payload được mã hóa bằng khóa 'a'")


async def test_every_committed_history_replays_plain_and_encrypted() -> None:
    """The histories recorded before encryption replay through the encrypting converter
    (plain payloads pass through), and so does each one encrypted whole."""
    codec = EncryptionCodec(RING_A)
    converter = converter_with(codec)
    paths = sorted(HISTORIES.glob("*.json"))
    assert len(paths) >= 9
    for path in paths:
        history = committed(path.stem)
        result = await replayer(converter).replay_workflow(history)
        assert result.replay_failure is None, path.name
        result = await replayer(converter).replay_workflow(encrypted(history, codec))
        assert result.replay_failure is None, path.name


# -- settings ---------------------------------------------------------------------------


def ring_json(keys: dict[str, Any], current: str | None = "a") -> str:
    data: dict[str, Any] = {"keys": keys}
    if current is not None:
        data["current"] = current
    return json.dumps(data)


B64_A = base64.b64encode(KEY_A).decode()
B64_B = base64.b64encode(KEY_B).decode()
PRODUCTION = {
    "environment": "production",
    "jwt_secret": SecretStr("s" * 40),
    "payment_gateway_secret": SecretStr("p" * 40),
}


def settings(**kw: Any) -> Settings:
    values: dict[str, Any] = {"payload_keys": None, "payload_keys_file": None}
    values.update(kw)
    return load_settings(**values)


def test_the_key_ring_comes_from_the_variable_or_the_file(tmp_path: Path) -> None:
    ring = keyring_for(settings(payload_keys=SecretStr(ring_json({"a": B64_A, "b": B64_B}))))
    assert ring.current == "a" and ring.keys == {"a": KEY_A, "b": KEY_B}
    path = tmp_path / "keys.json"
    path.write_text(ring_json({"a": B64_A, "b": B64_B}, current="b"))
    assert keyring_for(settings(payload_keys_file=path)).current == "b"
    # MOTCUA_PAYLOAD_KEY_ID chooses the current key among them.
    assert keyring_for(settings(payload_keys_file=path, payload_key_id="a")).current == "a"
    # One key needs no "current".
    assert (
        keyring_for(settings(payload_keys=SecretStr(ring_json({"a": B64_A}, None)))).current == "a"
    )


@pytest.mark.parametrize(
    ("ring", "message"),
    [
        ("{not json", "MOTCUA_PAYLOAD_KEYS không phải JSON"),
        ('{"a": "b"}', "MOTCUA_PAYLOAD_KEYS không phải một bộ khóa"),
        (ring_json({}), "MOTCUA_PAYLOAD_KEYS không có khóa nào"),
        (ring_json({"a": "***not base64***"}), "khóa 'a' không phải base64 hợp lệ"),
        (
            ring_json({"a": base64.b64encode(b"short").decode()}),
            "khóa 'a' dài 5 byte; AES-256 cần 32 byte",
        ),
        (
            ring_json({"a": B64_A}, current="z"),
            "khóa hiện hành 'z' không có trong các khóa của nó (a)",
        ),
        (ring_json({"a": B64_A, "b": B64_B}, None), "không nêu khóa 'current'"),
        (ring_json({"Nguyễn Văn A": B64_A}, "Nguyễn Văn A"), "không phải mã khóa hợp lệ"),
    ],
)
def test_a_bad_key_ring_stops_the_process_naming_what_is_wrong(ring: str, message: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(payload_keys=SecretStr(ring))
    assert message in str(caught.value)
    assert B64_A not in str(caught.value)


def test_other_key_settings_refused(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(ring_json({"a": B64_A}))
    with pytest.raises(SettingsError, match="chỉ được đặt một trong hai biến MOTCUA_PAYLOAD_KEYS"):
        settings(payload_keys=SecretStr(ring_json({"a": B64_A})), payload_keys_file=path)
    with pytest.raises(
        SettingsError, match=r"MOTCUA_PAYLOAD_KEY_ID 'b' không phải một khóa của .*có: a\)"
    ):
        settings(payload_keys_file=path, payload_key_id="b")
    with pytest.raises(SettingsError, match="không có tệp này"):
        settings(payload_keys_file=tmp_path / "missing.json")
    with pytest.raises(SettingsError, match="không phải một origin"):
        settings(codec_cors_origins=["temporal-ui:8080"])


def test_production_without_a_key_ring_does_not_start(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"chưa đặt MOTCUA_PAYLOAD_KEYS_FILE .*: ở môi trường"):
        settings(state_dir=tmp_path, **PRODUCTION)
    assert not (tmp_path / "payload-keys.json").exists()  # never a development ring there
    ok = settings(state_dir=tmp_path, payload_keys=SecretStr(ring_json({"a": B64_A})), **PRODUCTION)
    assert keyring_for(ok).keys == {"a": KEY_A}


async def test_development_makes_its_own_ring_once_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    dev = settings(state_dir=tmp_path)
    assert dev.resolved_payload_keys_file == tmp_path / "payload-keys.json"
    ring = keyring_for(dev)
    path = tmp_path / "payload-keys.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert len(ring.keys) == 1 and len(ring.keys[ring.current]) == 32
    assert keyring_for(settings(state_dir=tmp_path)) == ring  # the same on every start
    # Every process of the dev stack shares it: what the API writes, a worker reads.
    [sealed] = await data_converter(dev).encode([NAME])
    assert sealed.metadata[KEY_ID_METADATA] == ring.current.encode()
    assert await data_converter(settings(state_dir=tmp_path)).decode([sealed], [str]) == [NAME]


# -- the command line -------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[CliRunner]:
    for name in list(os.environ):
        if name.startswith("MOTCUA_") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("MOTCUA_STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def invoke(runner: CliRunner, *args: str, env: dict[str, str] | None = None) -> Any:
    from motcua.cli import app

    get_settings.cache_clear()
    return runner.invoke(app, list(args), env=env)


def test_keys_new_and_use_rotate_the_ring_file_and_never_print_a_key(
    cli: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "prod" / "payload-keys.json"
    first = invoke(cli, "keys", "new", "--file", str(path), "--id", "2026-11")
    assert first.exit_code == 0, first.output
    assert f"đã thêm khóa 2026-11 vào {path}, là khóa hiện hành" in first.output
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = invoke(cli, "keys", "new", "--file", str(path), "--id", "2026-12")
    assert "chưa là khóa hiện hành (hiện hành: 2026-11)" in second.output
    env = {"MOTCUA_PAYLOAD_KEYS_FILE": str(path)}
    listed = invoke(cli, "keys", "list", env=env)
    assert listed.stdout.splitlines() == ["2026-11  (hiện hành)", "2026-12"]
    used = invoke(cli, "keys", "use", "2026-12", env=env)
    assert used.exit_code == 0 and "2026-12 nay là khóa hiện hành" in used.output
    ring = json.loads(path.read_text())
    assert ring["current"] == "2026-12" and set(ring["keys"]) == {"2026-11", "2026-12"}
    for key in ring["keys"].values():
        for out in (first, second, listed, used):
            assert key not in out.output
    assert invoke(cli, "keys", "new", "--file", str(path), "--id", "2026-12").exit_code == 2
    assert invoke(cli, "keys", "use", "nope", env=env).exit_code == 2
    # The configuration shows where the keys are, never the keys.
    shown = invoke(cli, "config", "--json", env={"MOTCUA_PAYLOAD_KEYS": path.read_text()})
    assert json.loads(shown.stdout)["MOTCUA_PAYLOAD_KEYS"] == "********"
    assert not any(key in shown.output for key in ring["keys"].values())
    shown = json.loads(invoke(cli, "config", "--json").stdout)
    assert shown["MOTCUA_PAYLOAD_KEYS_FILE"] == str(tmp_path / "state" / "payload-keys.json")


def test_a_wrong_key_ring_stops_every_command_with_exit_2(cli: CliRunner) -> None:
    result = invoke(cli, "config", env={"MOTCUA_PAYLOAD_KEYS": ring_json({"a": "short"})})
    assert result.exit_code == 2
    assert "MOTCUA_PAYLOAD_KEYS: khóa 'a' không phải base64 hợp lệ" in result.output
