"""The documents a dossier produces, on the time-skipping server with real workers,
a real read model, the test CA and a real document store: the result is rendered,
signed by the signer on the agency's worker and sealed on the centre's; the forms
are PDFs sealed by their issuer; Form 06 appears when the dossier closes; signing
that fails is retried, then handed back to the signer with the reason."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from pypdf import PdfReader
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHandle, WorkflowUpdateStage
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.documents import DocumentServices, SigningActivities
from domain.catalog import agency_task_queue
from domain.dossier import ActionInput, DossierView, Status
from signatures.signing import KeyStore, verify_pdf
from store import repository
from tests.factories import (
    AGENCY,
    CENTRE,
    anchor_monday,
    dossier_input,
    local,
    officer,
    procedure,
    step,
    steps,
    synthetic_calendar,
)
from tests.harness import (
    act,
    documents_for_tests,
    finish,
    in_english,
    pki_manifest_for_tests,
    refusal,
    running_workers,
    start_dossier,
    state,
    unique_code,
)
from tests.tsa_server import tsa_server
from tests.workflow.test_dossier_scenarios import go_to, open_dossier, wait_for_step

INTAKE = officer("intake_officer", CENTRE)
SPECIALIST = officer("specialist", AGENCY, "cv-01")
LEADER = officer("leader", AGENCY, "ld-01")
SIGNER = officer("signer", AGENCY, "ky-01")
RETURNER = officer("return_officer", CENTRE)


def roots() -> list[Any]:
    return KeyStore.load(pki_manifest_for_tests()).trust_roots


def text_of(pdf: bytes) -> str:
    import io

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


async def to_signature(handle: WorkflowHandle[Any, DossierView]) -> DossierView:
    await act(handle, "accept", INTAKE)
    await wait_for_step(handle, "appraisal")
    await act(handle, "appraise", SPECIALIST, data={"opinion": "Đủ điều kiện cấp phép"})
    return await act(handle, "approve", LEADER, comment="Đồng ý cấp giấy phép xây dựng")


async def test_the_result_is_signed_by_the_signer_sealed_by_the_issuing_agency_and_recorded(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    docs = documents_for_tests()
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        view = await to_signature(handle)
        assert view.result is None and view.current_step and view.current_step.kind == "signature"
        view = await act(handle, "sign", SIGNER)
        assert view.status is Status.PROCESSED and view.issuing is None
        result = view.result
        assert result is not None and result.granted and result.sealed_by == AGENCY
        assert result.signer_id == "ky-01" and result.signing_agency == AGENCY
        assert result.signatures == ["ChuKyNguoiKy", "DauCoQuan"]
        await act(handle, "return", RETURNER, data={"channel": "post", "tracking_number": "EMS1VN"})
        await handle.result()

    code = handle.id
    pdf = docs.store.get(result.sha256)
    report = verify_pdf(pdf, roots())
    assert report.ok, report.problems
    assert [(s.kind, s.agency_code, s.user_id) for s in report.signatures] == [
        ("signer", AGENCY, "ky-01"),
        ("seal", AGENCY, None),  # the issuing agency's own seal, not the centre's
    ]
    assert report.dossier_code == code and report.document == "result"
    # ... and pyHanko's own validator, run as a separate program, agrees.
    path = docs.store.path(result.sha256)  # type: ignore[attr-defined]
    root = pki_manifest_for_tests().parent / "root.pem"
    validate = [str(Path(sys.executable).parent / "pyhanko"), "sign", "validate"]
    flags = ["--no-revocation-check", "--trust-replace", "--trust", str(root)]
    done = await asyncio.to_thread(
        subprocess.run,
        [*validate, *flags, "--executive-summary", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(":VALID") == 2
    assert "GIẤY PHÉP XÂY DỰNG" in text_of(pdf).upper() or result.title in text_of(pdf)

    events = repository.list_events(engine, code)
    kinds = [e.kind for e in events]
    assert kinds.index("signing_started") < kinds.index("result_issued") < kinds.index("sign")
    issued = next(e for e in events if e.kind == "result_issued")
    assert issued.data["document"]["sha256"] == result.sha256  # the hash is in the events
    signed = next(e for e in events if e.kind == "sign")
    assert signed.data["sha256"] == result.sha256
    returned = next(e for e in events if e.kind == "return")
    assert returned.data["channel"] == "post" and returned.data["tracking_number"] == "EMS1VN"
    assert returned.data["address"] == "Hạ Long, Quảng Ninh"  # the applicant's, by default
    assert returned.data["sha256"] == result.sha256  # which file was handed over

    rows = {d.id: d for d in repository.list_documents(engine, code)}
    assert rows[f"{code}:result"].sha256 == result.sha256
    assert rows[f"{code}:result"].signers == [f"signer:ky-01@{AGENCY}", f"seal:{AGENCY}"]
    forms = sorted(d.form for d in rows.values() if d.source == "form")
    assert forms == ["01", "06"]  # receipt at intake, control slip at the end
    for row in rows.values():
        if row.source == "form":
            form_pdf = docs.store.get(row.sha256)
            assert form_pdf.startswith(b"%PDF-") and row.size == len(form_pdf)
            sealed = verify_pdf(form_pdf, roots())
            assert sealed.ok and [s.agency_code for s in sealed.signatures] == [CENTRE]
    slip = text_of(docs.store.get(next(r for r in rows.values() if r.form == "06").sha256))
    assert "PHIẾU KIỂM SOÁT" in slip.upper()
    assert "Đúng hạn" in slip or "Trước hạn" in slip


async def test_a_refusal_decision_is_signed_as_the_result(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await act(handle, "accept", INTAKE)
        await wait_for_step(handle, "appraisal")
        await act(handle, "appraise", SPECIALIST, data={"opinion": "Không đủ điều kiện"})
        view = await act(handle, "reject", LEADER, comment="Công trình vi phạm chỉ giới xây dựng")
        # The refusal goes to the signer first: the signed refusal decision is the result.
        assert view.current_step and view.current_step.kind == "signature"
        view = await act(handle, "sign", SIGNER)
        assert view.result is not None and not view.result.granted
        assert view.result.title.startswith("QUYẾT ĐỊNH về việc từ chối")
        await act(handle, "return", RETURNER)
        final = await handle.result()
    assert final.outcome == "refused"
    pdf = documents_for_tests().store.get(view.result.sha256)
    assert verify_pdf(pdf, roots()).ok
    assert "vi phạm chỉ giới xây dựng" in text_of(pdf)


async def test_without_a_signature_step_the_approver_signs_the_result(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    p = procedure(
        steps=steps(
            step("appraisal", "appraisal", "specialist", 8),
            step("approval", "approval", "leader", 2),
        )
    )
    async with running_workers(ts_env.client, engine, [AGENCY]) as settings:
        anchor = anchor_monday(await ts_env.get_current_time(), weeks_ahead=2)
        await go_to(ts_env, local(anchor, 10))
        inp = dossier_input(unique_code(), local(anchor, 10), synthetic_calendar(anchor), p)
        handle = await start_dossier(ts_env.client, settings, inp)
        await act(handle, "accept", INTAKE)
        await act(handle, "appraise", SPECIALIST, data={"opinion": "Đạt"})
        view = await act(handle, "approve", LEADER, comment="Đồng ý")
        assert view.result is not None and view.result.signer_id == "ld-01"
        assert view.current_step and view.current_step.kind == "return"
        await finish(engine, handle)


@asynccontextmanager
async def signing_broken_workers(
    env: WorkflowEnvironment, engine: Engine, docs: DocumentServices
) -> AsyncIterator[Any]:
    """The usual workers, but the agency's signing activities use `docs`."""
    async with running_workers(env.client, engine, [], docs=documents_for_tests()) as settings:
        from activities.handoff import AgencyActivities
        from activities.read_model import ReadModelActivities
        from workflows.registry import WORKFLOW_RUNNER, WORKFLOWS

        signing = SigningActivities(docs)
        with ThreadPoolExecutor(4) as pool:
            worker = Worker(
                env.client,
                task_queue=agency_task_queue(AGENCY),
                workflows=WORKFLOWS,
                activities=[
                    AgencyActivities(engine, AGENCY).receive_handoff,
                    ReadModelActivities(engine, documents_for_tests()).record_dossier_events,
                    signing.sign_result,
                ],
                activity_executor=pool,
                workflow_runner=WORKFLOW_RUNNER,
                max_cached_workflows=0,
            )
            async with worker:
                yield settings


