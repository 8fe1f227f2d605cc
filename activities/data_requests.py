"""The activities of a personal-data request (workflows/data_request.py), on the centre's
queue: open it with its statutory time, export what is held about the data subject,
mark it late, and carry out a leader's decision on a correction or restriction."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.contracts import (
    DECIDE_DATA_REQUEST,
    ESCALATE_DATA_REQUEST,
    EXPORT_PERSONAL_DATA,
    OPEN_DATA_REQUEST,
    DataRequestAnswer,
    DataRequestDecided,
    DataRequestEscalation,
    DataRequestInput,
    DataRequestOpened,
)
from domain.calendar import Duration, TimeUnit
from domain.calendar_source import build_calendar, load_overrides
from domain.data_requests import (
    CONTACT_CHANNELS,
    CONTACT_FIELDS,
    FIELD_LABELS,
    RequestKind,
    RequestStatus,
)
from infra.docstore import DocumentStore
from store import repository
from store.models import PersonalDataNoteRow, PersonalDataRequestRow

log = logging.getLogger(__name__)

READS_NOTE = (
    "Nhật ký đọc: hệ thống ghi lại (audit_log) mỗi lần kiểm toán viên xem hồ sơ và mỗi lần "
    "giải mã dữ liệu lưu trong Temporal; các lần cán bộ xem hồ sơ khi giải quyết không được "
    "ghi nhật ký riêng, chỉ các việc họ làm (diễn biến xử lý) được ghi."
)
TEMPORAL_NOTE = (
    "Ngoài các bảng trên, lịch sử xử lý từng hồ sơ trong Temporal lưu hồ sơ như khi nộp "
    "(kể cả số điện thoại, thư điện tử, địa chỉ), được mã hóa; lịch sử của hồ sơ đã kết "
    "thúc được lưu trữ theo thời hạn lưu trữ hồ sơ."
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def export_of(
    request: PersonalDataRequestRow, held: dict[str, Any], at: datetime
) -> dict[str, Any]:
    """The export (JSON-ready) of what is held about the request's data subject."""

    def of(name: str, code: str) -> list[Any]:
        return [r for r in held[name] if r.dossier_code == code]

    dossiers = []
    for d in held["dossiers"]:
        dossiers.append(
            {
                "code": d.code,
                "procedure_code": d.procedure_code,
                "procedure_name": d.procedure_name,
                "channel": d.channel,
                "status": d.status,
                "outcome": d.outcome,
                "submitted_at": _iso(d.submitted_at),
                "received_at": _iso(d.received_at),
                "appointment_at": _iso(d.appointment_at),
                "closed_at": _iso(d.closed_at),
                "applicant": {"name": d.applicant_name, "id_number": d.applicant_id_number},
                "contacts": [
                    {"channel": ch, "recipient": rcpt.split(":", 1)[-1]}
                    for code, ch, rcpt in held["contacts"]
                    if code == d.code
                ],
                "events": [
                    {
                        "seq": e.seq,
                        "kind": e.kind,
                        "at": _iso(e.at),
                        "role": e.role,
                        "actor_name": e.actor_name,
                        "agency": e.agency,
                        "comment": e.comment,
                        "data": e.data,
                    }
                    for e in of("events", d.code)
                ],
                "documents": [
                    {
                        "form": doc.form,
                        "title": doc.title,
                        "filename": doc.filename,
                        "source": doc.source,
                        "sha256": doc.sha256,
                        "created_at": _iso(doc.created_at),
                    }
                    for doc in of("documents", d.code)
                ],
                "reads": [
                    {
                        "at": _iso(r.at),
                        "actor_id": r.actor_id,
                        "application": r.application,
                        "action": r.action,
                    }
                    for r in of("reads", d.code)
                ],
                "ratings": [
                    {"at": _iso(r.at), "rating": r.rating, "comment": r.comment, "source": r.source}
                    for r in of("ratings", d.code)
                ],
                "feedback": [
                    {"at": _iso(f.at), "kind": f.kind, "text": f.text}
                    for f in of("feedback", d.code)
                ],
                "notes": [
                    {"at": _iso(n.at), "kind": n.kind, "note": n.note, "request_id": n.request_id}
                    for n in of("notes", d.code)
                ],
            }
        )
    return {
        "request": {
            "id": request.id,
            "account": request.account,
            "received_at": _iso(request.received_at),
        },
        "generated_at": _iso(at),
        "dossiers": dossiers,
        "reads_note": READS_NOTE,
        "temporal_note": TEMPORAL_NOTE,
    }


