"""What people read for a role and for an event of a dossier's history, in Vietnamese: the
same words as the web interface's (api/ui/static/app.js ROLE_LABELS, ACTION_LABELS,
EVENT_LABELS; tests/unit/test_labels.py keeps the two the same), for texts made on the
server (the personal-data export a citizen downloads)."""

from __future__ import annotations

ROLE_LABELS: dict[str, str] = {
    "applicant": "Người nộp hồ sơ",
    "intake_officer": "Cán bộ tiếp nhận",
    "specialist": "Chuyên viên xử lý",
    "leader": "Lãnh đạo",
    "signer": "Người ký",
    "return_officer": "Cán bộ trả kết quả",
    "auditor": "Kiểm toán viên",
    "admin": "Quản trị",
    "catalog_admin": "Quản lý danh mục thủ tục",
    "system": "Hệ thống",
}

ACTION_LABELS: dict[str, str] = {
    "accept": "Tiếp nhận hồ sơ",
    "request_supplement": "Yêu cầu bổ sung hồ sơ",
    "supplement": "Bổ sung hồ sơ",
    "refuse": "Từ chối",
    "forward": "Chuyển hồ sơ",
    "appraise": "Thẩm định",
    "schedule_inspection": "Hẹn kiểm tra thực địa",
    "approve": "Phê duyệt",
    "reject": "Không phê duyệt",
    "sign": "Ký số kết quả",
    "pay": "Nộp phí, nghĩa vụ tài chính",
    "return": "Trả kết quả",
    "withdraw": "Rút hồ sơ",
    "request_extension": "Xin lỗi và hẹn lại ngày trả (Mẫu 04)",
    "assign": "Phân công xử lý",
    "claim": "Nhận xử lý",
}

EVENT_LABELS: dict[str, str] = {
    **ACTION_LABELS,
    "submitted": "Nộp hồ sơ",
    "step_started": "Bắt đầu bước",
    "to_agency": "Chuyển đến cơ quan",
    "handoff_acknowledged": "Cơ quan đã nhận hồ sơ",
    "agency_moved": "Chuyển cơ quan kế thừa (sáp nhập)",
    "acknowledged": "Đã nhận",
    "escalated": "Quá hạn bước, báo lãnh đạo",
    "overdue": "Quá hạn trả kết quả",
    "warning": "Cảnh báo sắp đến hạn",
    "signing_started": "Bắt đầu ký số",
    "signing_failed": "Ký số không thành công",
    "result_issued": "Đã phát hành kết quả",
    "stopped": "Dừng xử lý",
    "supplement_expired": "Hết hạn bổ sung",
    "deemed_consent": "Coi như đồng ý (quá hạn lấy ý kiến)",
    "inspection_due": "Đến lịch kiểm tra thực địa",
    "child_started": "Bắt đầu hồ sơ liên thông",
    "child_acknowledged": "Cơ quan liên thông đã nhận",
    "child_appointment": "Hẹn của hồ sơ liên thông",
    "child_finished": "Hồ sơ liên thông hoàn thành",
    "closed": "Kết thúc hồ sơ",
    "data_reused": "Khai thác dữ liệu từ cơ sở dữ liệu",
    "data_not_supplied": "Không khai thác được dữ liệu",
    "database_correction_requested": "Đề nghị điều chỉnh thông tin trong cơ sở dữ liệu",
}


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


def event_label(kind: str) -> str:
    return EVENT_LABELS.get(kind, kind)