async def test_signing_without_keys_gives_the_step_back_with_the_reason(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    agency_docs = replace(documents_for_tests(), keys=None)
    async with signing_broken_workers(ts_env, engine, agency_docs) as settings:
        handle, _ = await open_dossier(ts_env, engine, settings)
        await to_signature(handle)
        err = await refusal(handle, "sign", SIGNER)
        assert err.type == "signing_failed" and "motcua pki init" in err.message
        assert "Không ký được kết quả" in err.message
        assert "could not be signed" in in_english(err)
        view = await state(handle)
        assert view.issuing is None and view.result is None
        assert view.holder is not None and view.holder.action.value == "sign"  # back with them
        # The same signer tries again once the agency's worker has its keys.
        agency_docs.keys = documents_for_tests().keys
        view = await act(handle, "sign", SIGNER)
        assert view.result is not None
        await finish(engine, handle)
    kinds = [e.kind for e in repository.list_events(engine, handle.id)]
    assert kinds.count("signing_started") == 2 and kinds.count("signing_failed") == 1
    events = repository.list_events(engine, handle.id)
    failed = next(e for e in events if e.kind == "signing_failed")
    assert "no signing keys" in failed.comment


async def test_signing_is_retried_while_the_timestamp_authority_is_down(
    ts_env: WorkflowEnvironment, engine: Engine
) -> None:
    """The TSA answers 500 at first: the signing activity fails and is retried with
    backoff (the update waits), and once the TSA is back the result is timestamped."""
    pki = pki_manifest_for_tests().parent
    with tsa_server(pki, mode="error") as tsa:
        docs = replace(documents_for_tests(), tsa_url=tsa.tsa_url)
        async with signing_broken_workers(ts_env, engine, docs) as settings:
            handle, _ = await open_dossier(ts_env, engine, settings)
            await to_signature(handle)
            update = await handle.start_update(
                "sign",
                ActionInput(actor=SIGNER),
                wait_for_stage=WorkflowUpdateStage.ACCEPTED,
                result_type=DossierView,
            )
            for _ in range(200):
                if tsa.requests >= 2:
                    break
                await asyncio.sleep(0.05)
            assert tsa.requests >= 2  # failed, and tried again
            during = await state(handle)
            assert during.issuing is not None and during.issuing.actor.id == "ky-01"
            assert not during.allowed_actions or all(
                a.action.value != "sign" for a in during.allowed_actions
            )
            tsa.mode = "ok"
            view = await update.result()
            assert view.result is not None and view.result.timestamped
            await finish(engine, handle)
    pdf = docs.store.get(view.result.sha256)
    report = verify_pdf(pdf, roots())
    signer = report.signatures[0]  # the agency's worker signs with the TSA; the seal without
    assert report.ok and signer.kind == "signer" and signer.timestamp_valid
    assert signer.timestamp_time is not None
    kinds = [e.kind for e in repository.list_events(engine, handle.id)]
    assert "signing_failed" not in kinds and kinds.count("result_issued") == 1


async def test_a_revoked_signer_is_refused_with_the_cas_reason(
    ts_env: WorkflowEnvironment, engine: Engine, tmp_path: Path
) -> None:
    """The agency's CA has revoked the signer's certificate: `sign` comes back at once
    (not retried) as signing_failed with the reason in Vietnamese, and no result exists.
    Once the signer has a new certificate, the same signer signs, long-term (B-LTA)."""
    from signatures import dev_ca
    from signatures.pki import Identity, init_dev_pki, issue_certificate
    from tests.unit.test_pades import _free_port

    port = _free_port()
    pki = tmp_path / "pki"
    name = "Công an tỉnh"
    signer_id = Identity.signer(AGENCY, name, "Hoàng Văn Em", "ky-01", "Người ký")
    manifest = init_dev_pki(
        pki, agencies={AGENCY: name}, signers=[signer_id], ca_url=f"http://127.0.0.1:{port}"
    )
    revoked = dev_ca.revoke(pki, pki / "signers" / "ky-01.pem", reason="affiliation_changed")
    with dev_ca.serving(pki, port=port) as ca:
        agency_docs = replace(
            documents_for_tests(), keys=KeyStore.load(manifest), tsa_url=ca.tsa_url
        )
        async with signing_broken_workers(ts_env, engine, agency_docs) as settings:
            handle, _ = await open_dossier(ts_env, engine, settings)
            await to_signature(handle)
            err = await refusal(handle, "sign", SIGNER)
            assert err.type == "signing_failed", err.message
            assert "đã bị thu hồi" in err.message and f"{revoked.serial:x}" in err.message
            assert "thay đổi cơ quan, chức vụ" in err.message
            view = await state(handle)
            assert view.result is None and view.holder is not None
            assert view.holder.action.value == "sign"  # back with the signer

            issue_certificate(pki, signer_id)  # the CA issues a new certificate
            agency_docs.keys = KeyStore.load(manifest)
            view = await act(handle, "sign", SIGNER)
            assert view.result is not None and view.result.timestamped
            await finish(engine, handle)
    pdf = agency_docs.store.get(view.result.sha256)
    report = verify_pdf(pdf, roots())  # sealed by the test CA, signed under the agency's
    signer = report.signatures[0]
    assert signer.kind == "signer" and signer.serial != f"{revoked.serial:x}"
    assert report.signatures[1].kind == "tsa"  # the signature's document timestamp
    events = repository.list_events(engine, handle.id)
    failed = [e for e in events if e.kind == "signing_failed"]
    assert len(failed) == 1 and "đã bị thu hồi" in failed[0].comment
