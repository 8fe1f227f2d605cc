"""Forms and results name agencies as the database's catalog does, not as the shipped files
did when the worker started: a renamed agency, and a successor a merger added (which the
files never held), are named by their new names once the worker's catalog cache sees the
change; an agency keeps its place. On both databases."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy.engine import Engine

from activities.documents import DocumentServices
from domain.catalog import Agency, load_catalog
from infra.settings import Settings
from motcua.stack import issuers_follow_the_catalog
from store import repository

POLICE = "000.00.20.H99"
NEW_COMMUNE = "000.31.99.H99"


def test_forms_name_agencies_as_the_database_does(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path / "state", catalog_refresh_seconds=0.05)
    shipped = load_catalog(settings.catalog_dir)
    repository.seed_catalog(engine, shipped)
    docs = DocumentServices.from_settings(settings, shipped)
    stop = issuers_follow_the_catalog(docs, engine, settings, shipped)
    assert stop is not None
    try:
        assert docs.issuers.name(POLICE) == shipped.agencies[POLICE].name
        assert docs.issuers.place(POLICE) == "Cao Bằng"
        assert docs.issuers.name(NEW_COMMUNE) == NEW_COMMUNE  # unknown: its code

        renamed = shipped.agencies[POLICE].model_copy(update={"name": "Công an tỉnh Cao Bằng"})
        commune = Agency.model_validate(
            {
                "code": NEW_COMMUNE,
                "name": "Ủy ban nhân dân xã Bình Long",
                "kind": "peoples_committee",
                "level": "commune",
                "place": "Bình Long",
            }
        )
        repository.save_agencies(engine, [renamed, commune])
        for _ in range(200):  # the cache looks again every catalog_refresh_seconds
            if docs.issuers.name(NEW_COMMUNE) != NEW_COMMUNE:
                break
            time.sleep(0.05)
        assert docs.issuers.name(POLICE) == "Công an tỉnh Cao Bằng"
        assert docs.issuers.place(POLICE) == "Cao Bằng"
        assert docs.issuers.name(NEW_COMMUNE) == "Ủy ban nhân dân xã Bình Long"
        assert docs.issuers.place(NEW_COMMUNE) == "Bình Long"
    finally:
        stop.set()
