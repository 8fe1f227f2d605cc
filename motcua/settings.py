"""Process settings, from environment variables prefixed MOTCUA_ (and DATABASE_URL)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent


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

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.state_dir / 'motcua.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
