"""Process settings, from environment variables prefixed MOTCUA_ (and DATABASE_URL)."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Literal, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.codec import (
    DEV_KEYRING_FILE,
    KeyRing,
    check_key_id,
    ensure_dev_keyring,
    parse_keyring,
    read_keyring,
)

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


class Settings(BaseSettings):
    """Every setting of every motcua process (API, workers, CLI, dev stack), one class.

    Each field is read from ``MOTCUA_<FIELD>`` (``DATABASE_URL`` for the database);
    ``motcua config`` prints the effective values with secrets masked. A wrong value
    fails the process at start (``load_settings``) with the variable's name."""

    # An empty variable means "not set" (compose files pass `${VAR:-}` through).
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", env_ignore_empty=True)

    state_dir: Path = Field(
        default=REPO_ROOT / ".state", description="local state (dev server db, SQLite)"
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "MOTCUA_DATABASE_URL"),
        description="SQLAlchemy URL of the read model; empty means a SQLite file in state_dir",
    )
    temporal_address: str = Field(
        default="127.0.0.1:7233", description="host:port of the Temporal frontend (gRPC)"
    )
    temporal_namespace: str = Field(default="default", description="Temporal namespace")
    temporal_tls: bool = Field(
        default=False,
        description="connect to Temporal over TLS (implied by any temporal_tls_* file)",
    )
    temporal_tls_ca_file: Path | None = Field(
        default=None,
        description="PEM CA that signed the frontend's certificate (unset: the system roots)",
    )
    temporal_tls_cert_file: Path | None = Field(
        default=None, description="PEM client certificate for mutual TLS (with the key)"
    )
    temporal_tls_key_file: Path | None = Field(
        default=None, description="PEM private key of the client certificate"
    )
    temporal_tls_server_name: str | None = Field(
        default=None, description="name to verify the frontend's certificate against (SNI)"
    )
    temporal_api_key: SecretStr | None = Field(
        default=None, description="API key for a Temporal service that takes one (e.g. Cloud)"
    )
    centre_task_queue: str = Field(
        default="motcua-centre",
        description="the centre's task queue (dossier workflows); every agency's own queue is "
        "motcua-agency-<agency code>, fixed because running dossiers route to it",
    )
    catalog_dir: Path = REPO_ROOT / "procedures"
    calendar_overrides: Path = REPO_ROOT / "procedures" / "calendar" / "overrides.yaml"
    calendar_years_ahead: int = Field(
        default=4, description="years of calendar frozen into a dossier"
    )
    centre_agency: str = Field(
        default="000.00.01.H99", description="the centre this deployment runs"
    )

    environment: Literal["development", "production"] = "development"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    forwarded_allow_ips: str = Field(
        default="127.0.0.1",
        description="addresses (comma-separated, or *) of the reverse proxies whose "
        "X-Forwarded-For/-Proto the API trusts for the client's address",
    )
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: SecretStr = Field(
        default=SecretStr(DEV_JWT_SECRET),
        description="HS256 secret (development); refused in production",
    )
    jwt_public_key_file: Path | None = Field(default=None, description="RS256: PEM public key")
    jwt_jwks_file: Path | None = Field(default=None, description="RS256: JWKS file (keys by kid)")
    jwt_issuer: str = "motcua"
    jwt_audience: str = "motcua"
    rate_limit_per_minute: int = Field(default=120, description="requests per caller per minute")
    payment_gateway_secret: SecretStr = Field(
        default=SecretStr(DEV_PAYMENT_SECRET),
        description="HMAC-SHA256 key the payment gateway signs its callbacks with",
    )

    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="where citizens reach the API; printed (as a QR code) on every document",
    )
    document_store: str = Field(
        default="",
        description="folder (or file:// URL) of the content-addressed document store, shared "
        "by the API and the workers; empty means state_dir/documents",
    )
    pki_manifest: Path | None = Field(
        default=None,
        description="keys.yaml naming each signer's and seal's certificate and key (files or "
        "PKCS#11); empty means state_dir/pki/keys.yaml (made by `motcua pki init`)",
    )
    tsa_url: str | None = Field(
        default=None, description="RFC 3161 time-stamping authority for signatures (PAdES B-T)"
    )
    signing_wait_seconds: float = Field(
        default=30,
        description="how long a sign/approve request waits for the signature before answering "
        "202 (signing goes on in the workflow)",
    )
    archive_interval_seconds: float = Field(
        default=60,
        description="how often the centre's worker archives closed dossier histories "
        "(0 turns the archiver off)",
    )
    portal_url: str | None = Field(
        default=None,
        description="the national portal's endpoint for dossier status sync (none: off)",
    )
    portal_token: SecretStr | None = Field(default=None, description="bearer token for the portal")
    portal_interval_seconds: float = Field(default=10, description="portal sync round period")
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, description="largest uploaded file")
    render_processes: int = Field(
        default=1,
        ge=0,
        description="processes of each `motcua worker` that lay out and sign PDFs, outside "
        "its GIL (0: in the activity's thread)",
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
        description="file types an applicant may upload (recognised by content)",
    )

    otel_exporter: Literal["none", "console", "otlp"] = Field(
        default="none",
        description="where traces go: nowhere (trace ids still reach the logs), stdout, or "
        "an OTLP/HTTP collector",
    )
    otel_endpoint: str = Field(
        default="",
        description="OTLP/HTTP traces endpoint, e.g. http://collector:4318/v1/traces; empty "
        "means the exporter's default (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else localhost:4318)",
    )
    metrics_port: int | None = Field(
        default=None,
        description="serve Prometheus metrics (motcua's and the Temporal SDK's) at "
        "http://metrics_host:metrics_port/metrics; off when unset (the API always has /metrics)",
    )
    metrics_host: str = Field(default="127.0.0.1", description="listen address of metrics_port")
    temporal_sdk_metrics: bool = Field(
        default=True,
        description="include the Temporal SDK's own metrics (workers, client calls) in the "
        "metrics of `motcua api`, `worker` and `dev`",
    )
    log_format: Literal["json", "text"] | None = Field(
        default=None,
        description="log lines as JSON or text; unset means JSON in production, text in "
        "development",
    )
    log_level: str = Field(default="INFO", description="root log level")
    readyz_poller_max_age_seconds: float = Field(
        default=90.0,
        gt=0,
        description="/v1/readyz counts a worker as polling the centre's task queue when "
        "Temporal saw its last poll at most this long ago (an idle worker's long poll is "
        "renewed about once a minute)",
    )

    # -- API hardening and records retention (issue 11) --
    rate_limit_submit_per_minute: int = Field(
        default=10,
        description="dossier submissions (POST /v1/dossiers, counter and online) per caller "
        "(token subject) per minute, on top of rate_limit_per_minute; 0 turns it off",
    )
    rate_limit_track_per_minute: int = Field(
        default=30,
        description="public tracking requests (GET /v1/track/...) per client address per "
        "minute (the X-Forwarded-For client behind forwarded_allow_ips); 0 turns it off",
    )
    rate_limit_storage: str = Field(
        default="memory",
        description="where rate-limit counters live: memory (this API process; bounded, see "
        "rate_limit_memory_keys) or redis://[:password@]host:6379/0 (or rediss://), shared by "
        "every API process; while Redis does not answer, each process counts in memory",
    )
    rate_limit_key_prefix: str = Field(
        default="motcua",
        min_length=1,
        description="prefix of the rate-limit keys in Redis (deployments sharing one Redis "
        "use different prefixes)",
    )
    rate_limit_memory_keys: int = Field(
        default=50_000,
        ge=2,
        description="most rate-limit counters one API process keeps in memory (two per caller "
        "and limit); beyond, the oldest are forgotten",
    )
    cors_origins: list[str] = Field(
        default=[],
        description="browser origins (JSON list of scheme://host[:port]) allowed to call the "
        "API from another site; empty: no CORS headers at all (same-origin only)",
    )
    hsts_max_age_seconds: int = Field(
        default=0,
        ge=0,
        description="send Strict-Transport-Security with this max-age (only when the API is "
        "served over TLS, e.g. behind the HTTPS proxy); 0: not sent",
    )
    max_request_bytes: int = Field(
        default=64 * 1024 * 1024,
        description="largest request body, checked before it is read (Content-Length, and "
        "counted for chunked bodies): 413 beyond; must hold one max_upload_bytes file in base64",
    )
    max_json_bytes: int = Field(
        default=512 * 1024,
        ge=1024,
        description="largest JSON request body on /v1 (checked before it is read, after the "
        "bearer token): 413 beyond; larger files travel as multipart/form-data, each up to "
        "max_upload_bytes",
    )
    max_json_depth: int = Field(
        default=32, ge=4, description="deepest nesting of a JSON request body: 422 beyond"
    )
    max_json_keys: int = Field(
        default=10_000,
        ge=100,
        description="most object keys and array items in one JSON request body: 422 beyond",
    )
    jwt_jwks_refresh_seconds: float = Field(
        default=300,
        ge=1,
        description="how often the JWKS file is re-read for rotated keys (a token with an "
        "unknown kid re-reads it at once, at most every 10 s)",
    )
    jwt_max_lifetime_seconds: int = Field(
        default=12 * 3600,
        gt=0,
        description="longest a bearer token may be valid, from its iat to its exp (tokens "
        "without iat, or living longer, are refused); `motcua token` issues up to this",
    )
    retention_default_years: int = Field(
        default=10,
        ge=1,
        le=100,
        description="[uncertain] years a closed dossier is kept when its procedure names no "
        "retention for its result type (`motcua retention list`)",
    )

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        for origin in value:
            if not CORS_ORIGIN.match(origin):
                raise ValueError(
                    f"'{origin}' is not an origin like https://portal.example.gov.vn "
                    "(scheme://host[:port], no path, no wildcard)"
                )
        return value

    # Personal data in Temporal: payload encryption (infra/codec.py, docs/personal-data.md).
    payload_keys_file: Path | None = Field(
        default=None,
        description="JSON key ring encrypting Temporal payloads "
        '({"current": id, "keys": {id: base64 of 32 bytes}}); empty in development means '
        "state_dir/payload-keys.json, made on first use; production needs it (or "
        "MOTCUA_PAYLOAD_KEYS)",
    )
    payload_keys: SecretStr | None = Field(
        default=None, description="the payload key ring itself, as JSON (instead of the file)"
    )
    payload_key_id: str | None = Field(
        default=None,
        description="id of the key new payloads are encrypted with (default: the ring's "
        "'current'); every key of the ring still decrypts",
    )
    codec_cors_origins: list[str] = Field(
        default=[],
        description="origins (e.g. the Temporal web UI's, https://temporal.example.vn) whose "
        "pages may call /v1/codec/decode from the browser (CORS, with credentials)",
    )

    @field_validator("rate_limit_storage")
    @classmethod
    def _rate_limit_storage(cls, value: str) -> str:
        if value in ("memory", "memory://"):
            return "memory"
        if urlsplit(value).scheme not in ("redis", "rediss") or not urlsplit(value).hostname:
            raise ValueError("neither memory nor a Redis URL (redis://host:6379/0, rediss://...)")
        return value

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"'{value}' is not one of {', '.join(LOG_LEVELS)}")
        return value.upper()

    @field_validator("api_port", "metrics_port")
    @classmethod
    def _tcp_port(cls, value: int | None) -> int | None:
        if value is not None and not 0 < value < 65536:
            raise ValueError(f"{value} is not a TCP port (1-65535)")
        return value

    @field_validator("temporal_address")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"'{value}' is not host:port (e.g. temporal:7233)")
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
            raise ValueError(
                "not a database URL (e.g. postgresql+psycopg://user:password@host/db or "
                "sqlite:///path/motcua.db)"
            ) from None
        if backend not in ("sqlite", "postgresql", "postgres"):
            raise ValueError(f"the read model runs on SQLite or PostgreSQL, not {backend}")
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
            raise ValueError(f"cannot read {value}: no such file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        if bool(self.temporal_tls_cert_file) != bool(self.temporal_tls_key_file):
            raise ValueError(
                "MOTCUA_TEMPORAL_TLS_CERT_FILE and MOTCUA_TEMPORAL_TLS_KEY_FILE go together "
                "(mutual TLS needs both)"
            )
        if self.jwt_public_key_file and self.jwt_jwks_file:
            raise ValueError("set only one of MOTCUA_JWT_PUBLIC_KEY_FILE and MOTCUA_JWT_JWKS_FILE")
        if not 0 < self.max_upload_bytes <= MAX_UPLOAD_CEILING:
            raise ValueError(
                f"MOTCUA_MAX_UPLOAD_BYTES must be between 1 and {MAX_UPLOAD_CEILING} "
                "(the request schema's ceiling for one file)"
            )
        # A file travels base64-encoded inside the JSON body: the body limit must hold one
        # file of the largest size, with room for the rest of the request.
        needed = base64_size(self.max_upload_bytes) + REQUEST_OVERHEAD_BYTES
        if self.max_request_bytes < needed:
            raise ValueError(
                f"MOTCUA_MAX_REQUEST_BYTES ({self.max_request_bytes}) cannot hold one file of "
                f"MOTCUA_MAX_UPLOAD_BYTES ({self.max_upload_bytes}) in base64: it must be at "
                f"least {needed}"
            )
        if self.environment == "production":
            self._safe_for_production()
        return self

    def _safe_for_production(self) -> None:
        jwt_secret = self.jwt_secret.get_secret_value()
        if self.jwt_algorithm == "HS256":
            if jwt_secret == DEV_JWT_SECRET:
                raise ValueError(
                    "MOTCUA_JWT_SECRET is the development placeholder: set a real secret "
                    "or use RS256 with MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_JWKS_FILE"
                )
            if len(jwt_secret.encode()) < MIN_HS256_SECRET_BYTES:
                raise ValueError(
                    f"MOTCUA_JWT_SECRET is shorter than {MIN_HS256_SECRET_BYTES} bytes"
                )
        if self.payment_gateway_secret.get_secret_value() == DEV_PAYMENT_SECRET:
            raise ValueError("MOTCUA_PAYMENT_GATEWAY_SECRET is the development placeholder")
        if self.jwt_algorithm == "RS256" and not (self.jwt_public_key_file or self.jwt_jwks_file):
            raise ValueError("RS256 needs MOTCUA_JWT_PUBLIC_KEY_FILE or MOTCUA_JWT_JWKS_FILE")
        plain = [o for o in self.cors_origins if not o.startswith("https://")]
        if plain:
            raise ValueError(f"MOTCUA_CORS_ORIGINS: {plain[0]} is not https (production)")

    @model_validator(mode="after")
    def _payload_keys_usable(self) -> Settings:
        if self.payload_keys is not None and self.payload_keys_file is not None:
            raise ValueError("set only one of MOTCUA_PAYLOAD_KEYS and MOTCUA_PAYLOAD_KEYS_FILE")
        if self.payload_key_id is not None:
            try:
                check_key_id(self.payload_key_id)
            except ValueError as exc:
                raise ValueError(f"MOTCUA_PAYLOAD_KEY_ID: {exc}") from None
        if self.environment == "production" and (
            self.payload_keys is None and self.payload_keys_file is None
        ):
            raise ValueError(
                "MOTCUA_PAYLOAD_KEYS_FILE (or MOTCUA_PAYLOAD_KEYS) is not set: production "
                "encrypts personal data in Temporal payloads (make a key ring with "
                "`motcua keys new --current --file <path>`)"
            )
        self.configured_payload_keyring()  # a bad ring stops the process at start
        for origin in self.codec_cors_origins:
            parts = urlsplit(origin)
            if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
                raise ValueError(
                    f"MOTCUA_CODEC_CORS_ORIGINS: {origin!r} is not an origin "
                    "(scheme://host[:port], no path)"
                )
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
                raise ValueError(f"{source}: no such file")
            ring = read_keyring(self.payload_keys_file, source)
        else:
            return None
        if self.payload_key_id is not None and self.payload_key_id != ring.current:
            if self.payload_key_id not in ring.keys:
                raise ValueError(
                    f"MOTCUA_PAYLOAD_KEY_ID {self.payload_key_id!r} is not a key of {source} "
                    f"(its keys: {', '.join(ring.ids)})"
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
    def resolved_pki_manifest(self) -> Path:
        return self.pki_manifest or self.state_dir / "pki" / "keys.yaml"

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
    """The environment holds a setting motcua cannot run with; the message names it."""


def describe_errors(exc: ValidationError) -> str:
    """One line per wrong setting, named by its environment variable; a secret's value
    is never echoed."""
    lines = []
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        message = err["msg"].removeprefix("Value error, ")
        if not loc:
            lines.append(message)
            continue
        field = loc[0] if loc[0] in Settings.model_fields else _field_of_alias(loc[0])
        where = env_name(field) if field else ".".join(loc)
        shown = "" if field in SECRET_FIELDS else f" (got {err.get('input')!r})"
        lines.append(f"{where}: {message}{shown}")
    return "\n".join(lines)


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
        raise SettingsError(describe_errors(exc)) from None


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
            shown = json.dumps(value)
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
            raise ValueError("no payload keys: set MOTCUA_PAYLOAD_KEYS_FILE")
        ring = ensure_dev_keyring(path)
        if settings.payload_key_id:
            ring = override_current(ring, settings.payload_key_id, str(path))
    return ring


def override_current(ring: KeyRing, key_id: str, source: str) -> KeyRing:
    if key_id not in ring.keys:
        raise ValueError(
            f"MOTCUA_PAYLOAD_KEY_ID {key_id!r} is not a key of {source} (its keys: "
            f"{', '.join(ring.ids)})"
        )
    return ring.with_current(key_id)
