"""The dossier service's messages, in Vietnamese and English (domain/i18n.py)."""

from __future__ import annotations

from domain.i18n import Catalogue

T = Catalogue(
    {
        "unknown_procedure": ("Không có thủ tục {code}", "unknown procedure {code}"),
        "no_version_in_force": (
            "Thủ tục {code} không có phiên bản nào có hiệu lực ngày {day}",
            "procedure {code} has no version in force on {day}",
        ),
        "unknown_centre": (
            "centre_agency: không có cơ quan {agency}",
            "centre_agency: unknown agency {agency}",
        ),
        "not_a_centre": (
            "{field}: {agency} không phải là Trung tâm Phục vụ hành chính công đang hoạt động",
            "{field}: {agency} is not a public administration service centre in operation",
        ),
        "centre_ended": (
            "{field}: {name} ({agency}) đã thôi hoạt động sau ngày {last} (sắp xếp đơn vị hành "
            "chính): không tiếp nhận hồ sơ mới, không trả kết quả; hồ sơ đã nhận vẫn tra cứu "
            "được. {instead}",
            "{field}: {name} ({agency}) ceased operating after {last} (administrative units "
            "reorganised): it receives no new dossier and returns no result; the dossiers it "
            "received can still be read. {instead}",
        ),
        "centre_not_yet": (
            "{field}: {name} ({agency}) chỉ hoạt động từ ngày {first}",
            "{field}: {name} ({agency}) operates only from {first}",
        ),
        "go_to_successor": (
            "Cơ quan kế thừa: {name} ({agency})",
            "Its successor: {name} ({agency})",
        ),
        "no_successor": (
            "Hãy chọn một trung tâm đang hoạt động (GET /v1/agencies?in_operation=true)",
            "Choose a centre in operation (GET /v1/agencies?in_operation=true)",
        ),
        "own_centre_only": (
            "Cán bộ tiếp nhận của {own} chỉ tiếp nhận hồ sơ tại chính trung tâm của mình, "
            "không tiếp nhận thay {agency}",
            "an intake officer of {own} receives dossiers at their own centre only, not for "
            "{agency}",
        ),
        "not_receivable": (
            "Thủ tục {code} không thuộc danh mục tiếp nhận không phụ thuộc địa giới hành chính: "
            "{centre} không tiếp nhận được; nộp tại {home}",
            "procedure {code} is not on the province's boundary-free list: {centre} may not "
            "receive it; file it at {home}",
        ),
        "return_by_post_and_centre": (
            "return_agency: đã chọn nhận kết quả qua bưu chính, không chọn thêm nơi nhận",
            "return_agency: the result is sent by post; name no centre to collect it",
        ),
        "unknown_linked": (
            "Thủ tục liên thông: {reason}",
            "linked procedure: {reason}",
        ),
        "who_submits": (
            "Chỉ người nộp hồ sơ hoặc cán bộ tiếp nhận được nộp hồ sơ",
            "only an applicant or an intake officer may submit a dossier",
        ),
        "own_account": (
            "Người nộp chỉ được nộp hồ sơ cho chính tài khoản của mình",
            "an applicant may submit only for their own account",
        ),
        "start_unconfirmed": (
            "Temporal chưa xác nhận hồ sơ {code} kịp thời; hãy nộp lại với cùng "
            "Idempotency-Key (nếu không có, hãy xem /v1/dossiers trước)",
            "Temporal did not confirm dossier {code} in time; submit again with the same "
            "Idempotency-Key (without one, check /v1/dossiers first)",
        ),
        "received_no_answer": (
            "Hồ sơ {code} đã được nhận, nhưng bộ xử lý của nó chưa trả lời kịp; hãy đọc hồ "
            "sơ tại /v1/dossiers/{code} sau giây lát",
            "dossier {code} was received, but its worker did not answer in time; read it at "
            "/v1/dossiers/{code} in a moment",
        ),
        "update_no_answer": (
            "Bộ xử lý của hồ sơ {code} không trả lời kịp; thao tác '{action}' có thể vẫn đang "
            "được thực hiện: {again}",
            "the worker of dossier {code} did not answer in time; '{action}' may still be "
            "under way: {again}",
        ),
        "again_same_key": (
            "gửi lại đúng yêu cầu này với cùng Idempotency-Key (an toàn: thao tác không bị "
            "thực hiện hai lần)",
            "send this very request again with the same Idempotency-Key (safe: the action is "
            "not taken twice)",
        ),
        "again_check_first": (
            "hãy xem lại hồ sơ trước khi thử lại, hoặc gửi kèm Idempotency-Key và "
            "expected_step để thử lại an toàn",
            "read the dossier before trying again, or send an Idempotency-Key and "
            "expected_step to retry safely",
        ),
        "no_dossier": ("Không có hồ sơ {code}", "no dossier {code}"),
        # POST /v1/verify and `motcua verify`: what only the engine knows about a file.
        "verify_wrong_signer": (
            "{field}: do {name} thuộc {agency} ký, nhưng hồ sơ {code} chỉ được ký bởi {expected}",
            "{field}: signed by {name} of {agency}, but dossier {code} may only be signed by "
            "{expected}",
        ),
        "verify_wrong_seal": (
            "{field}: đóng dấu bởi {agency}, nhưng hồ sơ {code} chỉ được đóng dấu bởi {expected}",
            "{field}: sealed by {agency}, but dossier {code} may only be sealed by {expected}",
        ),
        "verify_no_agency": (
            "{field}: chứng thư số không ghi cơ quan (OU) và cán bộ",
            "{field}: the certificate does not name an agency (OU) and an officer",
        ),
        "verify_not_recorded": (
            "Tệp này không phải văn bản đã lưu của hồ sơ {code}: tệp đã bị sửa sau khi cấp, "
            "hoặc motcua chưa từng cấp tệp này",
            "this file is not a document recorded for dossier {code}: it was changed after "
            "it was issued, or motcua never issued it",
        ),
        "verify_not_issued": (
            "Tệp này không phải văn bản do motcua cấp",
            "this file is not a document motcua issued",
        ),
        "nothing_changed": (
            "Bộ xử lý của hồ sơ không trả lời kịp; chưa có gì thay đổi, hãy thử lại",
            "the dossier's worker did not answer in time; nothing was changed, try again",
        ),
        "no_history": (
            "Không có lịch sử của hồ sơ {code}: không có trong Temporal, không có trong kho lưu "
            "trữ",
            "no history of dossier {code}: not in Temporal, not in the archive",
        ),
        "naive_instant": (
            "thời điểm {at} không có múi giờ: hãy ghi kèm múi giờ",
            "naive datetime {at}: give a timezone",
        ),
        "before_submission": (
            "Hồ sơ {code} được nộp lúc {submitted}; không có trạng thái nào lúc {at}",
            "dossier {code} was submitted at {submitted}; there is no state at {at}",
        ),
        "no_event_before": (
            "Hồ sơ {code} không có sự kiện nào được ghi lúc hoặc trước {at}",
            "dossier {code} has no recorded event at or before {at}",
        ),
        # Integrity of the read model (services/audit/integrity.py): an auditor reads them.
        "event_missing": (
            "sự kiện #{seq} không có trong dữ liệu đọc",
            "event #{seq} is missing from the read model",
        ),
        "event_hash": (
            "sự kiện #{seq} ({kind}) không khớp với mã băm của nó: dòng đã bị sửa sau khi ghi",
            "event #{seq} ({kind}) does not match its hash: the row was changed after it was "
            "recorded",
        ),
        "event_chain": (
            "sự kiện #{seq} ({kind}) không nối tiếp sự kiện #{before} trong chuỗi băm: một sự "
            "kiện trước nó đã bị sửa, xóa hoặc chèn thêm",
            "event #{seq} ({kind}) does not follow event #{before} in the chain: an event "
            "before it was changed, removed or inserted",
        ),
        "event_hash_lost": (
            "sự kiện #{seq} ({kind}) đã mất mã băm",
            "event #{seq} ({kind}) has lost its hash",
        ),
        "event_not_in_read_model": (
            "sự kiện #{seq} ({kind}) không có trong dữ liệu đọc",
            "event #{seq} ({kind}) is not in the read model",
        ),
        "event_differs": (
            "sự kiện #{seq} ({kind}): {field} là {recorded} trong dữ liệu đọc nhưng là "
            "{original} trong lịch sử quy trình",
            "event #{seq} ({kind}): {field} is {recorded} in the read model but {original} in "
            "the workflow history",
        ),
        "event_not_in_history": (
            "sự kiện #{seq} ({kind}) có trong dữ liệu đọc nhưng không có trong lịch sử",
            "event #{seq} ({kind}) is in the read model but not in the history",
        ),
        "chain_head": (
            "chuỗi băm của dữ liệu đọc kết thúc ở {head}…, của quy trình ở {workflow}…: có sự "
            "kiện bị thiếu hoặc bị sửa",
            "the read model's chain ends at {head}…, the workflow's at {workflow}…: events are "
            "missing or were changed",
        ),
        "nothing": ("(không có)", "nothing"),
        "query_no_answer": (
            "Bộ xử lý của hồ sơ {code} không trả lời kịp; hãy thử lại",
            "the worker of dossier {code} did not answer in time; try again",
        ),
        # Publishing the Decision 766 index (services/index_publication.py).
        "publish_period": (
            "kỳ '{period}' không hợp lệ: cần một tháng dạng YYYY-MM, ví dụ 2026-11",
            "period '{period}' is not a month like 2026-11",
        ),
        "publish_month_not_over": (
            "Tháng {period} chưa kết thúc: chỉ công bố tháng đã qua",
            "month {period} is not over: only a past month is published",
        ),
        "publish_already": (
            "Tháng {period} đã được công bố (lần {revision}); muốn đính chính, hãy nêu lý do "
            "để công bố bản sửa đổi",
            "month {period} is already published (revision {revision}); to correct it, give "
            "a reason and publish a revision",
        ),
        "publish_raced": (
            "Tháng {period} vừa được người khác công bố (lần {revision}); hãy xem lại",
            "month {period} was just published by someone else (revision {revision}); look again",
        ),
        "publish_nothing_to_correct": (
            "Tháng {period} chưa được công bố: không có gì để đính chính",
            "month {period} was never published: nothing to correct",
        ),
        "publish_none": (
            "Chưa có bản công bố {what}",
            "no publication of {what}",
        ),
        # E-receipts (services/receipts.py).
        "receipt_not_found": (
            "Hồ sơ {code} không có biên lai {receipt}",
            "dossier {code} has no receipt {receipt}",
        ),
        "receipt_cancel_forbidden": (
            "Chỉ lãnh đạo hoặc cán bộ thu của {agency} được hủy biên lai {receipt}",
            "only a leader or a collecting officer of {agency} may cancel receipt {receipt}",
        ),
        "receipt_cancel_reason": (
            "reason: hãy nêu lý do hủy biên lai",
            "reason: give the reason for cancelling the receipt",
        ),
        "receipt_cancelled_already": (
            "Biên lai {receipt} đã bị hủy và thay thế",
            "receipt {receipt} is already cancelled and replaced",
        ),
    },
    "service",
)
