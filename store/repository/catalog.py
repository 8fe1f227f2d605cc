"""The catalog's agencies and procedure versions, synchronised into the read model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, select, update
from sqlmodel import SQLModel, col
from sqlmodel import select as sm_select

from domain.catalog import Agency, Catalog, Procedure, procedure_document
from store.models import AgencyRow, ProcedureRow
from store.repository._common import _insert, _read, _table, _write


def sync_catalog(engine: Engine, catalog: Catalog) -> tuple[int, int]:
    """Upsert every agency and every procedure version of ``catalog`` (idempotent).

    Rows no longer in the catalog are kept: dossiers may still refer to them.
    Returns ``(agencies, procedure versions)`` written.
    """
    agencies = list(catalog.agencies.values())
    procedures = [procedure_values(p) for versions in catalog.procedures.values() for p in versions]

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
        _upsert_agencies(conn, agencies)
        upsert(conn, ProcedureRow, procedures)

    _write(engine, work)
    return len(agencies), len(procedures)


def seed_catalog(engine: Engine, catalog: Catalog) -> tuple[int, int]:
    """Insert the agencies and procedure versions of `catalog` (the shipped YAML) that
    the database does not hold yet; what it holds (a published or imported version, an
    agency's new name) stays: the database is the catalog, the files are its seed. An
    agency stored before the database kept places and validity (never changed since,
    `changed_at` empty) takes them from the seed once.
    Returns ``(agencies, procedure versions)`` inserted."""
    now = datetime.now(UTC)
    agencies = [_agency_values(a, now) for a in catalog.agencies.values()]
    procedures = [procedure_values(p) for versions in catalog.procedures.values() for p in versions]

    def work(conn: Connection) -> tuple[int, int]:
        counts = []
        for model, rows in ((AgencyRow, agencies), (ProcedureRow, procedures)):
            before = conn.execute(select(func.count()).select_from(_table(model))).scalar_one()
            if rows:
                conn.execute(_insert(conn, model).on_conflict_do_nothing(), rows)
            after = conn.execute(select(func.count()).select_from(_table(model))).scalar_one()
            counts.append(after - before)
        table = _table(AgencyRow)
        unfilled = set(
            conn.execute(select(table.c.code).where(table.c.changed_at.is_(None))).scalars()
        )
        for row in agencies:
            if row["code"] in unfilled:
                conn.execute(
                    update(table)
                    .where(table.c.code == row["code"], table.c.changed_at.is_(None))
                    .values({k: row[k] for k in _SINCE_0015})
                )
        return counts[0], counts[1]

    return _write(engine, work)


# The agencies' columns added by 0016_agency_validity.
_SINCE_0015 = ("place", "valid_from", "valid_to", "successor", "changed_at")


def _agency_values(a: Agency, now: datetime | None) -> dict[str, Any]:
    return {
        "code": a.code,
        "name": a.name,
        "kind": a.kind.value,
        "level": a.level,
        "parent": a.parent,
        "place": a.place,
        "valid_from": a.valid_from,
        "valid_to": a.valid_to,
        "successor": a.successor,
        "changed_at": now,
    }


def agency_from_row(row: AgencyRow) -> Agency:
    """The catalog's agency a row holds."""
    return Agency.model_validate(
        {
            "code": row.code,
            "name": row.name,
            "kind": row.kind,
            "level": row.level,
            "parent": row.parent,
            "place": row.place,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "successor": row.successor,
        }
    )


def procedure_values(p: Procedure, **extra: Any) -> dict[str, Any]:
    """A procedure version as the row's values (indexed columns and the whole JSON)."""
    return {
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
        "definition": procedure_document(p),
        **extra,
    }


def catalog_revision(engine: Engine) -> tuple[int, str, int, str]:
    """What changes whenever the published catalog does (a version published or imported,
    an agency added or changed: renamed, merged): the processes holding the catalog
    compare it to reload."""
    with engine.connect() as conn:
        count, last = conn.execute(
            select(func.count(), func.max(col(ProcedureRow.published_at))).where(
                col(ProcedureRow.status) == "published"
            )
        ).one()
        agencies, changed = conn.execute(
            select(func.count(), func.max(col(AgencyRow.changed_at)))
        ).one()
    return int(count), str(last), int(agencies), str(changed)


def published_procedures(engine: Engine) -> list[ProcedureRow]:
    """Every published version, by code then version."""
    return _read(
        engine,
        sm_select(ProcedureRow)
        .where(col(ProcedureRow.status) == "published")
        .order_by(col(ProcedureRow.code), col(ProcedureRow.version)),
    )


def procedure_versions(engine: Engine, code: str) -> list[ProcedureRow]:
    """Every version of one procedure, drafts too, oldest first."""
    return _read(
        engine,
        sm_select(ProcedureRow)
        .where(col(ProcedureRow.code) == code)
        .order_by(col(ProcedureRow.version)),
    )


def highest_versions(engine: Engine) -> dict[str, int]:
    """The highest version number of each procedure, drafts included."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(col(ProcedureRow.code), func.max(col(ProcedureRow.version))).group_by(
                col(ProcedureRow.code)
            )
        ).all()
    return {code: int(v) for code, v in rows}


def save_procedure_versions(engine: Engine, rows: list[dict[str, Any]]) -> None:
    """Write procedure versions (all with the same keys), replacing a stored one of the
    same code and version (a draft being edited, or published)."""
    if not rows:
        return

    def work(conn: Connection) -> None:
        ins = _insert(conn, ProcedureRow)
        ins = ins.on_conflict_do_update(
            index_elements=["code", "version"],
            set_={k: ins.excluded[k] for k in rows[0] if k not in ("code", "version")},
        )
        conn.execute(ins, rows)

    _write(engine, work)


def save_agencies(engine: Engine, agencies: list[Agency]) -> None:
    """Add agencies or change them (an import's, a merger's: renamed, ended, succeeded)."""
    if agencies:
        _write(engine, lambda conn: _upsert_agencies(conn, agencies))


def _upsert_agencies(conn: Connection, agencies: list[Agency]) -> None:
    """Write the agencies the database does not hold as they are; one written gets a new
    `changed_at` (the catalog's revision), one unchanged keeps its own."""
    table = _table(AgencyRow)
    compared = (
        [k for k in _agency_values(agencies[0], None) if k != "changed_at"] if agencies else []
    )
    held = {
        row["code"]: {k: row[k] for k in compared}
        for row in conn.execute(select(*(table.c[k] for k in compared))).mappings()
    }
    now = datetime.now(UTC)
    rows = []
    for a in agencies:
        values = _agency_values(a, now)
        if held.get(a.code) != {k: values[k] for k in compared}:
            rows.append(values)
    if not rows:
        return
    ins = _insert(conn, AgencyRow)
    ins = ins.on_conflict_do_update(
        index_elements=["code"], set_={k: ins.excluded[k] for k in rows[0] if k != "code"}
    )
    conn.execute(ins, rows)


def delete_draft(engine: Engine, code: str, version: int) -> bool:
    def work(conn: Connection) -> bool:
        done = conn.execute(
            delete(_table(ProcedureRow)).where(
                _table(ProcedureRow).c.code == code,
                _table(ProcedureRow).c.version == version,
                _table(ProcedureRow).c.status == "draft",
            )
        )
        return bool(done.rowcount)

    return _write(engine, work)


def list_agencies(engine: Engine) -> list[AgencyRow]:
    return _read(engine, sm_select(AgencyRow).order_by(col(AgencyRow.code)))


def list_procedures(engine: Engine) -> list[ProcedureRow]:
    """Every stored procedure version, by code then version."""
    return _read(
        engine,
        sm_select(ProcedureRow).order_by(col(ProcedureRow.code), col(ProcedureRow.version)),
    )