class DataRequestActivities:
    def __init__(
        self,
        engine: Engine,
        store: DocumentStore,
        calendar_overrides: Path | None,
        working_days: float,
    ) -> None:
        self.engine = engine
        self.store = store
        self.overrides = calendar_overrides
        self.working_days = working_days

    @activity.defn(name=OPEN_DATA_REQUEST)
    def open_data_request(self, inp: DataRequestInput) -> DataRequestOpened:
        received = inp.received_at or datetime.now(UTC)
        year = received.astimezone(UTC).year
        calendar = build_calendar(year - 1, year + 1, load_overrides(self.overrides))
        # As the law counts a dossier's time: a request after hours counts from the next
        # working morning, and the time runs out at the close of the last working day.
        due = calendar.appointment(
            received, Duration(value=self.working_days, unit=TimeUnit.WORKING_DAYS)
        )
        row = repository.open_data_request(
            self.engine,
            PersonalDataRequestRow(
                id=inp.request_id,
                account=inp.account,
                kind=inp.kind,
                status=RequestStatus.RECEIVED,
                details={"corrections": inp.corrections, "reason": inp.reason},
                received_at=received,
                due_at=due,
            ),
        )
        return DataRequestOpened(due_at=row.due_at)

    @activity.defn(name=EXPORT_PERSONAL_DATA)
    def export_personal_data(self, inp: DataRequestInput) -> DataRequestAnswer:
        request = repository.get_data_request(self.engine, inp.request_id)
        if request is None:
            raise RuntimeError(f"personal-data request {inp.request_id} is not recorded")
        if request.status != RequestStatus.RECEIVED:  # answered by an earlier attempt
            return DataRequestAnswer(
                status=request.status, answer=request.answer, export_key=request.export_key
            )
        at = datetime.now(UTC)
        export = export_of(request, repository.held_about(self.engine, inp.account), at)
        content = json.dumps(export, ensure_ascii=False, indent=2, sort_keys=True).encode()
        key = self.store.put(content)
        n = len(export["dossiers"])
        answer = f"Đã trích xuất dữ liệu cá nhân trung tâm đang lưu: {n} hồ sơ."
        repository.answer_data_request(
            self.engine,
            inp.request_id,
            status=RequestStatus.ANSWERED,
            answer=answer,
            at=at,
            by="system",
            export_key=key,
        )
        return DataRequestAnswer(
            status=RequestStatus.ANSWERED, answer=answer, export_key=key, dossiers=n
        )

    @activity.defn(name=ESCALATE_DATA_REQUEST)
    def escalate_data_request(self, inp: DataRequestEscalation) -> None:
        log.warning("personal-data request %s is past its time", inp.request_id)
        repository.escalate_data_request(self.engine, inp.request_id, inp.at)

    @activity.defn(name=DECIDE_DATA_REQUEST)
    def decide_data_request(self, inp: DataRequestDecided) -> DataRequestAnswer:
        held = repository.held_about(self.engine, inp.account)
        dossiers = held["dossiers"]
        codes = [d.code for d in dossiers]
        by = inp.decision.by_name or inp.decision.by
        kind = RequestKind(inp.kind)
        notes: list[PersonalDataNoteRow] = []
        recipients: list[tuple[list[str], str, str]] = []
        if not inp.decision.apply:
            status = RequestStatus.REFUSED
            answer = f"Không chấp nhận yêu cầu {kind.label_vi}: {inp.decision.reason or '—'}."
        elif kind is RequestKind.RESTRICT:
            status = RequestStatus.ANSWERED
            why = f" Lý do: {inp.decision.reason}." if inp.decision.reason else ""
            for d in dossiers:
                notes.append(
                    self._note(
                        d.code,
                        inp,
                        "restriction",
                        "Người nộp yêu cầu hạn chế xử lý dữ liệu cá nhân; "
                        f"đã chấp nhận ({by}).{why}",
                        {},
                    )
                )
            answer = (
                f"Đã ghi nhận hạn chế xử lý dữ liệu cá nhân trên {len(dossiers)} hồ sơ; "
                "dữ liệu chỉ được dùng cho việc giải quyết hồ sơ theo quy định."
            )
        else:
            status = RequestStatus.ANSWERED
            applied, annotated = [], []
            for field, value in inp.corrections.items():
                label = FIELD_LABELS.get(field, field)
                if field in CONTACT_FIELDS:
                    applied.append(label)
                    channel = CONTACT_CHANNELS.get(field)
                    if channel:
                        recipients.append((codes, channel, f"{channel}:{value}"))
                else:
                    annotated.append(label)
            for d in dossiers:
                before = {"name": d.applicant_name, "id_number": d.applicant_id_number}
                changes = {
                    f: {"held": before.get(f), "asked": v} for f, v in inp.corrections.items()
                }
                text = "; ".join(
                    f"{FIELD_LABELS.get(f, f)}: {c['held'] or '(không lưu trong bảng hồ sơ)'}"
                    f" → {c['asked']}"
                    for f, c in changes.items()
                )
                notes.append(
                    self._note(
                        d.code,
                        inp,
                        "correction",
                        f"Đề nghị chỉnh sửa ({by} chấp nhận): {text}. Hồ sơ gốc được giữ nguyên "
                        "theo thời hạn lưu trữ; chỉnh sửa được ghi chú tại đây.",
                        {
                            "changes": changes,
                            "applied": [f for f in inp.corrections if f in CONTACT_FIELDS],
                        },
                    )
                )
            parts = []
            if applied:
                parts.append(f"đã sửa {', '.join(applied)} cho các thông báo chưa gửi")
            if annotated:
                parts.append(
                    f"{', '.join(annotated)} thuộc hồ sơ đang được lưu trữ nên không sửa trực "
                    "tiếp mà được ghi chú trên hồ sơ"
                )
            answer = "Yêu cầu chỉnh sửa: " + "; ".join(parts) + f" ({len(dossiers)} hồ sơ)."
        repository.answer_data_request(
            self.engine,
            inp.request_id,
            status=status,
            answer=answer,
            at=inp.at,
            by=inp.decision.by,
            notes=notes,
            outbox_recipients=recipients,
        )
        return DataRequestAnswer(status=status, answer=answer, dossiers=len(dossiers))

    @staticmethod
    def _note(
        code: str, inp: DataRequestDecided, kind: str, note: str, data: dict[str, Any]
    ) -> PersonalDataNoteRow:
        return PersonalDataNoteRow(
            dossier_code=code,
            request_id=inp.request_id,
            kind=kind,
            note=note,
            data=data,
            by=inp.decision.by,
            at=inp.at,
        )
