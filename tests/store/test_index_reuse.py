"""Decision 766 figures 4.2 (digitisation) and 4.3 (reuse) count a component taken from a
national database instead of a file (NQ 66.7/2025/NQ-CP: the read model's document row of
source "database"), on SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from domain.catalog import load_catalog
from infra.settings import Settings
from services.index import service_index
from tests.store.test_index import COMMUNE, PERIOD, dossier, t


def test_a_component_from_a_database_counts_as_digitised_and_reused(engine: Engine) -> None:
    # Two birth registrations, returned with their result: the parents' data of the first
    # taken from the population database, the second's papers only (no upload either).
    for n, from_database in ((21, True), (22, False)):
        dossier(
            engine,
            n,
            received=t(11, 4),
            appointment=t(11, 4, 17),
            processed=t(11, 4, 15),
            procedure="1.001193",
            competent=COMMUNE,
            result=True,
            from_database=from_database,
        )
    catalog = load_catalog(Settings().catalog_dir)
    [row] = service_index(engine, catalog, *PERIOD, procedure="1.001193").rows
    c = row.counts
    assert (c.received, c.digitised, c.reused) == (2, 1, 1)
    assert (row.digitisation_rate, row.reuse_rate) == (50.0, 50.0)
