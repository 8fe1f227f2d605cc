"""Process settings, from environment variables prefixed MOTCUA_ (and DATABASE_URL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "motcua-development-secret-not-for-production"
DEV_PAYMENT_SECRET = "motcua-development-payment-secret"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MOTCUA_", extra="ignore")

    state_dir: Path = Field(
        default=REPO_ROOT / ".state", description="local state (dev server db, SQLite)"
    )
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("DATABASE_URL", "MOTCUA_DATABASE_URL"),
        description="SQLAlchemy URL of the read model; empty means a SQLite file in state_dir",
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    centre_task_queue: str = "motcua-centre"
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
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret: str = Field(
        default=DEV_JWT_SECRET,
        description="HS256 secret (development); refused in production",
    )
    jwt_public_key_file: Path | None = Field(default=None, description="RS256: PEM public key")
    jwt_jwks_file: Path | None = Field(default=None, description="RS256: JWKS file (keys by kid)")
    jwt_issuer: str = "motcua"
    jwt_audience: str = "motcua"
    rate_limit_per_minute: int = Field(default=120, description="requests per caller per minute")
    payment_gateway_secret: str = Field(
        default=DEV_PAYMENT_SECRET,
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
    portal_token: str | None = Field(default=None, description="bearer token for the portal")
    portal_interval_seconds: float = Field(default=10, description="portal sync round period")
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, description="largest uploaded file")
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

    @model_validator(mode="after")
    def _safe_for_production(self) -> Settings:
        if self.environment == "production":
            if self.jwt_algorithm == "HS256" and self.jwt_secret == DEV_JWT_SECRET:
                raise ValueError(
                    "MOTCUA_JWT_SECRET is the development placeholder: set a real secret "
                    "or use RS256 with MOTCUA_JWT_PUBLIC_KEY_FILE / MOTCUA_JWT_JWKS_FILE"
                )
            if self.payment_gateway_secret == DEV_PAYMENT_SECRET:
                raise ValueError("MOTCUA_PAYMENT_GATEWAY_SECRET is the development placeholder")
            if self.jwt_algorithm == "RS256" and not (
                self.jwt_public_key_file or self.jwt_jwks_file
            ):
                raise ValueError("RS256 needs MOTCUA_JWT_PUBLIC_KEY_FILE or MOTCUA_JWT_JWKS_FILE")
        return self

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


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
