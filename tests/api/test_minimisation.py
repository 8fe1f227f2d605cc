"""Minimisation (docs/personal-data.md): a whole real dossier leaves its applicant's name,
ID number, phone, e-mail and address nowhere but in the payloads and the read model.

A judicial record certificate dossier (3.000333: intake at the centre, handoff to the
police's own worker, appraisal, approval, signature, return) is walked over HTTP by the
real API, the real workers and the Temporal dev server, with a distinctive applicant, and
read the ways that put personal data in a URL (public tracking takes the ID number, a
search takes the name). Meanwhile every log line motcua's handler writes (root logger,
uvicorn with its access log, temporalio, at DEBUG), every span that ends and, afterwards,
the metrics page, the workflow's id, search attributes, memo, summary and details, the
visibility list, and the history's non-payload fields are searched for those values, the
name also in upper case and without its diacritics.

The history's payloads (the workflow input, activity inputs, update arguments and
results) do carry the applicant: they are the AES-GCM codec's to encrypt, and that branch
checks them. Here a payload is read only where it is metadata (search attributes, memo,
headers, the user metadata of summaries and details); every other payload is skipped, and
the failure messages, activity ids, update ids, summaries and every other field are read as
text.
"""

from __future__ import annotations

import io
import logging
import uuid

from opentelemetry.sdk.trace import ReadableSpan

from api.auth import issue_token
from domain.catalog import Role
from infra import telemetry
from tests.api.support import (
    INTAKE,
    LEADER,
    PROCEDURE,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    Person,
    act,
    caught_up,
    pay_fee,
    submission,
    wait_closed,
    wait_for_step,
)
from tests.minimisation import found_in, history_text, name_forms

PHONE = "0961234509"
EMAIL = "bimat.trinh@example.vn"
ADDRESS = "Số 17 hẻm Tĩnh Lặng, phường Vô Danh"
LOGGERS = ("", "uvicorn", "uvicorn.access", "uvicorn.error")


def leaks(text: str, person: Person) -> list[str]:
    return found_in(text, [*name_forms(person.name), person.id_number, PHONE, EMAIL, ADDRESS])


def span_text(span: ReadableSpan) -> str:
    parts = [span.name, repr(dict(span.attributes or {})), span.status.description or ""]
    for event in span.events:
        parts += [event.name, repr(dict(event.attributes or {}))]
    parts.append(repr(dict(span.resource.attributes)))
    return "\n".join(parts)


# --------------------------------------------------------------------------- the walk


async def walk(api: Api, person: Person) -> str:
    body = submission(person, channel="online")
    body["applicant"].update(phone=PHONE, email=EMAIL, address=ADDRESS)
    async with api.http() as http:
        # The applicant's token carries their name, as an identity provider's does.
        token = issue_token(api.settings, sub=person.sub, roles=[Role.APPLICANT], name=person.name)
        r = await http.post("/v1/dossiers", json=body, headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        code: str = r.json()["code"]
        await pay_fee(api, http, code)
        r = await act(api, http, code, INTAKE, "accept", comment="Hồ sơ hợp lệ")
        assert r.status_code == 200, r.text
        await wait_for_step(api, http, code, "tra_cuu_xac_minh")
        for who, action, data in [
            (SPECIALIST, "appraise", {"opinion": "Không có án tích", "recommendation": "grant"}),
            (LEADER, "approve", {}),
            (SIGNER, "sign", {"document": "phieu.pdf"}),
            (RETURNER, "return", {"channel": "counter", "received_by": person.name}),
        ]:
            r = await act(api, http, code, who, action, data=data, comment="Đồng ý")
            assert r.status_code == 200, (action, r.text)
        await wait_closed(api, code)
        await caught_up(api, http, code)
        # The reads that carry personal data in the URL or the answer.
        r = await http.get(f"/v1/track/{code}", params={"id_number": person.id_number})
        assert r.status_code == 200, r.text
        for q in (person.name, person.id_number):
            r = await http.get("/v1/dossiers", params={"q": q}, headers=api.headers(*INTAKE))
            assert r.status_code == 200, r.text
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*INTAKE))
        assert r.json()["applicant"]["id_number"] == person.id_number  # in the answer only
        r = await http.get(f"/v1/dossiers/{code}/events", headers=api.headers(*INTAKE))
        assert r.status_code == 200, r.text
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(Role.ADMIN))
        assert r.json()["applicant"]["masked"] is True
        # A refused attempt: its reason names only who tried to receive the result.
        r = await act(api, http, code, RETURNER, "return", data={"received_by": person.name})
        assert r.status_code == 409, r.text
    return code


