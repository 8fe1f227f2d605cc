"""The machine's refusals, in Vietnamese and English (domain/i18n.py).

A refusal travels from the workflow's validator to the API as an update failure whose
details carry the key and parameters (`Text.to_json`); the API renders it in the
caller's language. Codes (wrong_step, closed, forbidden, invalid) are unchanged."""

from __future__ import annotations

from domain.catalog import Role
from domain.dossier import Status
from domain.i18n import Catalogue, Text

_ROLES_VI = {
    Role.APPLICANT: "người nộp hồ sơ",
    Role.INTAKE_OFFICER: "cán bộ tiếp nhận",
    Role.SPECIALIST: "chuyên viên",
    Role.LEADER: "lãnh đạo",
    Role.SIGNER: "người ký",
    Role.RETURN_OFFICER: "cán bộ trả kết quả",
    Role.AUDITOR: "kiểm soát viên",
    Role.ADMIN: "quản trị viên",
    Role.CATALOG_ADMIN: "cán bộ quản lý danh mục thủ tục",
    Role.SYSTEM: "hệ thống",
}

T = Catalogue(
    {
        # Names: a status, a role (the code stays beside it, callers send codes).
        **{f"status.{s.value}": (f"{s.label_vi}", s.value.replace("_", " ")) for s in Status},
        **{f"role.{r.value}": (f"{_ROLES_VI[r]} ({r.value})", r.value) for r in Role},
        "role_of": ("{role} của {agency}", "{role} of {agency}"),
        "own_applicant": (
            "{role}, chính người nộp hồ sơ này",
            "{role} (the dossier's own applicant)",
        ),
        "either": ("{first} hoặc {rest}", "{first} or {rest}"),
        # Where the dossier is.
        "where_closed": ("đã kết thúc: {status}", "closed as {status}"),
        "where_step": (
            "ở bước '{step}' ({name}), do {role} của {agency} xử lý, trạng thái {status}",
            "at step '{step}' ({name}, held by {role} of {agency}), status {status}",
        ),
        # Not now.
        "closed": (
            "Hồ sơ {code} đã kết thúc ({status}); không thể thực hiện '{action}' nữa",
            "dossier {code} is closed ({status}); '{action}' is no longer possible",
        ),
        "closed_now": (
            "Hồ sơ {code} đã kết thúc; không thể thực hiện '{action}' nữa",
            "dossier {code} is closed; '{action}' is no longer possible",
        ),
        "no_supplement_requested": (
            "Hồ sơ không có yêu cầu bổ sung nào; hồ sơ đang {where}",
            "no supplement was requested; the dossier is {where}",
        ),
        "withdraw_after_decision": (
            "Hồ sơ đã có quyết định; không thể rút hồ sơ nữa (hồ sơ đang {where})",
            "the decision has been made; a withdrawal is no longer possible ({where})",
        ),
        "extension_not_received": (
            "Hồ sơ chưa được tiếp nhận nên chưa có ngày hẹn để gia hạn",
            "the dossier has not been received yet, so it has no appointment to extend",
        ),
        "extension_processed": (
            "Hồ sơ đã xử lý xong; không cần gia hạn",
            "the dossier has been processed; no extension is needed",
        ),
        "extension_once": (
            "Ngày hẹn chỉ được hẹn lại một lần, và đã hẹn lại rồi",
            "the appointment may be set anew only once, and it already was",
        ),
        "extension_paused": (
            "Thời hạn đang tạm dừng chờ người nộp bổ sung; chưa có ngày hẹn để gia hạn",
            "the clock is paused while the applicant supplements; there is no appointment "
            "to extend",
        ),
        "extension_too_late": (
            "Văn bản xin lỗi và hẹn lại ngày trả kết quả (Mẫu 04) phải gửi chậm nhất "
            "{latest}, một ngày làm việc trước ngày hẹn {due}",
            "the apology and extension request (Form 04) had to be sent by {latest}, one "
            "working day before the appointment {due}",
        ),
        "waiting_supplement": (
            "Hồ sơ đang chờ người nộp bổ sung giấy tờ (hồ sơ đang {where})",
            "the dossier is waiting for the applicant's supplement ({where})",
        ),
        "being_signed": (
            "Kết quả đang được ký ('{action}' do {actor} thực hiện từ {since}); hãy chờ ký "
            "xong (hồ sơ đang {where})",
            "the result is being signed ('{action}' by {actor} since {since}); wait for the "
            "signature ({where})",
        ),
        "not_now": (
            "Chưa thể thực hiện '{action}' lúc này: hồ sơ đang {where}",
            "'{action}' is not possible now: the dossier is {where}",
        ),
        # Not this actor.
        "forbidden": (
            "Thao tác '{action}' trên hồ sơ {code} phải do {who} thực hiện; {actor} là {as_}",
            "'{action}' on {code} must be taken by {who}; {actor} is {as_}",
        ),
        "move_closed": (
            "Hồ sơ {code} đã kết thúc: không chuyển sang cơ quan kế thừa",
            "dossier {code} is closed: nothing moves to a successor",
        ),
        "move_same": (
            "Cơ quan kế thừa phải khác {agency}",
            "the successor must be another agency than {agency}",
        ),
        "move_not_here": (
            "Hồ sơ {code} không còn việc nào tại {agency}",
            "dossier {code} has no work left at {agency}",
        ),
        "already_taken": (
            "Yêu cầu này (cùng Idempotency-Key) đã được thực hiện trên hồ sơ {code}; thao tác "
            "không được thực hiện lần nữa",
            "this request (the same Idempotency-Key) was already carried out on dossier "
            "{code}; the action is not taken again",
        ),
        "expected_closed": (
            "Hồ sơ {code} không còn ở bước '{expected}': hồ sơ đã kết thúc ({status})",
            "dossier {code} is no longer at step '{expected}': it is closed ({status})",
        ),
        "expected_moved": (
            "Hồ sơ {code} không còn ở bước '{expected}': hồ sơ đang ở bước '{step}' ({name}), "
            "do {role} của {agency} xử lý",
            "dossier {code} is no longer at step '{expected}': it is at step '{step}' "
            "({name}), held by {role} of {agency}",
        ),
        "handoff_in_flight": (
            "Hồ sơ {code} đang được chuyển sang cơ quan khác; hãy thử lại sau giây lát",
            "dossier {code} is still being handed to another agency; try again in a moment",
        ),
        "signing_failed": (
            "Không ký được kết quả: {reason}; bước này trở lại người ký",
            "the result could not be signed: {reason}; the step is back with the signer",
        ),
        "signing_no_answer": (
            "không có trả lời trong {minutes} phút (bộ xử lý của cơ quan ký có đang chạy không?)",
            "no answer within {minutes} minutes (is the signing agency's worker running?)",
        ),
        # What the machine records (events' comments, escalations): stored in Vietnamese.
        "esc_child_unacknowledged": (
            "{agency} chưa xác nhận đã nhận hồ sơ liên thông {child} ({procedure}) trong 2 giờ "
            "làm việc; đang gửi lại",
            "{agency} has not acknowledged sub-dossier {child} ({procedure}) within 2 working "
            "hours; it is being retried",
        ),
        "esc_step_budget": (
            "Bước '{step}' đã quá thời gian cho phép {budget} (hạn {due})",
            "step '{step}' ran past its budget of {budget} (due {due})",
        ),
        "esc_apology_due": (
            "Sắp đến ngày hẹn {due}: nếu hồ sơ sẽ trễ hạn, hãy gửi văn bản xin lỗi và hẹn lại "
            "ngày trả kết quả (Mẫu 04) chậm nhất {latest}",
            "appointment {due} is near: if the dossier will be late, send the apology and "
            "extension request (Form 04) by {latest}",
        ),
        "esc_overdue": (
            "Hồ sơ đã quá ngày hẹn {due}, đang ở bước '{step}' của {agency}",
            "dossier is past its appointment {due} at step '{step}' of {agency}",
        ),
        "inspection_due": (
            "Kiểm tra thực địa lúc {at} {place}",
            "site inspection at {at} {place}",
        ),
        "deemed_consent": (
            "{agency} không trả lời trước {due}: được coi là đồng ý",
            "{agency} did not reply by {due}: deemed to agree",
        ),
        "supplement_expired": (
            "Người nộp không bổ sung hồ sơ trong thời hạn",
            "the applicant did not supplement in time",
        ),
        "child_ended": (
            "Hồ sơ liên thông {procedure} ({child}) kết thúc: {outcome}",
            "sub-procedure {procedure} ({child}) ended {outcome}",
        ),
        "group_ended": (
            "Nhóm thủ tục liên thông {code} đã kết thúc: {outcome}",
            "the linked group {code} ended: {outcome}",
        ),
        # Bad data.
        "nul": (
            "{where}: văn bản không được chứa ký tự NUL",
            "{where}: text may not contain NUL characters",
        ),
        "needs_reason": (
            "Thao tác '{action}' cần ghi lý do trong 'comment'",
            "'{action}' needs a reason in 'comment'",
        ),
        "missing_list": (
            "data.missing phải liệt kê một lần đầy đủ mọi giấy tờ còn thiếu hoặc chưa đúng "
            "(danh sách chuỗi, không rỗng; Mẫu 02)",
            "data.missing must list every missing or incorrect document at once (a non-empty "
            "list of strings; Form 02)",
        ),
        "appraise_opinion": (
            "Thao tác 'appraise' cần ý kiến thẩm định trong data.opinion hoặc comment",
            "'appraise' needs the appraisal opinion in data.opinion or comment",
        ),
        "recommendation": (
            "data.recommendation phải là 'grant' (đề xuất giải quyết) hoặc 'refuse' (đề xuất "
            "từ chối)",
            "data.recommendation must be 'grant' or 'refuse'",
        ),
        "channel": (
            "data.channel phải là một trong: {channels}",
            "data.channel must be one of {channels}",
        ),
        "return_text": (
            "data.{key} phải là văn bản (tối đa 500 ký tự)",
            "data.{key} must be text (at most 500 characters)",
        ),
        "not_the_applicant": (
            "{received_by} không phải người nộp hồ sơ: cần data.authorization, giấy ủy quyền "
            "đã xuất trình",
            "{received_by} is not the applicant named on the dossier: give "
            "data.authorization, the power of attorney (giấy ủy quyền) shown",
        ),
        "tracking_number": (
            "data.tracking_number: số hiệu bưu gửi của lần gửi kết quả",
            "data.tracking_number: the postal item number of the sending",
        ),
        "address": (
            "data.address: người nộp không khai địa chỉ; hãy ghi địa chỉ nhận bưu gửi",
            "data.address: the applicant gave none; give the postal address",
        ),
        "online_no_result": (
            "Trả kết quả trực tuyến là trao kết quả điện tử đã ký, mà hồ sơ này chưa có; hãy "
            "trả tại Bộ phận Một cửa hoặc qua bưu chính",
            "an online return hands over the signed electronic result, and this dossier has "
            "none; return it at the counter or by post",
        ),
        "not_working_day": (
            "data.new_appointment: {day} không phải ngày làm việc",
            "data.new_appointment {day} is not a working day",
        ),
        "extension_how": (
            "Cần data.new_appointment (YYYY-MM-DD) hoặc data.extra_days (số ngày làm việc, "
            "lớn hơn 0)",
            "give data.new_appointment (YYYY-MM-DD) or data.extra_days (a positive number of "
            "working days)",
        ),
        "new_appointment_format": (
            "data.new_appointment: không phải một ngày dạng YYYY-MM-DD",
            "data.new_appointment: not a date like YYYY-MM-DD",
        ),
        "new_not_later": (
            "Ngày hẹn mới {new} phải sau ngày hẹn hiện tại {current}",
            "the new appointment {new} must be after the current one {current}",
        ),
        "extension_cap": (
            "Ngày hẹn mới chỉ được thêm tối đa {cap} (đến {limit}); {new} là quá muộn",
            "the new appointment may add at most {cap} (until {limit}); {new} is later",
        ),
        "documents_invalid": (
            "data.documents.{where}: giá trị không hợp lệ ({kind})",
            "data.documents.{where}: {msg}",
        ),
        "documents_empty": (
            "data.documents phải liệt kê các giấy tờ bổ sung",
            "data.documents must list the supplemented documents",
        ),
        "inspection_format": (
            "data.at phải là ngày giờ kiểm tra thực địa (ISO 8601)",
            "data.at must be the inspection's date and time (ISO 8601)",
        ),
        "inspection_past": (
            "data.at {at} không phải thời điểm trong tương lai",
            "data.at {at} is not in the future",
        ),
        "inspection_off_hours": (
            "data.at {at} nằm ngoài giờ hành chính của một ngày làm việc",
            "data.at {at} is outside office hours on a working day",
        ),
        # Assignment (phân công): domain/machine/assignment.py.
        "assigned_to_other": (
            "Bước '{step}' của hồ sơ {code} đã được phân công cho {officer} ({officer_id}): "
            "chỉ người được phân công thực hiện '{action}'; lãnh đạo có thể phân công lại",
            "step '{step}' of {code} is assigned to {officer} ({officer_id}): only the "
            "assignee may take '{action}'; a leader may reassign it",
        ),
        "already_held": (
            "Bước '{step}' đã được phân công cho {officer} ({officer_id}); chỉ lãnh đạo "
            "phân công lại được",
            "step '{step}' is already assigned to {officer} ({officer_id}); only a leader "
            "may reassign it",
        ),
        "claim_for_self": (
            "Nhận xử lý là nhận hồ sơ cho chính mình; muốn giao cho cán bộ khác, lãnh đạo "
            "phân công (assign)",
            "a claim takes the dossier for oneself; to give it to another officer, a "
            "leader assigns it (assign)",
        ),
        "assignee_missing": (
            "data.assignee: hãy nêu cán bộ được phân công (mã đăng nhập)",
            "data.assignee: name the officer to assign (their login id)",
        ),
        "assignee_not_of_step": (
            "Không phân công được cho {who}: bước '{step}' do {holder} xử lý, còn cán bộ "
            "này là {their}",
            "cannot assign to {who}: step '{step}' is held by {holder}; this officer is {their}",
        ),
        "assignee_roles": ("{roles} của {agency}", "{roles} of {agency}"),
        "assignee_unknown": (
            "người chưa từng đăng nhập hệ thống (không rõ vai trò và cơ quan)",
            "someone who never signed in (role and agency unknown)",
        ),
        "move_unavailable": (
            "Hồ sơ {code} được tạo trước khi có chức năng chuyển cơ quan kế thừa: không chuyển "
            "được",
            "dossier {code} was created before agencies could be merged: it cannot be moved",
        ),
        "assignment_unavailable": (
            "Hồ sơ {code} không có chức năng phân công (hồ sơ được tạo trước khi có chức năng này)",
            "assignment is not available on dossier {code} (started before it existed)",
        ),
        # Fees (domain/fees.py).
        "fee_amount": (
            "Số tiền không đúng: hồ sơ {code} phải nộp {expected} đồng ({lines}), "
            "không phải {amount} đồng",
            "wrong amount: dossier {code} owes {expected} VND ({lines}), not {amount} VND",
        ),
        "fee_amount_missing": (
            "data.amount_vnd: hãy ghi số tiền đã thu (đồng, số nguyên); hồ sơ {code} phải "
            "nộp {expected} đồng",
            "data.amount_vnd: give the amount collected (whole VND); dossier {code} owes "
            "{expected} VND",
        ),
        "fee_method": (
            "data.method: hình thức nộp phải là một trong {methods}",
            "data.method: the payment method must be one of {methods}",
        ),
        "fee_copies": (
            "data.copies: số bản phải là số nguyên từ 1 đến 100",
            "data.copies: the number of copies must be a whole number from 1 to 100",
        ),
        "fee_group": (
            "data.exemption: '{group}' không phải đối tượng được miễn, giảm của thủ tục này "
            "({groups})",
            "data.exemption: '{group}' is not an exempted group of this procedure ({groups})",
        ),
        "fee_unpaid": (
            "Hồ sơ {code} chưa nộp phí, lệ phí ({expected} đồng): ghi nhận việc thu (pay) "
            "trước khi trả kết quả",
            "dossier {code} has not paid its fees ({expected} VND): record the payment "
            "(pay) before returning the result",
        ),
        "fee_paid_already": (
            "Hồ sơ {code} đã nộp phí, lệ phí của bước này",
            "dossier {code} has already paid the fees of this step",
        ),
        "already_assigned_to": (
            "Bước '{step}' đã được phân công cho {who}",
            "step '{step}' is already assigned to {who}",
        ),
    },
    "machine",
)


def status(s: Status) -> Text:
    return T(f"status.{s.value}")


def role(r: Role) -> Text:
    return T(f"role.{r.value}")


def role_of(r: Role, agency: str | None) -> Text:
    return T("role_of", role=role(r), agency=agency) if agency else role(r)


def either(options: list[Text]) -> Text:
    """ "a hoặc b hoặc c" / "a or b or c"."""
    first, *rest = options
    return T("either", first=first, rest=either(rest)) if rest else first
