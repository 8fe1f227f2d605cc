"""What a dossier's view and documents tell its next holders, on the real stack: the
uploads with their real size and type (sent in base64 or as multipart files, and a row
recorded before sizes were), the issued forms in the view with links that download
them for whoever may read the dossier, and what the steps so far concluded (the
specialist's opinion and recommendation for the leader, the approval for the signer)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from infra.docstore import FolderStore
from store import repository
from store.schemas import DocumentRecord
from tests.api.support import (
    INTAKE,
    LEADER,
    SIGNER,
    SPECIALIST,
    TAX,
    Api,
    act,
    caught_up,
    error_of,
    submission,
    wait_for_step,
    wait_view,
)
from tests.files import jpeg, pdf


async def uploads_of(api: Api, http: httpx.AsyncClient, code: str) -> dict[str, dict[str, Any]]:
    r = await http.get(f"/v1/dossiers/{code}/documents", headers=api.headers(*INTAKE))
    assert r.status_code == 200, r.text
    return {d["filename"]: d for d in r.json()["documents"] if d["source"] == "upload"}


async def test_uploads_are_listed_with_their_real_size_and_type(api: Api) -> None:
    async with api.http() as http:
        # In base64 inside the JSON body.
        person = api.person()
        body = submission(person)
        sent = {
            "to-khai-03.pdf": pdf(person.id_number),
            "can-cuoc.jpg": jpeg(f"can cuoc {person.id_number}"),
        }
        r = await http.post("/v1/dossiers", json=body, headers=api.headers(*INTAKE))
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        await caught_up(api, http, code)
        listed = await uploads_of(api, http, code)
        assert {n: (d["size"], d["media_type"]) for n, d in listed.items()} == {
            "to-khai-03.pdf": (len(sent["to-khai-03.pdf"]), "application/pdf"),
            "can-cuoc.jpg": (len(sent["can-cuoc.jpg"]), "image/jpeg"),
        }

        # As multipart files (the browser's way), whatever type the part declared.
        person = api.person()
        body = submission(person)
        body["documents"] = []
        scan, form = jpeg(f"scan {person.id_number}"), pdf(f"form {person.id_number}")
        r = await http.post(
            "/v1/dossiers",
            data={"dossier": json.dumps(body)},
            files=[
                ("to_khai", ("to-khai.pdf", form, "application/pdf")),
                ("giay_to_tuy_than", ("cccd.jpeg", scan, "application/octet-stream")),
            ],
            headers=api.headers(*INTAKE),
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        await caught_up(api, http, code)
        listed = await uploads_of(api, http, code)
        assert (listed["to-khai.pdf"]["size"], listed["to-khai.pdf"]["media_type"]) == (
            len(form),
            "application/pdf",
        )
        assert (listed["cccd.jpeg"]["size"], listed["cccd.jpeg"]["media_type"]) == (
            len(scan),
            "image/jpeg",
        )

        # A row recorded before sizes and types were (size 0, no type): listed with
        # those of the stored file.
        old = pdf(f"truoc day {person.id_number}")
        sha = FolderStore(Path(api.settings.resolved_document_store)).put(old)
        row = DocumentRecord(
            id=f"{code}:legacy-upload",
            dossier_code=code,
            form="to_khai",
            title="cu.pdf",
            media_type="",
            sha256=sha,
            created_at=datetime.now(UTC),
            filename="cu.pdf",
            source="upload",
        )
        await asyncio.to_thread(repository.add_documents, api.engine, [row])
        listed = await uploads_of(api, http, code)
        assert (listed["cu.pdf"]["size"], listed["cu.pdf"]["media_type"]) == (
            len(old),
            "application/pdf",
        )


async def test_the_issued_forms_are_in_the_view_with_their_links(api: Api) -> None:
    async with api.http() as http:
        person = api.person()
        r = await http.post(
            "/v1/dossiers",
            json=submission(person, channel="online"),
            headers=api.applicant(person),
        )
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
        await caught_up(api, http, code)

        # The receipt (Form 01) is in the view, for the applicant as for the officers.
        r = await http.get(f"/v1/dossiers/{code}", headers=api.applicant(person))
        assert r.status_code == 200, r.text
        forms = r.json()["forms"]
        assert [f["form"] for f in forms] == ["01"], forms
        receipt = forms[0]
        assert receipt["source"] == "form" and receipt["media_type"] == "application/pdf"
        assert receipt["size"] > 0 and receipt["title"]
        r = await http.get(receipt["href"], headers=api.applicant(person))
        assert r.status_code == 200 and r.content.startswith(b"%PDF-")
        assert len(r.content) == receipt["size"]
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*SPECIALIST))
        assert [f["form"] for f in r.json()["forms"]] == ["01"]

        # Authorised as documents are: another applicant, an agency not on the dossier.
        stranger = api.applicant(api.person())
        error_of(await http.get(receipt["href"], headers=stranger), 403, "forbidden")
        error_of(await http.get(f"/v1/dossiers/{code}", headers=stranger), 403, "forbidden")
        tax = api.headers("specialist", TAX)
        error_of(await http.get(receipt["href"], headers=tax), 403, "forbidden")


async def test_the_next_holders_see_what_the_steps_before_concluded(api: Api) -> None:
    async with api.http() as http:
        person = api.person()
        r = await http.post("/v1/dossiers", json=submission(person), headers=api.headers(*INTAKE))
        code = r.json()["code"]
        assert (await act(api, http, code, INTAKE, "accept")).status_code == 200
        step = await wait_for_step(api, http, code, "tra_cuu_xac_minh")
        opinion = {"opinion": "Không có án tích; đã đối chiếu CSDL", "recommendation": "grant"}
        r = await act(
            api,
            http,
            code,
            SPECIALIST,
            "appraise",
            data=opinion,
            expected_step=step["current_step"]["step_id"],
        )
        assert r.status_code == 200, r.text

        # The leader's view holds the appraisal: what, by whom, at which step.
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*LEADER))
        view = r.json()
        assert view["current_step"]["kind"] == "approval"
        appraisal = next(f for f in view["findings"] if f["kind"] == "appraise")
        assert appraisal["data"] == opinion
        assert appraisal["step_id"] == "tra_cuu_xac_minh" and appraisal["step_name"]
        assert (appraisal["role"], appraisal["agency"]) == (SPECIALIST[0].value, SPECIALIST[1])

        # The signer's: the approval and its note.
        assert (await act(api, http, code, LEADER, "approve", comment="Đồng ý")).status_code == 200
        view = await wait_view(
            api, http, code, lambda v: v["current_step"]["kind"] == "signature", "at signature"
        )
        r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*SIGNER))
        kinds = [(f["kind"], f["comment"]) for f in r.json()["findings"]]
        assert kinds[-2:] == [("appraise", ""), ("approve", "Đồng ý")], kinds
