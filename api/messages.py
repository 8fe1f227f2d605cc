"""The API's own messages, in Vietnamese and English (domain/i18n.py): errors of the
routes, of tokens, of bodies and limits, and FastAPI's defaults (404, 405, 422).

The error handlers (api/errors.py) render a `Text` in the caller's language
(api/language.py): Vietnamese unless Accept-Language prefers English."""

from __future__ import annotations

from domain.i18n import Catalogue

T = Catalogue(
    {
        # FastAPI's and Starlette's own answers.
        "not_found": ("Không tìm thấy", "Not Found"),
        "method_not_allowed": (
            "Phương thức {method} không dùng được với địa chỉ này",
            "method {method} is not allowed here",
        ),
        "request_failed": ("Yêu cầu không thực hiện được", "request failed"),
        "internal": (
            "Đã xảy ra lỗi không lường trước; lỗi đã được ghi lại",
            "an unexpected error occurred; it has been logged",
        ),
        "invalid_request": ("Yêu cầu không hợp lệ", "invalid request"),
        # Bodies and limits.
        "content_length": ("Content-Length không phải là số", "Content-Length is not a number"),
        "body_too_large": (
            "Nội dung yêu cầu vượt quá {limit} byte; hãy gửi từng tệp lớn một (bổ sung), "
            "hoặc theo sha256 khi trung tâm đã giữ tệp",
            "request body is over {limit} bytes; send large files one by one (supplements), "
            "or by sha256 when the centre holds them",
        ),
        "json_too_large": (
            "Nội dung JSON của yêu cầu vượt quá {limit} byte. Tệp đính kèm lớn hãy gửi dạng "
            "multipart/form-data (mỗi tệp tối đa {upload} byte).",
            "the JSON body is over {limit} bytes. Send large attachments as "
            "multipart/form-data (at most {upload} bytes a file).",
        ),
        "json_too_deep": (
            "Dữ liệu JSON lồng nhau quá sâu: tối đa {depth} tầng.",
            "the JSON is nested too deeply: at most {depth} levels.",
        ),
        "json_too_many": (
            "Dữ liệu JSON có quá nhiều khóa và phần tử: tối đa {keys} trong một yêu cầu.",
            "the JSON has too many keys and items: at most {keys} in one request.",
        ),
        "rate_limited": (
            "Quá nhiều {what} (tối đa {per_minute} mỗi phút); hãy thử lại sau {seconds} giây",
            "too many {what} (at most {per_minute} a minute); retry in {seconds} s",
        ),
        "what_requests": ("yêu cầu", "requests"),
        "what_submissions": ("lượt nộp hồ sơ", "dossier submissions"),
        "what_tracking": ("lượt tra cứu", "tracking requests"),
        "nul": (
            "{where}: không được chứa ký tự NUL",
            "{where}: may not contain NUL characters",
        ),
        # Uploads (multipart).
        "upload_file": ("Tệp {filename}: {reason}", "file {filename}: {reason}"),
        "multipart_header": (
            "Phần đầu (header) của một phần multipart quá dài.",
            "a multipart part's header is too long.",
        ),
        "multipart_part": (
            "Phần multipart '{name}' không hợp lệ: chỉ có phần '{json}' (JSON) và các tệp "
            "(mỗi tệp đặt tên theo loại giấy tờ).",
            "multipart part '{name}' is not allowed: only the '{json}' part (JSON) and files "
            "(each named by its document kind).",
        ),
        "multipart_json_once": (
            "Phần '{json}' chỉ được gửi một lần.",
            "the '{json}' part may be sent only once.",
        ),
        "multipart_kind": (
            "Tệp {filename}: tên phần '{name}' phải là loại giấy tờ (chữ thường, chữ số, dấu "
            "gạch dưới).",
            "file {filename}: part name '{name}' must be a document kind (lowercase letters, "
            "digits, underscores).",
        ),
        "multipart_max_files": (
            "Tối đa {count} tệp trong một yêu cầu.",
            "at most {count} files in one request.",
        ),
        "upload_too_large": (
            "Tệp {filename} vượt quá {limit} byte (giới hạn cho mỗi tệp).",
            "file {filename} is over {limit} bytes (the limit per file).",
        ),
        "upload_empty": ("Tệp {filename} rỗng.", "file {filename} is empty."),
        "multipart_boundary": (
            "Yêu cầu multipart/form-data thiếu boundary.",
            "the multipart/form-data request has no boundary.",
        ),
        "multipart_cut": (
            "Yêu cầu multipart/form-data bị cắt ngang.",
            "the multipart/form-data request was cut short.",
        ),
        "multipart_bad": (
            "Dữ liệu multipart/form-data không hợp lệ.",
            "the multipart/form-data body is not valid.",
        ),
        "body_media_type": (
            "body: nội dung là {media_type}; chỉ nhận application/json hoặc {multipart} (tệp "
            "đính kèm).",
            "body: the content is {media_type}; only application/json or {multipart} "
            "(attachments) are accepted.",
        ),
        "not_json": ("{where}: không phải JSON hợp lệ", "{where}: not valid JSON"),
        "not_object": ("{where}: phải là một đối tượng JSON", "{where}: must be a JSON object"),
        "not_list": ("{where}: phải là một danh sách", "{where}: must be a list"),
        "document_too_large": (
            "documents.{index} ({filename}): tệp {size} byte, quá giới hạn {limit} byte mỗi tệp",
            "documents.{index} ({filename}): the file is {size} bytes, over the limit of "
            "{limit} bytes a file",
        ),
        "document_unknown_sha": (
            "{where}: không có tệp nào có sha256 {sha256} mà bạn được phép dùng lại (chỉ dùng "
            "lại được tệp thuộc hồ sơ mà bạn được xem); hãy gửi nội dung tệp trong "
            "content_base64",
            "{where}: no file with sha256 {sha256} that you may reuse (only files of dossiers "
            "you may read can be reused); send the file's content in content_base64",
        ),
        "where_reason": ("{where}: {reason}", "{where}: {reason}"),
        # Schemas (pydantic validators of the API's own models).
        "schema_file_name_path": (
            "phải là tên tệp, không phải đường dẫn: không có '/' hay '\\' (kể cả %2F, %5C)",
            "a file name, not a path: no '/' or '\\' (nor %2F, %5C)",
        ),
        "schema_control_chars": (
            "không được có ký tự điều khiển (xuống dòng, tab, ...)",
            "no control characters (line breaks, tabs, ...)",
        ),
        "schema_not_file_name": ("không phải tên tệp", "not a file name"),
        "schema_content_or_sha": (
            "cần đúng một trong content_base64 hoặc sha256",
            "give exactly one of content_base64 or sha256",
        ),
        "schema_sha_mismatch": (
            "sha256 không khớp với content_base64",
            "sha256 does not match content_base64",
        ),
        "schema_base64": (
            "content_base64 không phải base64 hợp lệ",
            "content_base64 is not valid base64",
        ),
        "schema_email": ("không phải địa chỉ e-mail", "not an e-mail address"),
        # Tokens (401) and roles (403).
        "token_missing": (
            "Thiếu bearer token (Authorization: Bearer <token>)",
            "missing bearer token (Authorization: Bearer <token>)",
        ),
        "token_empty": ("token rỗng", "empty token"),
        # OpenID Connect sign-in (api/oidc.py).
        # (the detail is the sign-in step's own message, in Vietnamese: the login pages')
        "oidc_step": ("Hệ thống đăng nhập: {detail}", "identity provider: {detail}"),
        "oidc_jwks_unreachable": (
            "không lấy được khoá ký của hệ thống đăng nhập (JWKS); thử lại sau",
            "the identity provider's signing keys (JWKS) could not be fetched; try again later",
        ),
        "oidc_unknown_kid": (
            "khoá ký của token (kid) không có trong bộ khoá của hệ thống đăng nhập",
            "the token's signing key (kid) is not in the identity provider's key set",
        ),
        "oidc_malformed": ("token không đúng định dạng", "malformed token"),
        "oidc_algorithm": (
            "thuật toán ký của token không được chấp nhận",
            "the token's signing algorithm is not accepted",
        ),
        "oidc_signature": ("chữ ký của token không hợp lệ", "invalid token signature"),
        "oidc_audience": (
            "token không cấp cho hệ thống này (aud)",
            "the token was not issued for this system (aud)",
        ),
        "oidc_issuer": (
            "token không do hệ thống đăng nhập đã cấu hình cấp (iss)",
            "the token was not issued by the configured identity provider (iss)",
        ),
        "oidc_missing_claim": (
            "token thiếu claim {claim!r}",
            "the token lacks the claim {claim!r}",
        ),
        "oidc_invalid": ("token không hợp lệ", "invalid token"),
        "oidc_azp": (
            "token cấp cho nhiều bên nhưng azp không phải hệ thống này",
            "the token names several audiences and its azp is not this system",
        ),
        "oidc_nonce": (
            "nonce của ID token không khớp với lần đăng nhập này",
            "the ID token's nonce does not match this sign-in",
        ),
        "oidc_no_role": (
            "tài khoản chưa được cấp vai trò nào trong hệ thống",
            "the account has no role in this system",
        ),
        "oidc_role_refused": (
            "hệ thống đăng nhập {provider!r} không được cấp vai trò {role!r}",
            "the identity provider {provider!r} may not grant the role {role!r}",
        ),
        "token_too_large": ("token quá lớn", "token too large"),
        "token_malformed": ("token sai định dạng", "malformed token"),
        "token_malformed_claims": (
            "token sai định dạng (hoặc claim exp/nbf không phải số)",
            "malformed token (or a non-numeric exp/nbf claim)",
        ),
        "token_expired": ("token đã hết hạn", "token has expired"),
        "token_immature": (
            "token chưa có hiệu lực (iat hoặc nbf ở tương lai)",
            "token is not yet valid (iat or nbf is in the future)",
        ),
        "token_signature": ("chữ ký của token không đúng", "bad signature"),
        "token_algorithm": (
            "thuật toán của token không được chấp nhận (dịch vụ chỉ nhận {algorithm})",
            "token algorithm not allowed (this service accepts {algorithm} only)",
        ),
        "token_audience": (
            "sai audience: token không dành cho dịch vụ này",
            "wrong audience: the token is not for this service",
        ),
        "token_issuer": (
            "sai issuer: token không do bên cấp tin cậy cấp",
            "wrong issuer: the token was not issued by the trusted issuer",
        ),
        "token_key": (
            "không kiểm tra được token bằng khóa đã cấu hình",
            "token cannot be verified with the configured key",
        ),
        "token_invalid": ("token không hợp lệ", "invalid token"),
        "token_no_kid": (
            "phần đầu của token không có 'kid' để chọn khóa ký",
            "token header has no 'kid' to choose a signing key",
        ),
        "token_unknown_kid": (
            "khóa ký không xác định: 'kid' của token không có trong bộ khóa",
            "unknown signing key: the token's 'kid' is not in the key set",
        ),
        "claim_missing": ("thiếu claim '{claim}'", "missing claim '{claim}'"),
        "claim_missing_time": (
            "thiếu claim '{claim}' ({meaning} của token)",
            "missing claim '{claim}' ({meaning} of the token)",
        ),
        "claim_numeric_date": (
            "claim '{claim}' ({meaning}) phải là một số giây kể từ 1970 (NumericDate, RFC "
            "7519), không phải chuỗi hay true/false",
            "claim '{claim}' ({meaning}) must be a number of seconds since 1970 (NumericDate, "
            "RFC 7519), not a string or true/false",
        ),
        "claim_out_of_range": (
            "claim '{claim}' ({meaning}) nằm ngoài khoảng thời gian hợp lệ (từ năm 1970 đến "
            "năm 9999)",
            "claim '{claim}' ({meaning}) is outside the valid range (years 1970 to 9999)",
        ),
        "claim_exp": ("token đã hết hạn (exp)", "token has expired (exp)"),
        "claim_iat_future": (
            "thời điểm cấp token (iat) ở tương lai: token chưa có hiệu lực",
            "the token's issue time (iat) is in the future: the token is not valid yet",
        ),
        "claim_nbf_future": (
            "token chưa có hiệu lực (nbf ở tương lai)",
            "token is not yet valid (nbf is in the future)",
        ),
        "claim_lifetime": (
            "token có thời hạn quá dài: từ lúc cấp (iat) đến lúc hết hạn (exp) là {hours} "
            "giờ, tối đa {max_hours} giờ",
            "the token lives too long: {hours} hours from issue (iat) to expiry (exp), at "
            "most {max_hours} hours",
        ),
        "time_exp": ("thời điểm hết hạn", "expiry time"),
        "time_iat": ("thời điểm cấp", "issue time"),
        "time_nbf": ("thời điểm có hiệu lực", "not-before time"),
        "claim_string": ("claim '{claim}' phải là chuỗi", "claim '{claim}' must be a string"),
        "claim_too_long": ("claim '{claim}' quá dài", "claim '{claim}' is too long"),
        "claim_roles_list": (
            "claim 'roles' phải là danh sách chuỗi",
            "claim 'roles' must be a list of strings",
        ),
        "claim_roles_empty": (
            "claim 'roles' rỗng: token không cấp vai trò nào",
            "claim 'roles' is empty: the token grants no role",
        ),
        "claim_unknown_role": ("vai trò không xác định '{role}'", "unknown role '{role}'"),
        "claim_role_not_granted": (
            "vai trò '{role}' không thể được cấp bằng token",
            "role '{role}' cannot be granted by a token",
        ),
        "claim_agency": (
            "thiếu claim 'agency' (vai trò '{role}' làm việc cho một cơ quan)",
            "missing claim 'agency' (role '{role}' acts for an agency)",
        ),
        "claims_invalid": ("claim không hợp lệ: {reason}", "invalid claims: {reason}"),
        "needs_role": (
            "Thao tác này cần vai trò '{role}'",
            "this action needs role '{role}'",
        ),
        "needs_one_of": (
            "Thao tác này cần một trong các vai trò {roles}",
            "this action needs one of roles {roles}",
        ),
        "token_lacks_role": (
            "Token của bạn không có vai trò {role}",
            "your token does not carry the role {role}",
        ),
        "bad_signature_header": (
            "X-Signature không khớp với nội dung yêu cầu",
            "X-Signature does not match the body",
        ),
        # The national portal's push (api/routes/portal.py).
        "portal_push_off": (
            "Chưa cấu hình nhận hồ sơ do Cổng Dịch vụ công quốc gia gửi đến",
            "pushes from the national portal are not configured",
        ),
        "portal_bad_token": (
            "Authorization không mang mã xác thực của Cổng Dịch vụ công quốc gia",
            "Authorization does not carry the portal's token",
        ),
        "portal_unsigned": (
            "Thiếu X-Portal-Signature hoặc X-Portal-Timestamp",
            "X-Portal-Signature and X-Portal-Timestamp are required",
        ),
        "portal_bad_timestamp": (
            "X-Portal-Timestamp không phải số giây Unix",
            "X-Portal-Timestamp is not Unix seconds",
        ),
        "portal_stale": (
            "X-Portal-Timestamp lệch quá {seconds} giây so với hiện tại",
            "X-Portal-Timestamp is more than {seconds} s from now",
        ),
        "portal_bad_signature": (
            "X-Portal-Signature không khớp với nội dung yêu cầu",
            "X-Portal-Signature does not match the body",
        ),
        "portal_file_refused": (
            "Tệp của hồ sơ trên Cổng không dùng được: {reason}",
            "a file of the portal's dossier cannot be used: {reason}",
        ),
        "portal_file_unavailable": (
            "Chưa lấy được tệp của hồ sơ từ Cổng, hãy gửi lại: {reason}",
            "the portal's file did not arrive, deliver again: {reason}",
        ),
        # Routes.
        "dev_login_off": (
            "Đăng nhập phát triển đã tắt trong môi trường này",
            "development login is off in this environment",
        ),
        "no_demo_user": ("Không có người dùng mẫu '{sub}'", "no demo user '{sub}'"),
        "worklist_officers": (
            "Chỉ cán bộ của một cơ quan mới có danh sách việc cần làm",
            "only officers of an agency have a worklist",
        ),
        "worklist_unit_leaders": (
            "Chỉ lãnh đạo mới xem được mọi hồ sơ đang ở đơn vị (scope=unit)",
            "only leaders see every dossier at their unit (scope=unit)",
        ),
        "officers_list_officers": (
            "Chỉ cán bộ của một cơ quan mới xem được danh sách cán bộ của cơ quan",
            "only officers of an agency see its officers",
        ),
        "list_forbidden": (
            "Vai trò của bạn không được xem danh sách hồ sơ",
            "your roles may not list dossiers",
        ),
        "not_visible": (
            "Hồ sơ {code} không hiển thị với {sub}: cán bộ xem hồ sơ của cơ quan mình, người "
            "nộp xem hồ sơ của chính mình",
            "dossier {code} is not visible to {sub}: officers see their agency's dossiers, "
            "applicants their own",
        ),
        "no_tracking_match": (
            "Không có hồ sơ nào với mã này và số giấy tờ tùy thân này",
            "no dossier with this code and ID number",
        ),
        "who_submits": (
            "Chỉ người nộp hồ sơ hoặc cán bộ tiếp nhận được nộp hồ sơ",
            "only an applicant or an intake officer may submit a dossier",
        ),
        "key_other_body": (
            "Idempotency-Key đã được dùng với một nội dung khác",
            "Idempotency-Key was already used with a different body",
        ),
        "key_in_progress": (
            "Một yêu cầu với Idempotency-Key này vẫn đang được thực hiện",
            "a request with this Idempotency-Key is still in progress",
        ),
        "key_unrecorded": (
            "Chưa ghi nhận được Idempotency-Key (cơ sở dữ liệu không trả lời); thao tác chưa "
            "được thực hiện, hãy gửi lại với cùng Idempotency-Key",
            "the Idempotency-Key could not be recorded (the database did not answer); nothing "
            "was done, send it again with the same Idempotency-Key",
        ),
        "key_other_request": (
            "Idempotency-Key '{key}' đã được dùng cho một yêu cầu khác trên hồ sơ {code}; "
            "mỗi thao tác mới cần một khóa mới (chỉ dùng lại khóa khi gửi lại đúng yêu cầu cũ)",
            "Idempotency-Key '{key}' was used for another request on dossier {code}; each new "
            "action needs a new key (reuse a key only to send the same request again)",
        ),
        "unknown_procedure": ("Không có thủ tục {code}", "unknown procedure {code}"),
        "unknown_field": (
            "Không có lĩnh vực “{field}” trong danh mục thủ tục; các lĩnh vực: {known}",
            "no field '{field}' in the procedure catalog; the fields are: {known}",
        ),
        "unknown_search_agency": (
            "Không có cơ quan mã {agency} giải quyết thủ tục nào trong danh mục",
            "no agency {agency} resolves a procedure of the catalog",
        ),
        "what_search": ("lượt tìm kiếm thủ tục", "procedure searches"),
        "bad_cursor": (
            "cursor: không phải con trỏ trang hợp lệ (hãy dùng next_cursor của trang trước)",
            "cursor: not a valid page cursor (use the previous page's next_cursor)",
        ),
        "no_procedure_version": (
            "Thủ tục {code} không có phiên bản {version} trong danh mục (các phiên bản: {held})",
            "procedure {code} has no version {version} in the catalog (versions: {held})",
        ),
        "no_document": (
            "Hồ sơ {code} không có giấy tờ {document}",
            "dossier {code} has no document {document}",
        ),
        "document_file_missing": (
            "Tệp của giấy tờ {document} (sha256 {sha256}) không có trong kho tài liệu của API "
            "này; MOTCUA_DOCUMENT_STORE có được dùng chung với các worker không?",
            "the file of document {document} (sha256 {sha256}) is not in this API's document "
            "store; is MOTCUA_DOCUMENT_STORE shared with the workers?",
        ),
        "no_agency": ("Danh mục không có cơ quan {agency}", "no agency {agency} in the catalog"),
        "book_officers": (
            "Sổ theo dõi của {agency} chỉ dành cho cán bộ của cơ quan và kiểm soát viên",
            "the tracking book of {agency} is for its officers and auditors",
        ),
        "schema_declared_per_person": (
            "declared: mỗi người trong subject_ids chỉ có tối đa một mục khai",
            "declared: at most one entry per subject_ids",
        ),
        "schema_declared_size": (
            "declared: mỗi người tối đa 20 trường, mỗi trường tối đa 500 ký tự",
            "declared: at most 20 fields of 500 characters per person",
        ),
        "submission_invalid": (
            "Hồ sơ nộp không hợp lệ: hãy kiểm tra lại thông tin người nộp, thành phần hồ sơ "
            "và các đồng ý chia sẻ dữ liệu",
            "the submission is not valid: check the applicant, the documents and the data consents",
        ),
        "verify_too_large": ("Tệp vượt quá {limit} byte", "the file is over {limit} bytes"),
        "verify_empty": (
            "Hãy gửi tệp PDF làm nội dung yêu cầu (Content-Type: application/pdf)",
            "send the PDF as the request body (Content-Type: application/pdf)",
        ),
        "period": (
            "period: '{value}' không phải một tháng dạng 2026-11",
            "period: '{value}' is not a month like 2026-11",
        ),
        "publish_roles": (
            "Chỉ lãnh đạo của trung tâm (Bộ phận Một cửa) hoặc quản trị viên được công bố chỉ số "
            "phục vụ",
            "only a leader of the centre or an administrator may publish the service index",
        ),
        "index_roles": (
            "Chỉ số phục vụ dành cho lãnh đạo, kiểm soát viên và quản trị viên",
            "the service index is for leaders, auditors and administrators",
        ),
        "rate_applicant": (
            "Chỉ người nộp hồ sơ {code} được đánh giá hoặc phản ánh",
            "only the applicant of {code} rates it or complains",
        ),
        "rate_not_returned": (
            "Hồ sơ {code} đang ở trạng thái {status}: hãy đánh giá sau khi đã nhận kết quả",
            "{code} is {status}: rate it once it is returned",
        ),
        # The counter's kiosk (api/routes/kiosk.py).
        "kiosk_no_match": (
            "Mã hồ sơ hoặc mã đánh giá không đúng: hãy nhập đúng như in trên giấy tiếp nhận "
            "hồ sơ và hẹn trả kết quả",
            "the dossier code or the rating code is wrong: type them as printed on the receipt",
        ),
        # Personal-data requests (api/routes/data_requests.py).
        "data_request_applicant": (
            "Chỉ người dân đăng nhập bằng tài khoản của mình mới gửi được yêu cầu về dữ liệu "
            "cá nhân của mình",
            "only an applicant signed in with their own account makes a personal-data request",
        ),
        "data_request_not_found": (
            "Không có yêu cầu {id} mà bạn được xem",
            "no request {id} that you may see",
        ),
        "data_request_handlers": (
            "Chỉ lãnh đạo của trung tâm {centre} xử lý yêu cầu về dữ liệu cá nhân",
            "only a leader of the centre {centre} handles personal-data requests",
        ),
        "data_request_corrections": (
            "Yêu cầu chỉnh sửa cần ít nhất một trường cần sửa (name, id_number, phone, email, "
            "address)",
            "a correction request needs at least one field to correct "
            "(name, id_number, phone, email, address)",
        ),
        "data_request_closed": (
            "Yêu cầu {id} đã được trả lời",
            "request {id} is already answered",
        ),
        "data_request_no_decision": (
            "Yêu cầu {id} (xem dữ liệu) được trả lời tự động, không cần quyết định",
            "request {id} (access) is answered automatically: no decision to take",
        ),
        "data_request_no_export": (
            "Yêu cầu {id} chưa có bản trích xuất dữ liệu",
            "request {id} has no export yet",
        ),
        "audit_role": (
            "Các địa chỉ kiểm tra chỉ dành cho vai trò kiểm soát viên (auditor)",
            "audit routes are for the auditor role only",
        ),
        "audit_no_dossier": (
            "Không có hồ sơ {code} trong dữ liệu đọc",
            "no dossier {code} in the read model",
        ),
        "instant_offset": (
            "{name}: hãy ghi thời điểm kèm múi giờ, ví dụ +07:00",
            "{name}: give the instant with its offset, e.g. +07:00",
        ),
        "codec_origin": (
            "Nguồn {origin} không được gọi codec (MOTCUA_CODEC_CORS_ORIGINS)",
            "origin {origin} may not call the codec (MOTCUA_CODEC_CORS_ORIGINS)",
        ),
        "codec_base64": ("{where}: không phải base64", "{where}: not base64"),
        "codec_max_payloads": (
            "payloads: tối đa {count} trong một yêu cầu",
            "payloads: at most {count} in one request",
        ),
        "codec_max_metadata": (
            "payloads[{index}].metadata: tối đa {count} khóa",
            "payloads[{index}].metadata: at most {count} keys",
        ),
        "codec_not_payload": (
            "payloads[{index}]: không phải payload của Temporal",
            "payloads[{index}]: not a Temporal payload",
        ),
        # The citizen's voice (api/routes/feedback.py).
        "feedback_not_found": (
            "Không có phản ánh, kiến nghị {code}, hoặc bạn không được xem",
            "no feedback {code}, or you may not read it",
        ),
        "feedback_identity": (
            "Phản ánh về hồ sơ khi chưa đăng nhập: hãy ghi mã hồ sơ và số giấy tờ tùy thân "
            "của người nộp, như khi tra cứu",
            "feedback on a dossier without signing in: give the dossier's code and the "
            "applicant's ID number, as tracking asks",
        ),
        "feedback_contact": (
            "Hãy ghi họ tên và số giấy tờ tùy thân (và điện thoại hoặc thư điện tử) để nhận "
            "trả lời",
            "give your name and ID number (and a phone or e-mail) to receive the answer",
        ),
        "feedback_answerer": (
            "Chỉ chuyên viên hoặc lãnh đạo của {agency} trả lời phản ánh, kiến nghị này",
            "only a specialist or leader of {agency} answers this feedback",
        ),
        "feedback_answered": (
            "Phản ánh, kiến nghị {code} đã được trả lời",
            "feedback {code} is already answered",
        ),
        "feedback_paper": (
            "Chỉ cán bộ tiếp nhận của trung tâm nhập phản ánh, kiến nghị nhận bằng văn bản "
            "(received_at)",
            "only the centre's intake officer enters feedback received on paper (received_at)",
        ),
        "feedback_paper_day": (
            "received_at: ngày nhận phải trong vòng một năm trở lại và không ở tương lai",
            "received_at: the day received must be within the past year, not in the future",
        ),
        "feedback_leaders": (
            "Danh sách phản ánh, kiến nghị đang xử lý dành cho cán bộ của cơ quan",
            "the open feedback list is for the agency's officers",
        ),
        # the bearer-token keys read at start (MOTCUA_JWT_PUBLIC_KEY_FILE, MOTCUA_JWT_JWKS_FILE)
        # and `motcua token`: what the operator reads
        "jwt_key_unreadable": (
            "không đọc được tệp khóa công khai JWT {path}: {error}",
            "cannot read JWT public key file {path}: {error}",
        ),
        "jwt_key_not_pem": (
            "{path} không phải khóa công khai hay chứng thư số dạng PEM (khóa bí mật không "
            "được đặt ở đây)",
            "{path} is not a PEM public key or certificate (a private key does not belong here)",
        ),
        "jwt_key_not_rsa": (
            "{path} chứa khóa {kind}, RS256 cần một khóa công khai RSA",
            "{path} holds a {kind}, RS256 needs an RSA public key",
        ),
        "jwks_unreadable": (
            "không đọc được tệp JWKS {path}: {error}",
            "cannot read JWKS file {path}: {error}",
        ),
        "jwks_not_json": ("{path} không phải JSON hợp lệ", "{path} is not valid JSON"),
        "jwks_not_a_set": (
            '{path} không phải một JSON Web Key Set ({{"keys": [...]}})',
            '{path} is not a JSON Web Key Set ({{"keys": [...]}})',
        ),
        "jwks_private_key": (
            "{path} chứa một khóa bí mật (kid {kid}); chỉ được công bố khóa công khai",
            "{path} holds a private key (kid {kid}); publish only public keys",
        ),
        "jwks_no_rs256": (
            "{path} không có khóa chữ ký RSA nào dùng được cho RS256",
            "{path} has no RSA signature key usable for RS256",
        ),
        "jwks_invalid": (
            "{path}: tập khóa không hợp lệ ({error})",
            "{path}: an invalid key set ({error})",
        ),
        "jwks_duplicate_kid": (
            "{path} có hai khóa cùng kid {kid}",
            "{path} has two keys with kid {kid}",
        ),
        "jwks_kid_needed": (
            "{path} có nhiều khóa nên khóa nào cũng phải có 'kid'",
            "{path} has several keys, so every key needs a 'kid'",
        ),
        "jwt_secret_empty": ("MOTCUA_JWT_SECRET đang để trống", "MOTCUA_JWT_SECRET is empty"),
        "issue_token_production": (
            "chỉ cấp token thử nghiệm ở môi trường phát triển: ở production, token do nhà cung "
            "cấp định danh (IdP) cấp",
            "issue_token is for development: production tokens come from the IdP",
        ),
        "issue_token_rs256": (
            "chỉ cấp được token HS256, nhưng dịch vụ đang được cấu hình cho RS256",
            "issue_token signs HS256 only, but the service is configured for RS256",
        ),
        "issue_token_ttl": (
            "thời hạn hiệu lực của token phải lớn hơn 0",
            "ttl must be positive",
        ),
    },
    "api",
)