async def test_a_whole_dossier_leaves_no_personal_data_outside_the_payloads(api: Api) -> None:
    person = Person(
        sub=f"citizen-{uuid.uuid4().hex[:8]}",
        id_number=api.person().id_number,
        name=f"Trịnh Thị Bí Mật Đoàn {uuid.uuid4().hex[:4]}",
    )
    stream = io.StringIO()
    handler = telemetry.log_handler(json=True, stream=stream)
    handler.setLevel(logging.DEBUG)
    levels = {}
    for name in LOGGERS:
        logger = logging.getLogger(name)
        levels[name] = logger.level
        logger.setLevel(logging.DEBUG)
        if name in ("", "uvicorn", "uvicorn.access"):  # the others propagate
            logger.addHandler(handler)
    try:
        with telemetry.capture_spans() as exporter:
            code = await walk(api, person)
            async with api.http() as http:
                metrics = (await http.get("/metrics")).text
    finally:
        for name in LOGGERS:
            logger = logging.getLogger(name)
            logger.removeHandler(handler)
            logger.setLevel(levels[name])

    # -- logs: every line motcua's handler wrote, at DEBUG
    logs = stream.getvalue()
    assert code in logs and "/v1/track/" in logs, "the capture saw nothing"
    assert leaks(logs, person) == [], [line for line in logs.splitlines() if leaks(line, person)]

    # -- spans: names, attributes, events (recorded exceptions), status, resource
    spans = exporter.get_finished_spans()
    assert any((s.attributes or {}).get(telemetry.DOSSIER_CODE) == code for s in spans)
    assert any(s.name.startswith("RunActivity:") for s in spans), [s.name for s in spans]
    for span in spans:
        assert leaks(span_text(span), person) == [], span_text(span)

    # -- metrics: label values
    assert "motcua_dossiers_returned_total" in metrics
    assert leaks(metrics, person) == []

    # -- Temporal: the workflow id, search attributes, memo, summary, details
    handle = api.client.get_workflow_handle(code)
    desc = await handle.describe()
    assert desc.id == code
    described = "\n".join(
        [
            desc.id,
            desc.run_id,
            repr(desc.search_attributes),
            repr(desc.typed_search_attributes),
            repr(await desc.memo()),
            str(await desc.static_summary()),
            str(await desc.static_details()),
        ]
    )
    assert PROCEDURE in described  # the summary and the ProcedureCode attribute were read
    assert leaks(described, person) == [], described

    # -- the visibility list, as an operator lists dossiers
    listed = [
        "\n".join([w.id, w.run_id, repr(w.search_attributes), repr(w.typed_search_attributes)])
        async for w in api.client.list_workflows(f'WorkflowId = "{code}"')
    ]
    assert listed
    assert leaks("\n".join(listed), person) == []

    # -- the history's non-payload fields (payloads: the codec branch's test)
    history = await handle.fetch_history()
    counts = {"metadata": 0, "data": 0}
    text = "\n".join(history_text(history.to_json_dict(), counts))
    assert counts["metadata"] and counts["data"], counts
    assert PROCEDURE in text  # search attributes and the summary were decoded
    assert "activityId" in text and "updateId" in text
    assert leaks(text, person) == []
