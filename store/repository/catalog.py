"""The catalog's agencies and procedure versions, synchronised into the read model."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine
from sqlmodel import SQLModel, col
from sqlmodel import select as sm_select

from domain.catalog import Catalog
from store.models import AgencyRow, ProcedureRow
from store.repository._common import _insert, _read, _table, _write


def sync_catalog(engine: Engine, catalog: Catalog) -> tuple[int, int]:
    """Upsert every agency and every procedure version of ``catalog`` (idempotent).

    Rows no longer in the catalog are kept: dossiers may still refer to them.
    Returns ``(agencies, procedure versions)`` written.
    """
    agencies = [
        {
            "code": a.code,
            "name": a.name,
            "kind": a.kind.value,
            "level": a.level,
            "parent": a.parent,
        }
        for a in catalog.agencies.values()
    ]
    procedures = [
        {
            "code": p.code,
            "version": p.version,
            "name": p.name,
            "field": p.field,
            "level": p.level,
            "competent_agency": p.competent_agency,
            "statutory_value": p.statutory_time.value,
            "statutory_unit": p.statutory_time.unit.value,
            "effective_from": p.effective_from,
            "effective_to": p.effective_to,
            "definition": p.model_dump(mode="json"),
        }
        for versions in catalog.procedures.values()
        for p in versions
    ]

    def upsert(conn: Connection, model: type[SQLModel], rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        keys = [c.name for c in _table(model).primary_key.columns]
        ins = _insert(conn, model)
        ins = ins.on_conflict_do_update(
            index_elements=keys,
            set_={k: ins.excluded[k] for k in rows[0] if k not in keys},
        )
        conn.execute(ins, rows)

    def work(conn: Connection) -> None:
        upsert(conn, AgencyRow, agencies)
        upsert(conn, ProcedureRow, procedures)

    _write(engine, work)
    return len(agencies), len(procedures)


def list_agencies(engine: Engine) -> list[AgencyRow]:
    return _read(engine, sm_select(AgencyRow).order_by(col(AgencyRow.code)))


def list_procedures(engine: Engine) -> list[ProcedureRow]:
    """Every stored procedure version, by code then version."""
    return _read(
        engine,
        sm_select(ProcedureRow).order_by(col(ProcedureRow.code), col(ProcedureRow.version)),
    )
