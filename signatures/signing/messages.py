"""What the signature validator reports, in Vietnamese and English (domain/i18n.py).
The reader's language is chosen by the caller (`verify_pdf(..., lang=...)`): Vietnamese
unless the API's caller asked for English."""

from __future__ import annotations

from domain.i18n import Catalogue

T = Catalogue(
    {
        "no_certificate": (
            "Chữ ký không mang chứng thư số của người ký đọc được: {error}",
            "the signature carries no readable signer certificate: {error}",
        ),
        "not_validated": (
            "Không kiểm tra được chữ ký: {error}",
            "the signature could not be validated: {error}",
        ),
        "not_verified": (
            "Không xác minh được chữ ký: {error}",
            "the signature could not be verified: {error}",
        ),
        "modified_after_signature": (
            "Văn bản đã bị sửa sau khi ký: các byte đã ký không còn khớp với chữ ký",
            "the document was modified after this signature: the signed bytes no longer "
            "match the signature",
        ),
        "bad_value": (
            "Giá trị chữ ký không hợp lệ với chứng thư số của người ký",
            "the signature value is not valid for the signer's certificate",
        ),
        "expired_before_signing": (
            "Chứng thư số của người ký đã hết hạn ngày {expired}, trước thời điểm ký được "
            "khai là {claimed}",
            "the signer's certificate expired on {expired}, before the claimed signing time "
            "{claimed}",
        ),
        "expired": (
            "Chứng thư số của người ký đã hết hạn ngày {expired} (kiểm tra tại thời điểm {at})",
            "the signer's certificate expired on {expired} (validated at {at})",
        ),
        "not_yet_valid": (
            "Chứng thư số của người ký chưa có hiệu lực trước ngày {start}",
            "the signer's certificate is not valid before {start}",
        ),
        "no_chain": (
            "Chứng thư số của người ký không dẫn về chứng thư gốc tin cậy",
            "the signer's certificate does not chain to a trusted root",
        ),
        "untrusted_chain": (
            "Chuỗi chứng thư số của người ký không được tin cậy ({reason})",
            "the signer's certificate chain is not trusted ({reason})",
        ),
        "bad_timestamp": (
            "Dấu thời gian của chữ ký không hợp lệ hoặc không do tổ chức cấp dấu thời gian "
            "tin cậy cấp",
            "the signature timestamp is not valid or not from a trusted authority",
        ),
        "partial": (
            "Chữ ký không bao trùm toàn bộ phiên bản văn bản mà nó ký",
            "the signature does not cover its whole revision of the document",
        ),
        "modified_not_signatures": (
            "Văn bản đã bị sửa sau khi ký (không chỉ là thêm chữ ký)",
            "the document was modified after this signature (changes other than adding signatures)",
        ),
        "seed_value": (
            "Chữ ký vi phạm ràng buộc của trường chữ ký: {error}",
            "the signature breaks its field's constraints: {error}",
        ),
        "timestamp_not_validated": (
            "Không kiểm tra được dấu thời gian của văn bản: {error}",
            "the document timestamp could not be validated: {error}",
        ),
        "modified_after_timestamp_bytes": (
            "Văn bản đã bị sửa sau dấu thời gian: các byte được gắn dấu thời gian không còn khớp",
            "the document was modified after this timestamp: the timestamped bytes no longer match",
        ),
        "timestamp_bad_value": (
            "Chữ ký của dấu thời gian không hợp lệ",
            "the timestamp's signature is not valid",
        ),
        "tsa_expired": (
            "Chứng thư số của tổ chức cấp dấu thời gian đã hết hạn ngày {expired} (kiểm tra "
            "tại thời điểm {at})",
            "the time-stamping authority's certificate expired on {expired} (validated at {at})",
        ),
        "tsa_no_chain": (
            "Tổ chức cấp dấu thời gian không dẫn về chứng thư gốc tin cậy",
            "the time-stamping authority does not chain to a trusted root",
        ),
        "modified_after_timestamp": (
            "Văn bản đã bị sửa sau dấu thời gian",
            "the document was modified after this timestamp",
        ),
        "bad_roots": (
            "Không đọc được chứng thư gốc tin cậy: {error}",
            "cannot read the trust roots: {error}",
        ),
        "not_pdf": ("Không phải tệp PDF đọc được: {error}", "not a readable PDF: {error}"),
        "keywords_changed": (
            "Từ khóa của văn bản (mã hồ sơ) đã bị thay đổi sau khi ký",
            "the document's keywords (dossier code) were changed after it was signed",
        ),
        "unsigned": ("Văn bản không có chữ ký", "no signature"),
    },
    "signatures",
)
