"""A guided walk of one dossier through every step, on a running stack.

Used by `motcua dev` (the README's run command) and `motcua demo`: it submits a
judicial record certificate request at the centre, lets the centre hand it to
the provincial police's own worker, and takes each officer's action in turn,
printing the step, who holds it, its due time and the appointment.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from activities.pdf import DocumentMetadata, DocumentSpec, render_pdf
from domain.catalog import Role
from domain.dossier import Action, ActionInput, Actor, Applicant, Channel, DocumentRef, DossierView
from domain.machine.messages import role
from domain.vietnamese import VERDICTS
from infra.docstore import FolderStore, open_document_store
from services.dossiers import DossierService, SubmitRequest
from store import repository
from store.models import DocumentRow

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
DEMO_PROCEDURE = "3.000333"  # Phiếu lý lịch tư pháp số 1: centre -> provincial police


def _t(dt: datetime | None) -> str:
    return dt.astimezone(TZ).strftime("%d/%m/%Y %H:%M") if dt else "—"


def describe(view: DossierView) -> str:
    step = view.current_step
    lines = [f"    trạng thái: {view.status_code} {view.status_label} ({view.status.value})"]
    if step:
        lines.append(
            f"    bước hiện tại: {step.name} [{step.kind.value}] – {role(step.role)} @ "
            f"{step.agency}, hạn bước {_t(step.due_at)}"
        )
    lines.append(f"    ngày hẹn trả kết quả: {_t(view.appointment_at)}")
    return "\n".join(lines)


async def _wait_for(
    service: DossierService, code: str, done: Callable[[DossierView], bool]
) -> DossierView:
    for _ in range(300):
        view = await service.state(code)
        if done(view):
            return view
        await asyncio.sleep(0.1)
    raise TimeoutError(
        f"Hồ sơ {code} không chuyển bước; các worker của cơ quan có đang chạy không?"
    )


async def _documents_recorded(service: DossierService, code: str) -> list[DocumentRow]:
    """The read model writes Form 06 when it records the closing events: wait for it."""
    documents: list[DocumentRow] = []
    for _ in range(100):
        documents = await asyncio.to_thread(repository.list_documents, service.engine, code)
        if any(d.form == "06" for d in documents):
            break
        await asyncio.sleep(0.1)
    return documents


def store_path(service: DossierService, sha256: str) -> str:
    store = open_document_store(service.settings.resolved_document_store)
    return str(store.path(sha256)) if isinstance(store, FolderStore) else sha256


async def run_demo(service: DossierService, say: Callable[[str], None] = print) -> DossierView:
    catalog = service.catalog
    procedure = catalog.procedure(DEMO_PROCEDURE)
    centre = service.settings.centre_agency
    police = procedure.competent_agency
    intake = Actor(id="tnhs-01", name="Trần Thị Bình", role=Role.INTAKE_OFFICER, agency=centre)
    specialist = Actor(id="ca-cv-07", name="Lê Văn Cường", role=Role.SPECIALIST, agency=police)
    leader = Actor(id="ca-ld-02", name="Phạm Minh Đức", role=Role.LEADER, agency=police)
    signer = Actor(id="ca-ky-01", name="Hoàng Văn Em", role=Role.SIGNER, agency=police)
    returner = Actor(id="tkq-03", name="Ngô Thị Phương", role=Role.RETURN_OFFICER, agency=centre)

    say(f"Thủ tục: {procedure.name} ({procedure.code}), thời hạn {procedure.statutory_time.vi}")
    say(
        f"Nơi tiếp nhận: {catalog.agency(centre).name}; cơ quan giải quyết: {catalog.agency(police).name}"
    )
    # The applicant's declaration and the copy of their identity card (the procedure's two
    # required components), real PDFs kept in the document store like any upload.
    store = open_document_store(service.settings.resolved_document_store)
    files = []
    for kind, filename, title, name in (
        (
            "to_khai",
            "to-khai.pdf",
            "TỜ KHAI YÊU CẦU CẤP PHIẾU LÝ LỊCH TƯ PHÁP",
            "Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp",
        ),
        ("giay_to_tuy_than", "can-cuoc.pdf", "BẢN CHỤP CĂN CƯỚC", "Bản chụp Căn cước"),
    ):
        content = render_pdf(
            DocumentSpec(
                issuer="",
                title=title,
                created_at=datetime.now(UTC),
                metadata=DocumentMetadata(title=name),
                fields=[("Họ và tên", "Nguyễn Văn An"), ("Số định danh", "022090001234")],
            )
        )
        await asyncio.to_thread(store.put, content)
        digest = hashlib.sha256(content).hexdigest()
        files.append(DocumentRef(kind=kind, filename=filename, sha256=digest))
    view = await service.submit(
        SubmitRequest(
            procedure_code=procedure.code,
            applicant=Applicant(
                name="Nguyễn Văn An",
                id_number="022090001234",
                phone="0912345678",
                email="an.nguyen@example.vn",
                address="Phường Hồng Gai, tỉnh Quảng Ninh",
            ),
            channel=Channel.COUNTER,
            documents=files,
        ),
        intake,
    )
    code = view.code
    say(f"\n1. Nộp hồ sơ tại quầy: mã hồ sơ {code}\n{describe(view)}")

    if due := view.fee_due_vnd:
        # Phí, lệ phí collected at the counter, as the procedure says (an e-receipt follows).
        view = await service.act(
            code, Action.PAY, ActionInput(actor=intake, data={"amount_vnd": due, "method": "cash"})
        )
        amount = f"{due:,}".replace(",", ".")
        say(f"\n   Thu phí, lệ phí tại quầy: {amount} đồng, tiền mặt (biên lai điện tử)")
    view = await service.act(
        code, Action.ACCEPT, ActionInput(actor=intake, comment="Hồ sơ đầy đủ, hợp lệ")
    )
    say(
        f"\n2. Tiếp nhận hồ sơ đầy đủ, in Giấy tiếp nhận và hẹn trả kết quả (Mẫu 01)\n{describe(view)}"
    )

    view = await _wait_for(service, code, lambda v: bool(v.handoff_acks))
    ack = view.handoff_acks[0]
    say(
        f"\n3. Chuyển hồ sơ liên thông: worker của {ack['agency']} đã xác nhận nhận hồ sơ lúc "
        f"{_t(datetime.fromisoformat(ack['received_at']))}\n{describe(view)}"
    )

    # A wrong officer trying this step's own action is refused for their role, with the
    # reason, and the refusal is recorded.
    try:
        await service.act(
            code, Action.APPRAISE, ActionInput(actor=intake, data={"opinion": "Không có án tích"})
        )
    except Exception as exc:
        say(f"\n   (Cán bộ tiếp nhận thử thẩm định thay chuyên viên: bị từ chối – {exc})")

    rest: list[tuple[str, Action, Actor, dict[str, object], str]] = [
        (
            "Tra cứu, xác minh và đề xuất",
            Action.APPRAISE,
            specialist,
            {"opinion": "Không có án tích", "recommendation": "grant"},
            "",
        ),
        ("Lãnh đạo duyệt kết quả", Action.APPROVE, leader, {}, "Đồng ý"),
        ("Ký số Phiếu lý lịch tư pháp", Action.SIGN, signer, {}, ""),
        (
            "Trả kết quả tại quầy",
            Action.RETURN,
            returner,
            {"channel": "counter", "received_by": "Nguyễn Văn An"},
            "",
        ),
    ]
    for i, (label, action, actor, data, comment) in enumerate(rest, start=4):
        view = await service.act(code, action, ActionInput(actor=actor, data=data, comment=comment))
        say(f"\n{i}. {label} ({actor.name})\n{describe(view)}")

    events = await asyncio.to_thread(repository.list_events, service.engine, code)
    refused = await asyncio.to_thread(repository.list_refused_attempts, service.engine, code)
    documents = await _documents_recorded(service, code)
    forms = [f"Mẫu {d.form}" for d in documents if d.source == "form"]
    say(
        f"\nSổ sự kiện ({len(events)} sự kiện, {len(refused)} lần thao tác bị từ chối), "
        f"biểu mẫu: {', '.join(forms)}"
    )
    if view.result is not None:
        r = view.result
        path = store_path(service, r.sha256)
        say(
            f"Kết quả: {r.title} số {r.number}, ký số bởi {r.signer_name} ({r.signing_agency}), "
            f"đóng dấu {r.sealed_by}\n    SHA-256 {r.sha256}\n    tệp: {path}\n"
            f"    tải về: GET /v1/dossiers/{code}/documents/{quote(r.document_id, safe='')}\n"
            f"    kiểm tra: motcua verify {path}   (hoặc POST /v1/verify)"
        )
    for step in view.steps:
        say(
            f"    {step.name}: {_t(step.started_at)} → {_t(step.ended_at)} "
            f"(hạn {_t(step.due_at)}, {VERDICTS.get(step.verdict or '', '—')})"
        )
    return view
