"""A province's whole catalog imported at once: a generated file of 2,000 procedures in the
import format (docs/catalog.md), imported into a fresh database, then imported again
(nothing changes: idempotent), then with one procedure in ten changed (new versions).

    .venv/bin/python -m bench.catalog_import [--procedures 2000] [--database-url URL]

Prints the seconds of each import (the service's own measure: parsing, validation of
every record, the comparison with the catalog, the writes and the catalog's reload) and
the report's counts. The database is a new SQLite file unless --database-url names one
(a PostgreSQL database: its procedures table is written to).
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

from domain.catalog import load_catalog, procedure_document
from domain.catalog_exchange import FORMAT, Publication, definition_to_record
from infra.settings import Settings
from services.catalog import CatalogAdmin, CatalogCache
from store import repository
from store.db import init_db, make_engine

FIELDS = ("Hộ tịch", "Đất đai", "Xây dựng", "Giao thông vận tải", "Lao động", "Y tế", "Giáo dục")


def generated_catalog(n: int, *, changed_every: int = 0) -> dict[str, Any]:
    """`n` procedures made from the shipped ones that stand alone (linked groups left out),
    each under a new code 8.xxxxxx, with its own name, field, time and fees;
    `changed_every`: every that many, one more working day of appraisal and statutory time
    (a changed procedure)."""
    catalog = load_catalog(Settings().catalog_dir)
    templates = [
        procedure_document(p)
        for p in catalog.latest()
        if p.standalone and not any(s.children for s in p.steps)
    ]
    records = []
    for i in range(n):
        d = copy.deepcopy(templates[i % len(templates)])
        d["code"] = f"8.{i + 1:06d}"
        d["version"] = 1
        d["name"] = f"{d['name']} (mẫu số {i + 1})"
        d["field"] = FIELDS[i % len(FIELDS)]
        d["effective_from"] = "2026-01-01"
        d["fees"] = [{"name": "Lệ phí", "amount_vnd": 10_000 * (i % 20)}]
        if changed_every and i % changed_every == 0:
            d["statutory_time"] = {
                "value": d["statutory_time"]["value"] + 1,
                "unit": d["statutory_time"]["unit"],
            }
        records.append(definition_to_record(d, Publication(boundary_free=i % 3 == 0)))
    agencies = [a.model_dump(mode="json") for a in catalog.agencies.values()]
    return {"format": FORMAT, "agencies": agencies, "procedures": records}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--procedures", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'catalog.db'}"
        engine = make_engine(url)
        init_db(engine)
        repository.seed_catalog(engine, load_catalog(Settings().catalog_dir))
        admin = CatalogAdmin(engine, CatalogCache(engine))
        for label, doc in (
            ("first import", generated_catalog(args.procedures)),
            ("same file again", generated_catalog(args.procedures)),
            ("one in ten changed", generated_catalog(args.procedures, changed_every=10)),
        ):
            started = time.perf_counter()
            r = admin.import_file(doc, "bench")
            wall = time.perf_counter() - started
            print(
                f"{label:>20}: {wall:6.2f} s wall ({r.seconds:.2f} s in import_file), "
                f"created {len(r.created)}, new versions {len(r.new_versions)}, "
                f"unchanged {len(r.unchanged)}, invalid {len(r.invalid)}"
            )
        started = time.perf_counter()
        exported = admin.export()
        print(
            f"{'export':>20}: {time.perf_counter() - started:6.2f} s, {len(exported['procedures'])} versions"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
