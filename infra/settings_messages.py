"""What a wrong setting is told as, when a process starts (infra/settings.py,
infra/notify_settings.py, infra/oidc.py): Vietnamese, English on request (domain/i18n.py).
Environment variables, values and identifiers stay as they are in both."""

from __future__ import annotations

from domain.i18n import Catalogue, Text

S = Catalogue(
    {
        # one line of `describe_errors`: the variable, what is wrong, and the value set
        "got": (
            "{where}: {reason} (giá trị đã đặt: {value})",
            "{where}: {reason} (got {value})",
        ),
        "not_json": (
            "{where}: không phải JSON hợp lệ ({error})",
            "{where}: not valid JSON ({error})",
        ),
        "cors_origin": (
            "'{origin}' không phải một origin như https://portal.example.gov.vn "
            "(scheme://host[:port], không có đường dẫn, không có ký tự đại diện)",
            "'{origin}' is not an origin like https://portal.example.gov.vn "
            "(scheme://host[:port], no path, no wildcard)",
        ),
        "rate_limit_storage": (
            "không phải memory, cũng không phải URL của Redis (redis://host:6379/0, rediss://...)",
            "neither memory nor a Redis URL (redis://host:6379/0, rediss://...)",
        ),
        # (the value itself follows, in "got")
        "log_level": ("phải là một trong: {levels}", "must be one of {levels}"),
        "tcp_port": (
            "không phải cổng TCP (phải nằm trong khoảng 1-65535)",
            "not a TCP port (1-65535)",
        ),
        "host_port": (
            "không có dạng host:port (ví dụ temporal:7233)",
            "not host:port (e.g. temporal:7233)",
        ),
        "database_url": (
            "không phải URL của cơ sở dữ liệu (ví dụ "
            "postgresql+psycopg://user:password@host/db hoặc sqlite:///path/motcua.db)",
            "not a database URL (e.g. postgresql+psycopg://user:password@host/db or "
            "sqlite:///path/motcua.db)",
        ),
        "database_backend": (
            "dữ liệu đọc chỉ chạy trên SQLite hoặc PostgreSQL, không chạy trên {backend}",
            "the read model runs on SQLite or PostgreSQL, not {backend}",
        ),
        "document_store": (
            "kho văn bản '{scheme}://' chưa được hỗ trợ: hãy dùng đường dẫn một thư mục (dùng "
            "chung cho API và các worker)",
            "document store '{scheme}://' is not supported by this build; use a folder path "
            "(shared by the API and the workers)",
        ),
        "no_file": (
            "không đọc được {path}: không có tệp này",
            "cannot read {path}: no such file",
        ),
        "tls_pair": (
            "MOTCUA_TEMPORAL_TLS_CERT_FILE và MOTCUA_TEMPORAL_TLS_KEY_FILE phải được đặt cùng "
            "nhau (TLS hai chiều cần cả hai)",
            "MOTCUA_TEMPORAL_TLS_CERT_FILE and MOTCUA_TEMPORAL_TLS_KEY_FILE go together "
            "(mutual TLS needs both)",
        ),
        "only_one": (
            "chỉ được đặt một trong hai biến {first} và {second}",
            "set only one of {first} and {second}",
        ),
        "max_upload": (
            "MOTCUA_MAX_UPLOAD_BYTES phải nằm trong khoảng 1 đến {ceiling} (giới hạn cho một "
            "tệp của lược đồ yêu cầu)",
            "MOTCUA_MAX_UPLOAD_BYTES must be between 1 and {ceiling} (the request schema's "
            "ceiling for one file)",
        ),
        "max_request": (
            "MOTCUA_MAX_REQUEST_BYTES ({request}) không đủ chứa một tệp cỡ "
            "MOTCUA_MAX_UPLOAD_BYTES ({upload}) ở dạng base64: phải ít nhất là {needed}",
            "MOTCUA_MAX_REQUEST_BYTES ({request}) cannot hold one file of "
            "MOTCUA_MAX_UPLOAD_BYTES ({upload}) in base64: it must be at least {needed}",
        ),
        "too_short": (
            "{name} ngắn hơn {size} byte",
            "{name} is shorter than {size} bytes",
        ),
        "dev_jwt_secret": (
            "MOTCUA_JWT_SECRET đang là giá trị mẫu dành cho phát triển: hãy đặt một khóa bí "
            "mật thật, hoặc dùng RS256 với MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_JWKS_FILE",
            "MOTCUA_JWT_SECRET is the development placeholder: set a real secret or use "
            "RS256 with MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_JWKS_FILE",
        ),
        "rating_secret": (
            "MOTCUA_RATING_SECRET chưa được đặt: với RS256, khóa của mã đánh giá in trên giấy "
            "tiếp nhận không thể lấy từ MOTCUA_JWT_SECRET (không còn là bí mật); hãy đặt một "
            "chuỗi bí mật từ 16 byte",
            "MOTCUA_RATING_SECRET is not set: with RS256 the rating codes printed on receipts "
            "cannot be keyed by MOTCUA_JWT_SECRET (no longer a secret); set a secret of 16 "
            "bytes or more",
        ),
        "dev_payment_secret": (
            "MOTCUA_PAYMENT_GATEWAY_SECRET đang là giá trị mẫu dành cho phát triển",
            "MOTCUA_PAYMENT_GATEWAY_SECRET is the development placeholder",
        ),
        "rs256_key": (
            "RS256 cần MOTCUA_JWT_PUBLIC_KEY_FILE hoặc MOTCUA_JWT_JWKS_FILE",
            "RS256 needs MOTCUA_JWT_PUBLIC_KEY_FILE or MOTCUA_JWT_JWKS_FILE",
        ),
        "not_https": (
            "{name}: {value} không dùng https (bắt buộc ở môi trường production)",
            "{name}: {value} is not https (production)",
        ),
        "named": ("{name}: {reason}", "{name}: {reason}"),  # a variable, and why
        "payload_keys_unset": (
            "chưa đặt MOTCUA_PAYLOAD_KEYS_FILE (hoặc MOTCUA_PAYLOAD_KEYS): ở môi trường "
            "production, dữ liệu cá nhân trong payload của Temporal phải được mã hóa (tạo "
            "bộ khóa bằng `motcua keys new --current --file <đường dẫn>`)",
            "MOTCUA_PAYLOAD_KEYS_FILE (or MOTCUA_PAYLOAD_KEYS) is not set: production "
            "encrypts personal data in Temporal payloads (make a key ring with "
            "`motcua keys new --current --file <path>`)",
        ),
        "codec_origin": (
            "MOTCUA_CODEC_CORS_ORIGINS: {origin} không phải một origin "
            "(scheme://host[:port], không có đường dẫn)",
            "MOTCUA_CODEC_CORS_ORIGINS: {origin} is not an origin (scheme://host[:port], no path)",
        ),
        "source_no_file": ("{source}: không có tệp này", "{source}: no such file"),
        "key_not_in_ring": (
            "MOTCUA_PAYLOAD_KEY_ID {key} không phải một khóa của {source} (các khóa có: {ids})",
            "MOTCUA_PAYLOAD_KEY_ID {key} is not a key of {source} (its keys: {ids})",
        ),
        "no_payload_keys": (
            "không có khóa mã hóa payload: hãy đặt MOTCUA_PAYLOAD_KEYS_FILE",
            "no payload keys: set MOTCUA_PAYLOAD_KEYS_FILE",
        ),
        # infra/oidc.py: MOTCUA_OIDC_PROVIDERS
        "oidc_issuer_url": (
            "{value} không phải URL của issuer (https://host[/path])",
            "{value} is not an issuer URL (https://host[/path])",
        ),
        "oidc_issuer_query": (
            "{value}: URL của issuer không được có phần query hay fragment",
            "{value}: an issuer has no query or fragment",
        ),
        "oidc_algorithms": (
            "algorithms: chỉ được chọn trong số {choices}",
            "algorithms: choose among {choices}",
        ),
        "oidc_scopes": ("scopes phải có 'openid'", "scopes must include 'openid'"),
        "oidc_system": (
            "không nhà cung cấp nào được cấp vai trò 'system'",
            "no provider grants role 'system'",
        ),
        "oidc_default_roles": (
            "khi không có roles_claim, default_roles phải nêu vai trò của người dùng",
            "without roles_claim, default_roles must name the users' roles",
        ),
        "oidc_roles_not_allowed": (
            "default_roles {roles} không nằm trong allowed_roles",
            "default_roles {roles} are not in allowed_roles",
        ),
        "oidc_duplicate": (
            "MOTCUA_OIDC_PROVIDERS: có hai nhà cung cấp cùng {label} {value} (token được gán "
            "cho nhà cung cấp theo issuer của nó)",
            "MOTCUA_OIDC_PROVIDERS: two providers with {label} {value} (a token is matched "
            "to its provider by its issuer)",
        ),
        "oidc_not_https": (
            "MOTCUA_OIDC_PROVIDERS: issuer {issuer} không dùng https (bắt buộc ở môi trường "
            "production)",
            "MOTCUA_OIDC_PROVIDERS: issuer {issuer} is not https",
        ),
        # why a file cannot be read (the usual two; any other in the system's words)
        "no_such_file": ("không có tệp này", "no such file"),
        "not_permitted": ("không có quyền đọc", "permission denied"),
        # infra/notify_settings.py
        "not_http_url": ("không phải URL http(s)", "not an http(s) URL"),
        "set_without": (
            "đã đặt {name} nhưng chưa đặt {needs}",
            "{name} is set without {needs}",
        ),
    },
    "settings",
)


def os_reason(e: OSError) -> Text | str:
    """Why a file cannot be read, in the reader's language for the usual two reasons."""
    if isinstance(e, FileNotFoundError):
        return S("no_such_file")
    if isinstance(e, PermissionError):
        return S("not_permitted")
    return str(e.strerror or e)
