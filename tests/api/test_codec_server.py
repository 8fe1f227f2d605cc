"""Personal data in Temporal, on the real stack (uvicorn, the dev server, every worker):
a dossier walked through every step leaves a history in which the applicant's name and
ID number appear nowhere to someone reading Temporal without the key (every payload
encrypted, the key id beside it), while an auditor reads, replays and verifies the same
dossier intact; and the codec server (`POST /v1/codec/decode`) decrypts for auditors and
administrators only, refuses what it cannot read with a clear 4xx, and answers the
browser's CORS preflight for the Temporal UI's origin only."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter

from domain.catalog import Role
from infra.codec import (
    ENCODING,
    KEY_ID_METADATA,
    NOT_ENCODED,
    EncryptionCodec,
    KeyRing,
    decoded_history,
    is_encrypted,
    payload_json,
    payloads_in,
)
from motcua.devserver import temporal_cli_path
from services.audit.history import decode
from store import repository
from tests.api.conftest import UI_ORIGIN
from tests.api.support import (
    AUDITOR,
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    Person,
    act,
    error_of,
    pay_fee,
    submit,
    wait_closed,
    wait_for_step,
)
from tests.payload_keys import TEST_KEYRING, key_for_tests

ADMIN = (Role.ADMIN, None)
DECODE = "/v1/codec/decode"


def secret_forms(*values: str) -> list[bytes]:
    """How a value could show in raw bytes: UTF-8, and escaped as JSON would."""
    out = []
    for v in values:
        out += [v.encode(), json.dumps(v).strip('"').encode()]
    return out


def raw_bytes(history: WorkflowHistory) -> bytes:
    """The history as Temporal stores it (payload bytes as they are) and as its JSON
    export shows it."""
    return b"".join(e.SerializeToString() for e in history.events) + history.to_json().encode()


async def walk(api: Api, http: httpx.AsyncClient, person: Person) -> str:
    """A judicial record certificate dossier from the counter to its return, the
    applicant's name and ID number also quoted in officers' comments and data."""
    code = await submit(api, http, person)
    await pay_fee(api, http, code)
    r = await act(api, http, code, INTAKE, "accept", comment=f"Đã nhận hồ sơ của {person.name}")
    assert r.status_code == 200, r.text
    await wait_for_step(api, http, code, "tra_cuu_xac_minh")
    opinion = f"Công dân {person.name}, CCCD {person.id_number}: không có án tích"
    for who, action, body in (
        (SPECIALIST, "appraise", {"data": {"opinion": opinion, "recommendation": "grant"}}),
        (LEADER, "approve", {"comment": "Đồng ý cấp Phiếu"}),
        (SIGNER, "sign", {"data": {"document": "phieu-lltp.pdf"}}),
    ):
        r = await act(api, http, code, who, action, **body)
        assert r.status_code in (200, 202), r.text
    await wait_for_step(api, http, code, "tra_ket_qua")
    r = await act(
        api, http, code, RETURNER, "return", data={"channel": "counter", "received_by": person.name}
    )
    assert r.status_code == 200, r.text
    await wait_closed(api, code)
    return code


async def test_a_dossiers_history_shows_no_personal_data_without_the_key(
    api: Api, http: httpx.AsyncClient
) -> None:
    person = api.person("mật")
    code = await walk(api, http, person)
    secrets = secret_forms(person.name, person.id_number)

    # Temporal read by someone without the key: the same service, a converter with no codec.
    plain = Client(
        api.client.service_client,
        namespace=api.client.namespace,
        data_converter=pydantic_data_converter,
    )
    handle = plain.get_workflow_handle(code)
    history = await handle.fetch_history()
    found = [f for f in secrets if f in raw_bytes(history)]
    assert not found, f"personal data in the raw history: {found}"
    described = (await handle.describe()).raw_description.SerializeToString()
    assert not any(f in described for f in secrets), "personal data in the description"
    # Every payload the SDK encodes (inputs, update arguments, activity inputs and
    # results, memo, failures) is encrypted, under the current key; search attributes and
    # the tracing header are the only plain payloads, and hold no personal data.
    # (The SDK's core writes patch markers itself, in the clear: a patch id only.)
    markers = [e for e in history.events if e.HasField("marker_recorded_event_attributes")]
    assert {e.marker_recorded_event_attributes.marker_name for e in markers} <= {"core_patch"}
    encoded = [
        p
        for e in history.events
        if not e.HasField("marker_recorded_event_attributes")
        for p in payloads_in(e, skip=NOT_ENCODED)
    ]
    assert len(encoded) > 20
    assert all(is_encrypted(p) for p in encoded), [
        p.metadata for p in encoded if not is_encrypted(p)
    ]
    assert {p.metadata[KEY_ID_METADATA] for p in encoded} == {TEST_KEYRING.current.encode()}
    kinds = {e.WhichOneof("attributes") for e in history.events}
    assert {
        "workflow_execution_started_event_attributes",
        "workflow_execution_update_accepted_event_attributes",
        "activity_task_scheduled_event_attributes",
        "activity_task_completed_event_attributes",
    } <= kinds

    # The scan finds them once decrypted: it would have found them in the clear.
    codec = api.client.data_converter.payload_codec
    assert codec is not None
    readable = raw_bytes(await decoded_history(history, codec))
    assert all(f in readable for f in secret_forms(person.name, person.id_number)[::2])

    # An auditor with the key: the export is whole, the replay and the record intact.
    r = await http.get(f"/v1/audit/dossiers/{code}/history", headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text
    exported = r.json()
    assert exported["payloads"] == "decrypted"
    [run] = exported["runs"]
    record = decode([WorkflowHistory.from_json(code, run["history"])])
    assert (record.input.applicant.name, record.input.applicant.id_number) == (
        person.name,
        person.id_number,
    )
    assert record.completed and run["events"] == len(history.events)
    assert any(u.input.comment and person.name in u.input.comment for u in record.updates)
    r = await http.get(f"/v1/audit/dossiers/{code}/replay", headers=api.headers(*AUDITOR))
    assert r.status_code == 200 and r.json()["deterministic"], r.text
    r = await http.get(f"/v1/audit/dossiers/{code}/verify", headers=api.headers(*AUDITOR))
    assert r.status_code == 200 and r.json()["record"]["intact"], r.text

    # The codec server shows the workflow input to an auditor, as the Temporal UI asks.
    started = history.events[0].workflow_execution_started_event_attributes
    [sealed] = started.input.payloads
    body = {"payloads": [payload_json(sealed)]}
    r = await http.post(
        DECODE, json=body, headers={**api.headers(*AUDITOR), "X-Namespace": api.client.namespace}
    )
    assert r.status_code == 200, r.text
    [shown] = r.json()["payloads"]
    assert base64.b64decode(shown["metadata"]["encoding"]) == b"json/plain"
    data = json.loads(base64.b64decode(shown["data"]))
    assert data["applicant"]["name"] == person.name
    assert data["applicant"]["id_number"] == person.id_number
    # Temporal's own CLI, pointed at the codec server with an auditor's token, shows the
    # history decrypted (the protocol the Temporal UI speaks too); without it, it cannot.
    shown_by_cli = await temporal_show(
        api,
        code,
        "--codec-endpoint",
        f"{api.url}/v1/codec",
        "--codec-auth",
        f"Bearer {api.token(Role.AUDITOR)}",
    )
    through_cli = decode([WorkflowHistory.from_json(code, shown_by_cli)]).input.applicant
    assert (through_cli.name, through_cli.id_number) == (person.name, person.id_number)
    hidden = await temporal_show(api, code)
    assert person.id_number not in hidden and base64.b64encode(ENCODING).decode() in hidden
    with pytest.raises(ValueError, match="binary/encrypted"):
        decode([WorkflowHistory.from_json(code, hidden)])
    logged = [
        row
        for row in repository.audit_log(api.engine)
        if row.action == "decode" and row.actor_id == "auditor@-"
    ]
    assert logged and logged[-1].application == "codec"
    assert logged[-1].detail == {
        "namespace": api.client.namespace,
        "payloads": 1,
        "encrypted": 1,
    }


async def temporal_show(api: Api, code: str, *flags: str) -> str:
    """`temporal workflow show` of the dossier, as an operator runs it (JSON output)."""
    proc = await asyncio.create_subprocess_exec(
        str(temporal_cli_path()),
        "workflow",
        "show",
        "--address",
        api.client.service_client.config.target_host,
        "--namespace",
        api.client.namespace,
        "--workflow-id",
        code,
        "--output",
        "json",
        *flags,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return out.decode()


def sealed_with(ring: KeyRing, value: Any) -> dict[str, Any]:
    [p] = pydantic_data_converter.payload_converter.to_payloads([value])
    return payload_json(EncryptionCodec(ring).encrypt(p))


async def test_the_codec_server_decrypts_for_auditors_and_administrators_only(
    api: Api, http: httpx.AsyncClient
) -> None:
    body = {"payloads": [sealed_with(TEST_KEYRING, {"id_number": "079300000001"})]}
    for who in (AUDITOR, ADMIN):
        r = await http.post(DECODE, json=body, headers=api.headers(*who))
        assert r.status_code == 200, (who, r.text)
        [p] = r.json()["payloads"]
        assert json.loads(base64.b64decode(p["data"])) == {"id_number": "079300000001"}
    for who in (INTAKE, SPECIALIST, LEADER, (Role.APPLICANT, None)):
        r = await http.post(DECODE, json=body, headers=api.headers(*who))
        assert "auditor" in error_of(r, 403, "forbidden"), who
    error_of(await http.post(DECODE, json=body), 401, "unauthenticated")
    # Plain payloads come back as they were.
    [plain] = pydantic_data_converter.payload_converter.to_payloads(["Hạ Long"])
    r = await http.post(
        DECODE, json={"payloads": [payload_json(plain)]}, headers=api.headers(*AUDITOR)
    )
    assert r.json() == {"payloads": [payload_json(plain)]}
    # URL-safe base64 without padding is proto3 JSON too.
    sealed = body["payloads"][0]
    unpadded = {
        "metadata": {
            k: base64.urlsafe_b64encode(base64.b64decode(v)).decode().rstrip("=")
            for k, v in sealed["metadata"].items()
        },
        "data": base64.urlsafe_b64encode(base64.b64decode(sealed["data"])).decode().rstrip("="),
    }
    r = await http.post(DECODE, json={"payloads": [unpadded]}, headers=api.headers(*AUDITOR))
    assert r.status_code == 200, r.text


async def test_what_the_codec_server_cannot_read_is_a_clear_4xx(
    api: Api, http: httpx.AsyncClient
) -> None:
    h = api.headers(*AUDITOR)
    elsewhere = KeyRing(current="other-ring", keys={"other-ring": key_for_tests("elsewhere")})
    r = await http.post(DECODE, json={"payloads": [sealed_with(elsewhere, "x")]}, headers=h)
    message = error_of(r, 422, "invalid")
    assert (
        "khóa 'other-ring'" in message
        and base64.b64encode(key_for_tests("elsewhere")).decode() not in message
    )
    r = await http.post(
        DECODE,
        json={"payloads": [sealed_with(elsewhere, "x")]},
        headers=h | {"Accept-Language": "en"},
    )
    assert "key 'other-ring', which is not in the key ring" in error_of(r, 422, "invalid")
    tampered = sealed_with(TEST_KEYRING, "x")
    raw = bytearray(base64.b64decode(tampered["data"]))
    raw[-1] ^= 1
    tampered["data"] = base64.b64encode(bytes(raw)).decode()
    r = await http.post(DECODE, json={"payloads": [tampered]}, headers=h)
    assert "không xác thực được" in error_of(r, 422, "invalid")
    r = await http.post(
        DECODE, json={"payloads": [tampered]}, headers=h | {"Accept-Language": "en"}
    )
    assert "fails authentication" in error_of(r, 422, "invalid")
    bad = {"metadata": {"encoding": base64.b64encode(ENCODING).decode()}, "data": "***"}
    assert "payloads[0].data: không phải base64" in error_of(
        await http.post(DECODE, json={"payloads": [bad]}, headers=h), 422, "invalid"
    )
    assert "payloads[0].data: not base64" in error_of(
        await http.post(DECODE, json={"payloads": [bad]}, headers=h | {"Accept-Language": "en"}),
        422,
        "invalid",
    )
    no_id = payload_json(Payload(metadata={"encoding": ENCODING}, data=b"\0" * 40))
    r = await http.post(DECODE, json={"payloads": [no_id]}, headers=h)
    assert KEY_ID_METADATA in error_of(r, 422, "invalid")
    for content, kw in (
        ("not json", {"content": b"{payloads"}),
        ("no payloads", {"json": {"data": []}}),
        ("payloads not a list", {"json": {"payloads": "x"}}),
        ("too many", {"json": {"payloads": [{}] * 1001}}),
    ):
        r = await http.post(DECODE, headers={**h, "Content-Type": "application/json"}, **kw)
        assert r.status_code == 422, (content, r.status_code, r.text)
        error_of(r, 422, "invalid")
    r = await http.get(DECODE, headers=h)
    assert r.status_code == 405


async def test_the_temporal_ui_origin_alone_may_call_it_from_a_browser(
    api: Api, http: httpx.AsyncClient
) -> None:
    preflight = {
        "Origin": UI_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    r = await http.options(DECODE, headers=preflight)
    assert r.status_code == 204, r.text
    assert r.headers["access-control-allow-origin"] == UI_ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "POST" in r.headers["access-control-allow-methods"]
    allowed = {h.strip() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-namespace"} <= allowed
    # The answer itself, and a refusal too, name the origin so that the UI can read it.
    body = {"payloads": [sealed_with(TEST_KEYRING, "x")]}
    r = await http.post(DECODE, json=body, headers={**api.headers(*AUDITOR), "Origin": UI_ORIGIN})
    assert r.status_code == 200 and r.headers["access-control-allow-origin"] == UI_ORIGIN
    r = await http.post(DECODE, json=body, headers={"Origin": UI_ORIGIN})
    assert r.status_code == 401 and r.headers["access-control-allow-origin"] == UI_ORIGIN
    # Another origin: refused at the preflight, and never told it may read an answer.
    other = {**preflight, "Origin": "https://evil.example"}
    error_of(await http.options(DECODE, headers=other), 403, "forbidden")
    r = await http.post(
        DECODE, json=body, headers={**api.headers(*AUDITOR), "Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in r.headers
    # Only the codec server speaks CORS.
    r = await http.get("/v1/procedures", headers={**api.headers(*AUDITOR), "Origin": UI_ORIGIN})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
