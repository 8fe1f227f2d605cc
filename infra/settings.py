"""Process settings, from environment variables prefixed MOTCUA_ (and DATABASE_URL)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from domain.i18n import DEFAULT_LANG, Lang, Text, render
from domain.validation import Invalid, error_text, text_of
from infra.codec import (
    DEV_KEYRING_FILE,
    KeyRing,
    check_key_id,
    ensure_dev_keyring,
    parse_keyring,
    read_keyring,
)
from infra.notify_settings import NotificationSettings
from infra.oidc import OidcProviderConfig, check_providers
from infra.settings_messages import S

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "motcua-development-secret-not-for-production"
DEV_PAYMENT_SECRET = "motcua-development-payment-secret"
# HS256 keys shorter than the hash are guessable offline (RFC 7518 §3.2).
MIN_HS256_SECRET_BYTES = 32
ENV_PREFIX = "MOTCUA_"
# Fields read from another variable than MOTCUA_<NAME>.
ENV_ALIASES = {"database_url": "DATABASE_URL"}
LOG_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")
# A browser origin: scheme, host, optional port; nothing else (no path, no "*", no "null").
CORS_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")
# The request schema's ceiling for one uploaded file (api.schemas.DocumentIn).
MAX_UPLOAD_CEILING = 50 * 1024 * 1024
# Room for the rest of a request (applicant, document names) beside one base64 file.
REQUEST_OVERHEAD_BYTES = 64 * 1024


def base64_size(n: int) -> int:
    """Characters of `n` bytes in base64."""
    return 4 * ((n + 2) // 3)


class Settings(BaseSettings, NotificationSettings):
    """Every setting of every motcua process (API, workers, CLI, dev stack), one class.

    Each field is read from ``MOTCUA_<FIELD>`` (``DATABASE_URL`` for the database);
    ``motcua config`` prints the effective values with secrets masked. A wrong value
    fails the process at start (``load_settings``) with the variable's name."""

    # An empty variable means "not set" (compose files pass `${VAR:-}` through).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    state_dir: Path = Field(
        default=REPO_ROOT / ".state",
        description="trạng thái cục bộ (cơ sở dữ liệu của máy chủ phát triển, SQLite)",
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "MOTCUA_DATABASE_URL"),
        description="URL SQLAlchemy của dữ liệu đọc; để trống: một tệp SQLite trong "
        "MOTCUA_STATE_DIR",
    )
    temporal_address: str = Field(
        default="127.0.0.1:7233", description="host:port của frontend Temporal (gRPC)"
    )
    temporal_namespace: str = Field(default="default", description="namespace của Temporal")
    temporal_tls: bool = Field(
        default=False,
        description="kết nối tới Temporal qua TLS (ngầm bật khi đặt bất kỳ MOTCUA_TEMPORAL_TLS_* "
        "nào)",
    )
    temporal_tls_ca_file: Path | None = Field(
        default=None,
        description="CA (PEM) đã ký chứng thư của frontend (không đặt: các CA gốc của hệ thống)",
    )
    temporal_tls_cert_file: Path | None = Field(
        default=None, description="chứng thư máy khách (PEM) cho TLS hai chiều (đi cùng khóa)"
    )
    temporal_tls_key_file: Path | None = Field(
        default=None, description="khóa riêng (PEM) của chứng thư máy khách"
    )
    temporal_tls_server_name: str | None = Field(
        default=None, description="tên dùng để kiểm tra chứng thư của frontend (SNI)"
    )
    temporal_api_key: SecretStr | None = Field(
        default=None,
        description="khóa API cho dịch vụ Temporal có dùng khóa (ví dụ Temporal Cloud)",
    )
    centre_task_queue: str = Field(
        default="motcua-centre",
        description="hàng đợi tác vụ của trung tâm (workflow hồ sơ); hàng đợi riêng của mỗi cơ "
        "quan là motcua-agency-<mã cơ quan>, cố định vì hồ sơ đang xử lý được chuyển tới đó",
    )
    catalog_dir: Path = Field(
        default=REPO_ROOT / "procedures",
        description="thư mục danh mục thủ tục (YAML) dùng để khởi tạo danh mục trong cơ sở dữ liệu",
    )
    catalog_refresh_seconds: float = Field(
        default=5.0,
        gt=0,
        description="bao lâu một lần API và worker kiểm tra có phiên bản danh mục mới được công "
        "bố hay không",
    )
    calendar_overrides: Path = Field(
        default=REPO_ROOT / "procedures" / "calendar" / "overrides.yaml",
        description="tệp YAML các quyết định nghỉ, làm bù của Chính phủ mà gói `holidays` chưa "
        "biết, áp lên lịch ngày làm việc; hồ sơ đã tiếp nhận giữ lịch lúc tiếp nhận",
    )
    calendar_years_ahead: int = Field(
        default=4,
        description="số năm lịch làm việc sau năm tiếp nhận được gắn cố định vào một hồ sơ (cùng "
        "năm trước đó và năm tiếp nhận)",
    )
    centre_agency: str = Field(
        default="000.00.01.H99", description="trung tâm mà bản triển khai này vận hành"
    )
    feedback_answer_working_days: float = Field(
        default=15,
        gt=0,
        description="số ngày làm việc để trả lời một phản ánh, kiến nghị (PAKN): 15 theo Quyết "
        "định 766 chỉ số 5.2; thời hạn riêng của Nghị định 20/2008/NĐ-CP [uncertain]",
    )
    # [uncertain] Circular 03/2025 Art. 13 (DOMAIN.md §1.10): the code is read as carrying
    # the resolving agency's identifier; a province that numbers by receiving centre sets
    # `centre`.
    dossier_code_agency: Literal["competent", "centre"] = Field(
        default="competent",
        description="mã hồ sơ bắt đầu bằng mã định danh điện tử của ai: competent (cơ quan có "
        "thẩm quyền giải quyết) hoặc centre (trung tâm tiếp nhận)",
    )
    boundary_free_procedures: list[str] | None = Field(
        default=None,
        description="danh sách thủ tục không phụ thuộc địa giới hành chính của tỉnh (Nghị định "
        '118/2025), mã quốc gia dạng JSON (["3.000333", ...]): trung tâm nào cũng tiếp nhận được; '
        "không đặt: theo cờ `boundary_free` trong danh mục",
    )

    environment: Literal["development", "production"] = Field(
        default="development",
        description="development hoặc production; production không khởi động khi còn giá trị mẫu "
        "dành cho phát triển hoặc thiết lập không an toàn (khóa bí mật, vòng khóa payload, "
        "CORS...)",
    )
    api_host: str = Field(default="127.0.0.1", description="địa chỉ lắng nghe của API")
    api_port: int = Field(default=8000, description="cổng lắng nghe của API")
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="địa chỉ (cách nhau bằng dấu phẩy, hoặc *) của các reverse proxy mà API tin "
        "X-Forwarded-For/-Proto của chúng để biết địa chỉ máy khách",
    )
    jwt_algorithm: Literal["HS256", "RS256"] = Field(
        default="HS256",
        description="thuật toán của bearer token: HS256 (MOTCUA_JWT_SECRET) hoặc RS256 "
        "(MOTCUA_JWT_PUBLIC_KEY_FILE hoặc MOTCUA_JWT_JWKS_FILE)",
    )
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        description="khóa bí mật HS256; trong production, giá trị mẫu dành cho phát triển và khóa "
        "ngắn hơn 32 byte bị từ chối",
    )
    jwt_public_key_file: Path | None = Field(
        default=None, description="RS256: khóa công khai (PEM)"
    )
    jwt_jwks_file: Path | None = Field(default=None, description="RS256: tệp JWKS (khóa theo kid)")
    jwt_issuer: str = Field(
        default="motcua",
        description="giá trị iss mà bearer token phải mang (`motcua token` ghi giá trị này)",
    )
    jwt_audience: str = Field(
        default="motcua",
        description="giá trị aud mà bearer token phải mang (`motcua token` ghi giá trị này)",
    )
    oidc_providers: list[OidcProviderConfig] = Field(
        default_factory=list,
        description="các nhà cung cấp OpenID Connect cho đăng nhập giao diện web, một danh sách "
        "JSON (infra/oidc.py, README); để trống: không đăng nhập bằng OpenID Connect",
    )
    rate_limit_per_minute: int = Field(
        default=120, description="số yêu cầu tối đa của mỗi bên gọi trong một phút"
    )
    payment_gateway_secret: SecretStr = Field(
        default=SecretStr(DEV_PAYMENT_SECRET),
        description="khóa HMAC-SHA256 mà cổng thanh toán dùng để ký các lời gọi lại (callback) "
        "(motcua cũng dùng nó để ký yêu cầu gửi tới cổng, và cổng để ký câu trả lời)",
    )
    payment_gateway_url: str | None = Field(
        default=None,
        description="cổng thanh toán trực tuyến (Nền tảng thanh toán quốc gia, hoặc của tỉnh): "
        "POST <url>/payments, GET <url>/payments/<order>, POST <url>/payments/<order>/refund "
        "(infra/payment_gateway.py); không đặt: tắt thanh toán trực tuyến",
    )
    payment_gateway_timeout_seconds: float = Field(
        default=10, gt=0, description="thời gian chờ một yêu cầu tới cổng thanh toán"
    )
    payment_expiry_minutes: float = Field(
        default=15,
        gt=0,
        le=7 * 24 * 60,
        description="thời gian một yêu cầu thanh toán (trang và mã QR của nó) còn thanh toán "
        "được; sau đó yêu cầu hết hạn và người dân xin yêu cầu mới. 15: thời gian sống của một "
        "phiên VietQR hoặc thẻ ngân hàng ở các cổng đã biết; không có văn bản pháp luật nào quy "
        "định",
    )
    payment_reconcile_after_seconds: float = Field(
        default=120,
        gt=0,
        description="một yêu cầu thanh toán chưa có callback được hỏi lại cổng sau chừng này giây "
        "kể từ khi mở, rồi cứ mỗi MOTCUA_PAYMENT_RECONCILE_EVERY_SECONDS, và một lần nữa lúc hết "
        "hạn",
    )
    payment_reconcile_every_seconds: float = Field(
        default=120,
        gt=0,
        description="khoảng cách giữa hai lần hỏi lại cổng về một yêu cầu thanh toán chưa có "
        "callback (sau MOTCUA_PAYMENT_RECONCILE_AFTER_SECONDS)",
    )
    payment_refund_on: list[str] = Field(
        default_factory=lambda: ["not_received", "refused", "withdrawn"],
        description="các kết quả xử lý hồ sơ mà phí đã nộp trực tuyến được hoàn qua cổng thanh "
        "toán [uncertain: domain/payments.py]",
    )
    payment_refund_kinds: list[str] = Field(
        default_factory=lambda: ["le_phi", "phi", "gia_dich_vu"],
        description="các loại phí được hoàn khi có các kết quả đó (le_phi, phi, gia_dich_vu)",
    )
    payment_refund_interval_seconds: float = Field(
        default=60,
        ge=0,
        description="bao lâu một lần worker của trung tâm tìm các lệnh đã thanh toán của hồ sơ bị "
        "từ chối hoặc rút, để hoàn tiền (0: tắt)",
    )

    rating_secret: SecretStr | None = Field(
        default=None,
        description="khóa HMAC của mã đánh giá in trên biên nhận (bằng chứng với kiosk tại quầy "
        "rằng người đánh giá giữ biên nhận); không đặt: suy ra từ MOTCUA_JWT_SECRET. Hãy đặt "
        "trong production (với RS256, khóa JWT không phải bí mật)",
    )
    data_request_working_days: float = Field(
        default=2,
        gt=0,
        le=30,
        description="số ngày làm việc để trả lời một yêu cầu về dữ liệu cá nhân (Nghị định "
        "356/2025 cùng Luật Bảo vệ dữ liệu cá nhân 91/2025: 2, DOMAIN.md mục 5)",
    )

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="địa chỉ người dân truy cập API; in (dạng mã QR) trên mọi văn bản",
    )
    document_store: str = Field(
        default="",
        description="thư mục (hoặc URL file://) của kho tài liệu định địa chỉ theo nội dung, dùng "
        "chung cho API và worker; để trống: MOTCUA_STATE_DIR/documents",
    )
    pki_manifest: Path | None = Field(
        default=None,
        description="tệp keys.yaml chỉ ra chứng thư và khóa của từng người ký và con dấu (tệp "
        "hoặc PKCS#11); để trống: MOTCUA_STATE_DIR/pki/keys.yaml (tạo bằng `motcua pki init`)",
    )
    tsa_url: str | None = Field(
        default=None,
        description="máy chủ cấp dấu thời gian RFC 3161 (của tỉnh): khi có, mọi chữ ký số và con "
        "dấu đều dài hạn, PAdES B-LTA (có dấu thời gian, CRL/phản hồi OCSP lấy từ các địa chỉ "
        "trong chứng thư được nhúng kèm, một dấu thời gian cho văn bản); khi không có: B-B. "
        "`motcua dev` dùng máy chủ của CA phát triển",
    )
    dev_ca_port: int | None = Field(
        default=None,
        description="`motcua dev`: cổng của các dịch vụ CRL, OCSP và cấp dấu thời gian của CA "
        "phát triển trên 127.0.0.1 (mặc định: MOTCUA_API_PORT + 1); các chứng thư của CA này ghi "
        "địa chỉ đó",
    )
    signing_wait_seconds: float = Field(
        default=30,
        description="thời gian một yêu cầu ký/phê duyệt chờ chữ ký trước khi trả lời 202 (việc ký "
        "tiếp tục trong workflow)",
    )
    archive_interval_seconds: float = Field(
        default=60,
        description="bao lâu một lần worker của trung tâm lưu trữ lịch sử các hồ sơ đã kết thúc "
        "(0: tắt việc lưu trữ)",
    )
    housekeeping_interval_seconds: float = Field(
        default=3600,
        ge=0,
        description="bao lâu một lần worker của trung tâm xóa các khóa yêu cầu quá "
        "MOTCUA_REQUEST_KEYS_KEEP_DAYS (0: tắt)",
    )
    request_keys_keep_days: int = Field(
        default=30,
        ge=1,
        description="số ngày ghi nhớ một Idempotency-Key (của một lần nộp hồ sơ hoặc một thao "
        "tác): gửi lại trong thời gian này nhận đúng câu trả lời lần đầu; khóa cũ hơn bị xóa",
    )
    portal_url: str | None = Field(
        default=None,
        description="địa chỉ của Cổng Dịch vụ công quốc gia để đồng bộ trạng thái hồ sơ (không "
        "đặt: tắt)",
    )
    portal_token: SecretStr | None = Field(default=None, description="bearer token cho Cổng")
    portal_interval_seconds: float = Field(
        default=10, description="chu kỳ một vòng đồng bộ với Cổng"
    )
    data_source_url: str | None = Field(
        default=None,
        description="nền tảng chia sẻ dữ liệu trả lời thay cho các cơ sở dữ liệu quốc gia (dân "
        "cư, hộ tịch, đăng ký doanh nghiệp, đất đai...): POST <url>/<database>/lookup (README, "
        "'Data instead of paper'); không đặt: thành phần hồ sơ không bao giờ lấy từ cơ sở dữ liệu "
        "mà vẫn là giấy tờ",
    )
    data_source_token: SecretStr | None = Field(
        default=None, description="bearer token mà trung tâm xuất trình cho nguồn dữ liệu"
    )
    data_source_timeout_seconds: float = Field(
        default=10,
        gt=0,
        description="thời gian chờ câu trả lời của một lần tra cứu trước khi thử lại",
    )
    # Receiving dossiers filed on the national portal (services/portal_intake.py).
    portal_push_secret: SecretStr | None = Field(
        default=None,
        description="khóa bí mật dùng chung mà Cổng dùng để xác thực các lần đẩy hồ sơ tới POST "
        "/v1/portal/dossiers (không đặt: từ chối mọi lần đẩy)",
    )
    portal_push_auth: Literal["hmac", "token"] = Field(
        default="hmac",
        description="cách xác thực một lần đẩy: hmac (X-Portal-Signature: HMAC-SHA256 dạng hex "
        "của '<X-Portal-Timestamp>.<body>') hoặc token (Authorization: Bearer <secret>)",
    )
    portal_push_max_skew_seconds: int = Field(
        default=300,
        ge=1,
        description="hmac: X-Portal-Timestamp được phép cũ (hoặc sớm) tối đa bao nhiêu giây",
    )
    portal_pull_url: str | None = Field(
        default=None,
        description="danh sách hồ sơ nộp trên Cổng kể từ một con trỏ (GET ?since=&limit=); khi "
        "đặt: worker của trung tâm kéo định kỳ (không đặt: tắt việc kéo)",
    )
    portal_pull_interval_seconds: float = Field(
        default=60, gt=0, description="số giây giữa hai lần kéo khi Cổng không còn hồ sơ mới"
    )
    portal_pull_page_size: int = Field(default=50, ge=1, le=500, description="số hồ sơ mỗi lần kéo")
    portal_documents_base_url: str | None = Field(
        default=None,
        description="tệp tài liệu của hồ sơ từ Cổng chỉ được tải từ bên dưới URL này (không đặt: "
        "origin của MOTCUA_PORTAL_PULL_URL, nếu không thì của MOTCUA_PORTAL_URL)",
    )
    portal_centre_agency: str | None = Field(
        default=None,
        description="trung tâm tiếp nhận hồ sơ từ Cổng khi hồ sơ không ghi trung tâm nào (không "
        "đặt: MOTCUA_CENTRE_AGENCY)",
    )
    portal_timeout_seconds: float = Field(
        default=20, gt=0, description="thời gian tối đa của một yêu cầu tới Cổng"
    )
    max_upload_bytes: int = Field(
        default=10 * 1024 * 1024, description="kích thước lớn nhất của một tệp tải lên (byte)"
    )
    render_processes: int = Field(
        default=1,
        ge=0,
        description="số tiến trình của mỗi `motcua worker` dàn trang và ký PDF, ngoài GIL của "
        "worker (0: trong luồng của activity)",
    )
    upload_media_types: list[str] = Field(
        default=[
            "application/pdf",
            "image/jpeg",
            "image/png",
            "image/tiff",
            "application/xml",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ],
        description="các loại tệp người nộp được tải lên (nhận biết theo nội dung)",
    )

    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="trace gửi đi đâu: none (không gửi; mã trace vẫn có trong log), console "
        "(stdout) hoặc otlp (một collector OTLP/HTTP)",
    )
    otel_endpoint: str = Field(
        default="",
        description="endpoint OTLP/HTTP nhận trace, ví dụ http://collector:4318/v1/traces; để "
        "trống: mặc định của exporter (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, nếu không thì "
        "localhost:4318)",
    )
    metrics_port: int | None = Field(
        default=None,
        description="phục vụ chỉ số Prometheus (của motcua và của Temporal SDK) tại "
        "http://MOTCUA_METRICS_HOST:MOTCUA_METRICS_PORT/metrics; tắt khi không đặt (API luôn có "
        "/metrics)",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="địa chỉ lắng nghe của MOTCUA_METRICS_PORT"
    )
    temporal_sdk_metrics: bool = Field(
        default=True,
        description="đưa cả chỉ số riêng của Temporal SDK (worker, lời gọi của client) vào chỉ số "
        "của `motcua api`, `worker` và `dev`",
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="dòng log dạng json hoặc text; không đặt: JSON trong production, text trong "
        "development",
    )
    log_level: str = Field(default="INFO", description="mức log gốc")
    readyz_poller_max_age_seconds: float = Field(
        default=90.0,
        gt=0,
        description="/v1/readyz coi một worker là đang nhận việc từ hàng đợi tác vụ của trung tâm "
        "khi Temporal thấy lần poll cuối của nó cách đây không quá chừng này giây (long poll của "
        "một worker rảnh được làm mới khoảng mỗi phút một lần)",
    )

    # -- API hardening and records retention (issue 11) --
    rate_limit_submit_per_minute: int = Field(
        default=10,
        description="số lần nộp hồ sơ tối đa (POST /v1/dossiers, tại quầy và trực tuyến) của mỗi "
        "bên gọi (subject của token) trong một phút, ngoài MOTCUA_RATE_LIMIT_PER_MINUTE; 0: tắt",
    )
    rate_limit_track_per_minute: int = Field(
        default=30,
        description="số yêu cầu tra cứu công khai tối đa (GET /v1/track/...) của mỗi địa chỉ máy "
        "khách trong một phút (máy khách theo X-Forwarded-For sau MOTCUA_FORWARDED_ALLOW_IPS); 0: "
        "tắt",
    )
    rate_limit_search_per_minute: int = Field(
        default=60,
        description="số lần tìm thủ tục công khai tối đa (GET /v1/public/procedures và trang "
        "/ui/procedures) của mỗi địa chỉ máy khách trong một phút; 0: tắt",
    )
    rate_limit_storage: str = Field(
        default="memory",
        description="nơi giữ bộ đếm giới hạn tần suất: memory (trong tiến trình API này; có giới "
        "hạn, xem MOTCUA_RATE_LIMIT_MEMORY_KEYS) hoặc redis://[:password@]host:6379/0 (hoặc "
        "rediss://), dùng chung cho mọi tiến trình API; khi Redis không trả lời, mỗi tiến trình "
        "đếm trong bộ nhớ",
    )
    rate_limit_key_prefix: str = Field(
        default="motcua",
        min_length=1,
        description="tiền tố của các khóa giới hạn tần suất trong Redis (các bản triển khai dùng "
        "chung một Redis đặt tiền tố khác nhau)",
    )
    rate_limit_memory_keys: int = Field(
        default=50_000,
        ge=2,
        description="số bộ đếm giới hạn tần suất tối đa một tiến trình API giữ trong bộ nhớ (hai "
        "bộ đếm cho mỗi bên gọi và mỗi giới hạn); vượt quá thì bộ đếm cũ nhất bị bỏ",
    )
    cors_origins: list[str] = Field(
        default=[],
        description="các origin trình duyệt (danh sách JSON dạng scheme://host[:port]) được phép "
        "gọi API từ trang khác; để trống: không gửi header CORS nào (chỉ cùng origin)",
    )
    hsts_max_age_seconds: int = Field(
        default=0,
        ge=0,
        description="gửi Strict-Transport-Security với max-age này (chỉ khi API được phục vụ qua "
        "TLS, ví dụ sau proxy HTTPS); 0: không gửi",
    )
    max_request_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="thân yêu cầu lớn nhất, kiểm tra trước khi đọc (theo Content-Length, và đếm "
        "khi thân gửi dạng chunked): vượt quá thì 413; phải chứa được một tệp "
        "MOTCUA_MAX_UPLOAD_BYTES dạng base64",
    )
    max_json_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="thân yêu cầu JSON lớn nhất trên /v1 (kiểm tra trước khi đọc, sau bearer "
        "token): vượt quá thì 413; tệp lớn hơn gửi dạng multipart/form-data, mỗi tệp tối đa "
        "MOTCUA_MAX_UPLOAD_BYTES",
    )
    max_json_depth: int = Field(
        default=32, ge=4, description="độ lồng sâu nhất của thân yêu cầu JSON: vượt quá thì 422"
    )
    max_json_keys: int = Field(
        default=10_000,
        ge=100,
        description="tổng số khóa của object và phần tử của mảng tối đa trong một thân yêu cầu "
        "JSON: vượt quá thì 422",
    )
    jwt_jwks_refresh_seconds: float = Field(
        default=300,
        ge=1,
        description="bao lâu một lần đọc lại tệp JWKS để nhận khóa đã xoay vòng (token có kid lạ "
        "khiến tệp được đọc lại ngay, tối đa mỗi 10 s một lần)",
    )
    jwt_max_lifetime_seconds: int = Field(
        default=12 * 3600,
        gt=0,
        description="thời gian hiệu lực dài nhất của bearer token, từ iat đến exp (token không có "
        "iat, hoặc sống lâu hơn, bị từ chối); `motcua token` cấp token tới mức này",
    )
    retention_default_years: int = Field(
        default=10,
        ge=1,
        le=100,
        description="[uncertain] số năm lưu giữ một hồ sơ đã kết thúc khi thủ tục của nó không "
        "quy định thời hạn lưu trữ cho loại kết quả (`motcua retention list`)",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not CORS_ORIGIN.match(origin):
                raise Invalid(S("cors_origin", origin=origin))
        return value

    # Personal data in Temporal: payload encryption (infra/codec.py, docs/personal-data.md).
    payload_keys_file: Path | None = Field(
        default=None,
        description='vòng khóa JSON mã hóa payload của Temporal ({"current": id, "keys": {id: '
        "base64 của 32 byte}}); để trống trong development: MOTCUA_STATE_DIR/payload-keys.json, "
        "tạo khi dùng lần đầu; production bắt buộc có (hoặc MOTCUA_PAYLOAD_KEYS)",
    )
    payload_keys: SecretStr | None = Field(
        default=None, description="chính vòng khóa payload, dạng JSON (thay cho tệp)"
    )
    payload_key_id: str | None = Field(
        default=None,
        description="id của khóa dùng để mã hóa payload mới (mặc định: 'current' của vòng khóa); "
        "mọi khóa trong vòng vẫn giải mã được",
    )
    codec_cors_origins: list[str] = Field(
        default=[],
        description="các origin (ví dụ của giao diện web Temporal, https://temporal.example.vn) "
        "mà các trang từ đó được phép gọi /v1/codec/decode từ trình duyệt (CORS, kèm credentials)",
    )

    @field_validator(
        "portal_push_secret",
        "rating_secret",
        "portal_pull_url",
        "portal_documents_base_url",
        "portal_centre_agency",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # docker-compose passes an unset variable as "" (`${MOTCUA_PORTAL_PULL_URL:-}`).
        return None if value == "" else value

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        if value in ("memory", "memory://"):
            return "memory"
        if urlsplit(value).scheme not in ("redis", "rediss") or not urlsplit(value).hostname:
            raise Invalid(S("rate_limit_storage"))
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise Invalid(S("log_level", levels=", ".join(LOG_LEVELS)))
        return value.upper()

    @field_validator("api_port", "metrics_port")
    @classmethod
    def _tcp_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 65536:
            raise Invalid(S("tcp_port"))
        return value

    @field_validator("temporal_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise Invalid(S("host_port"))
        return value

    @field_validator("document_store")
    @classmethod
    def _document_store(cls, value: str) -> str:
        scheme, sep, _ = value.partition("://")
        if sep and scheme != "file":  # the one kind open_document_store knows
            raise Invalid(S("document_store", scheme=scheme))
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value:
            return value
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(value).get_backend_name()
        except ArgumentError:
            raise Invalid(S("database_url")) from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise Invalid(S("database_backend", backend=backend))
        return value

    @field_validator(
        "jwt_public_key_file",
        "jwt_jwks_file",
        "temporal_tls_ca_file",
        "temporal_tls_cert_file",
        "temporal_tls_key_file",
    )
    @classmethod
    def _readable_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise Invalid(S("no_file", path=str(value)))
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if bool(self.temporal_tls_cert_file) != bool(self.temporal_tls_key_file):
            raise Invalid(S("tls_pair"))
        if self.jwt_public_key_file and self.jwt_jwks_file:
            raise Invalid(
                S("only_one", first="MOTCUA_JWT_PUBLIC_KEY_FILE", second="MOTCUA_JWT_JWKS_FILE")
            )
        if not 0 < self.max_upload_bytes <= MAX_UPLOAD_CEILING:
            # Byte counts as text: a value to copy into the variable, not grouped.
            raise Invalid(S("max_upload", ceiling=str(MAX_UPLOAD_CEILING)))
        # A file travels base64-encoded inside the JSON body: the body limit must hold one
        # file of the largest size, with room for the rest of the request.
        needed = base64_size(self.max_upload_bytes) + REQUEST_OVERHEAD_BYTES
        if self.max_request_bytes < needed:
            raise Invalid(
                S(
                    "max_request",
                    request=str(self.max_request_bytes),
                    upload=str(self.max_upload_bytes),
                    needed=str(needed),
                )
            )
        secret = self.portal_push_secret
        if secret is not None and len(secret.get_secret_value().encode()) < 16:
            raise Invalid(S("too_short", name="MOTCUA_PORTAL_PUSH_SECRET", size=16))
        check_providers(self.oidc_providers, production=self.environment == "production")
        if self.environment == "production":
            self._safe_for_production()
        return self

    def _safe_for_production(self) -> None:
        jwt_secret = self.jwt_secret.get_secret_value()
        if self.jwt_algorithm == "HS256":
            if jwt_secret == DEV_JWT_SECRET:
                raise Invalid(S("dev_jwt_secret"))
            if len(jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
                raise Invalid(S("too_short", name="MOTCUA_JWT_SECRET", size=MIN_HS256_SECRET_BYTES))
        if self.payment_gateway_secret.get_secret_value() == DEV_PAYMENT_SECRET:
            raise Invalid(S("dev_payment_secret"))
        if self.jwt_algorithm == "RS256" and not (self.jwt_public_key_file or self.jwt_jwks_file):
            raise Invalid(S("rs256_key"))
        # The receipts' rating codes are keyed by MOTCUA_RATING_SECRET, else by the JWT
        # secret: with RS256 that is no secret, and anyone could forge a rating code.
        rating = self.rating_secret
        if rating is None and self.jwt_algorithm != "HS256":
            raise Invalid(S("rating_secret"))
        if rating is not None and len(rating.get_secret_value().encode()) < 16:
            raise Invalid(S("too_short", name="MOTCUA_RATING_SECRET", size=16))
        plain = [o for o in self.cors_origins if not o.startswith("https://")]
        if plain:
            raise Invalid(S("not_https", name="MOTCUA_CORS_ORIGINS", value=plain[0]))

    @model_validator(mode="after")
    def _payload_keys_usable(self) -> Settings:
        if self.payload_keys is not None and self.payload_keys_file is not None:
            raise Invalid(
                S("only_one", first="MOTCUA_PAYLOAD_KEYS", second="MOTCUA_PAYLOAD_KEYS_FILE")
            )
        if self.payload_key_id is not None:
            try:
                check_key_id(self.payload_key_id)
            except ValueError as exc:
                raise Invalid(
                    S("named", name="MOTCUA_PAYLOAD_KEY_ID", reason=text_of(exc))
                ) from None
        if self.environment == "production" and (
            self.payload_keys is None and self.payload_keys_file is None
        ):
            raise Invalid(S("payload_keys_unset"))
        self.configured_payload_keyring()  # a bad ring stops the process at start
        for origin in self.codec_cors_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise Invalid(S("codec_origin", origin=repr(origin)))
        return self

    def configured_payload_keyring(self) -> KeyRing | None:
        """The payload key ring from MOTCUA_PAYLOAD_KEYS or MOTCUA_PAYLOAD_KEYS_FILE (its
        current key overridden by MOTCUA_PAYLOAD_KEY_ID); None when neither is set (the
        development ring: `keyring_for`). ValueError names what is wrong."""
        if self.payload_keys is not None:
            source = "MOTCUA_PAYLOAD_KEYS"
            ring = parse_keyring(self.payload_keys.get_secret_value(), source)
        elif self.payload_keys_file is not None:
            source = f"MOTCUA_PAYLOAD_KEYS_FILE ({self.payload_keys_file})"
            if not self.payload_keys_file.is_file():
                raise Invalid(S("source_no_file", source=source))
            ring = read_keyring(self.payload_keys_file, source)
        else:
            return None
        if self.payload_key_id is not None and self.payload_key_id != ring.current:
            if self.payload_key_id not in ring.keys:
                raise Invalid(
                    S(
                        "key_not_in_ring",
                        key=repr(self.payload_key_id),
                        source=source,
                        ids=", ".join(ring.ids),
                    )
                )
            ring = ring.with_current(self.payload_key_id)
        return ring

    @property
    def resolved_payload_keys_file(self) -> Path | None:
        """The key ring file in use: the configured one, or in development (no
        MOTCUA_PAYLOAD_KEYS) state_dir/payload-keys.json."""
        if self.payload_keys_file is not None:
            return self.payload_keys_file
        if self.payload_keys is None and self.environment == "development":
            return self.state_dir / DEV_KEYRING_FILE
        return None

    @property
    def uses_temporal_tls(self) -> bool:
        return bool(
            self.temporal_tls
            or self.temporal_tls_ca_file
            or self.temporal_tls_cert_file
            or self.temporal_tls_server_name
        )

    @property
    def resolved_document_store(self) -> str:
        return self.document_store or str(self.state_dir / "documents")

    @property
    def portal_documents_prefix(self) -> str | None:
        """Where the documents of portal dossiers may be fetched from (a URL prefix)."""
        if self.portal_documents_base_url:
            return self.portal_documents_base_url
        for url in (self.portal_pull_url, self.portal_url):
            if url:
                parts = urlsplit(url)
                return urlunsplit((parts.scheme, parts.netloc, "/", "", ""))
        return None

    @property
    def resolved_pki_manifest(self) -> Path:
        return self.pki_manifest or self.state_dir / "pki" / "keys.yaml"

    @property
    def dev_ca_url(self) -> str:
        """Where `motcua dev` serves the development CA (its certificates name it)."""
        return f"http://127.0.0.1:{self.dev_ca_port or self.api_port + 1}"

    def rating_key(self) -> bytes:
        """The key of receipts' rating codes (domain/ratings.py): MOTCUA_RATING_SECRET, or
        one derived from the JWT secret (a label keeps the two keys apart)."""
        if self.rating_secret is not None:
            return self.rating_secret.get_secret_value().encode()
        jwt = self.jwt_secret.get_secret_value().encode()
        return hmac.new(jwt, b"motcua rating codes", hashlib.sha256).digest()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'motcua.db'}"


def env_name(field: str) -> str:
    """The environment variable a field is read from."""
    return ENV_ALIASES.get(field, ENV_PREFIX + field.upper())


SECRET_FIELDS = frozenset(
    name for name, info in Settings.model_fields.items() if "SecretStr" in repr(info.annotation)
)


class SettingsError(ValueError):
    """The environment holds a setting motcua cannot run with: one problem a line, each
    naming its variable, in Vietnamese (``str``) or in the reader's language (``render``)."""

    def __init__(self, problems: list[Text | str]) -> None:
        self.problems = problems
        super().__init__(self.render())

    def render(self, lang: Lang = DEFAULT_LANG) -> str:
        return "\n".join(render(p, lang) for p in self.problems)


def describe_errors(exc: ValidationError, lang: Lang = DEFAULT_LANG) -> str:
    """One line per wrong setting, named by its environment variable, in `lang`; a
    secret's value is never echoed."""
    return "\n".join(t.render(lang) for t in _problems(exc))


def _problems(exc: ValidationError) -> list[Text]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        reason = error_text(err)
        if not loc:  # a check across settings: its text names the variables
            out.append(reason)
            continue
        field = loc[0] if loc[0] in Settings.model_fields else _field_of_alias(loc[0])
        where = env_name(field) if field else loc[0]
        if len(loc) > 1:  # inside a JSON setting: MOTCUA_OIDC_PROVIDERS: 0.issuer
            where = f"{where}: {'.'.join(loc[1:])}"
        if field in SECRET_FIELDS or any("secret" in p for p in loc):
            out.append(S("named", name=where, reason=reason))
        else:
            out.append(S("got", where=where, reason=reason, value=repr(err.get("input"))))
    return out


def _field_of_alias(alias: str) -> str | None:
    for field, env in ENV_ALIASES.items():
        if alias in (env, ENV_PREFIX + field.upper()):
            return field
    return None


def load_settings(**overrides: object) -> Settings:
    """The process's settings from the environment; SettingsError names what is wrong."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(list(_problems(exc))) from None
    except SourceError as exc:  # a JSON setting (a list, the OpenID providers) is not JSON
        found = re.search(r'field "(\w+)"', str(exc))
        where = env_name(found.group(1)) if found else ENV_PREFIX + "*"
        cause = exc.__cause__
        error = cause.msg if isinstance(cause, json.JSONDecodeError) else str(cause or exc)
        raise SettingsError([S("not_json", where=where, error=error)]) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


class SettingRow(NamedTuple):
    env: str
    value: str
    default: bool
    description: str


MASK = "********"


def _masked_url(value: str) -> str:
    """A URL with its password (if any) replaced by the mask."""
    parts = urlsplit(value)
    if parts.password is None:
        return value
    userinfo = f"{parts.username or ''}:{MASK}"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def effective_settings(settings: Settings) -> list[SettingRow]:
    """Every setting as its environment variable and value, secrets and URL passwords
    masked; ``default`` tells those not set in the environment."""
    resolved: dict[str, object] = {
        "database_url": settings.resolved_database_url,
        "document_store": settings.resolved_document_store,
        "pki_manifest": settings.resolved_pki_manifest,
        "payload_keys_file": settings.resolved_payload_keys_file,
    }
    rows = []
    for name, info in Settings.model_fields.items():
        value = resolved.get(name) or getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = MASK if value.get_secret_value() else ""
        elif value is None:
            shown = ""
        elif isinstance(value, list):
            # Models (OpenID providers) as JSON, their SecretStr fields masked by pydantic.
            items = [v.model_dump(mode="json") if isinstance(v, BaseModel) else v for v in value]
            shown = json.dumps(items, ensure_ascii=False)
        elif isinstance(value, bool):
            shown = str(value).lower()
        else:
            shown = _masked_url(str(value))
        rows.append(
            SettingRow(
                env_name(name),
                shown,
                name not in settings.model_fields_set,
                info.description or "",
            )
        )
    return rows


def keyring_for(settings: Settings) -> KeyRing:
    """The key ring the settings name (MOTCUA_PAYLOAD_KEYS or MOTCUA_PAYLOAD_KEYS_FILE,
    current key overridden by MOTCUA_PAYLOAD_KEY_ID); in development without either, the
    development ring under state_dir, made on first use."""
    ring = settings.configured_payload_keyring()
    if ring is None:
        path = settings.resolved_payload_keys_file
        if path is None:  # production without keys: Settings refuses this already
            raise Invalid(S("no_payload_keys"))
        ring = ensure_dev_keyring(path)
        if settings.payload_key_id:
            ring = override_current(ring, settings.payload_key_id, str(path))
    return ring


def override_current(ring: KeyRing, key_id: str, source: str) -> KeyRing:
    if key_id not in ring.keys:
        raise Invalid(
            S("key_not_in_ring", key=repr(key_id), source=source, ids=", ".join(ring.ids))
        )
    return ring.with_current(key_id)
