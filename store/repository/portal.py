"""Dossiers filed on the national portal: the portal's code bound to the motcua code,
once, race-safe (``INSERT .. ON CONFLICT DO NOTHING`` on the portal code); and what the
status sync back reads (the portal code of a dossier, how it was paid)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Engine, select

from store.models import EventRow, PortalIntakeRow, PortalSkippedRow
from store.repository._common import _insert, _now, _row, _table, _write


def bind_portal_dossier(
    engine: Engine,
    portal_code: str,
    dossier_code: str,
    *,
    procedure_code: str,
    via: str,
    portal_received_at: datetime,
    at: datetime | None = None,
) -> tuple[PortalIntakeRow, bool]:
    """Bind `portal_code` to `dossier_code` unless it is bound already; either way count
    the delivery. Returns the row and whether this call bound it (False: an earlier or
    concurrent delivery did, and its `dossier_code` is the one to use)."""
    now = at or _now()
    t = _table(PortalIntakeRow)

    def work(conn: Connection) -> tuple[PortalIntakeRow, bool]:
        ins = (
            _insert(conn, PortalIntakeRow)
            .values(
                portal_code=portal_code,
                dossier_code=dossier_code,
                procedure_code=procedure_code,
                via=via,
                portal_received_at=portal_received_at,
                first_seen_at=now,
                last_seen_at=now,
                deliveries=1,
                started_at=None,
            )
            .on_conflict_do_nothing(index_elements=["portal_code"])
            .returning(*t.c)
        )
        inserted = conn.execute(ins).mappings().one_or_none()
        if inserted is not None:
            return _row(PortalIntakeRow, inserted), True
        stored = (
            conn.execute(
                t.update()
                .where(t.c.portal_code == portal_code)
                .values(deliveries=t.c.deliveries + 1, last_seen_at=now)
                .returning(*t.c)
            )
            .mappings()
            .one()
        )
        return _row(PortalIntakeRow, stored), False

    return _write(engine, work)


def portal_dossier(engine: Engine, portal_code: str) -> PortalIntakeRow | None:
    t = _table(PortalIntakeRow)
    with engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.portal_code == portal_code)).mappings().first()
    return _row(PortalIntakeRow, row) if row is not None else None


def mark_portal_dossier_started(
    engine: Engine, portal_code: str, at: datetime | None = None
) -> None:
    t = _table(PortalIntakeRow)

    def work(conn: Connection) -> None:
        conn.execute(
            t.update()
            .where(t.c.portal_code == portal_code, t.c.started_at.is_(None))
            .values(started_at=at or _now())
        )

    _write(engine, work)


def portal_code_of(engine: Engine, dossier_code: str) -> str | None:
    """The national portal's code of a dossier filed there (None: filed elsewhere)."""
    t = _table(PortalIntakeRow)
    with engine.connect() as conn:
        code = conn.execute(
            select(t.c.portal_code).where(t.c.dossier_code == dossier_code)
        ).scalar_one_or_none()
    return str(code) if code is not None else None


def online_payment_method(engine: Engine, dossier_code: str) -> str | None:
    """The `method` of the dossier's first payment confirmed by a gateway (a `pay` event
    of the system role), recorded so far; None: not paid online."""
    t = _table(EventRow)
    with engine.connect() as conn:
        data = conn.execute(
            select(t.c.data)
            .where(t.c.dossier_code == dossier_code, t.c.kind == "pay", t.c.role == "system")
            .order_by(t.c.seq)
            .limit(1)
        ).scalar_one_or_none()
    if data is None:
        return None
    method = data.get("method") if isinstance(data, dict) else None
    return str(method or "online")


def record_portal_skip(
    engine: Engine,
    portal_code: str,
    via: str,
    reason: str,
    *,
    unavailable: bool = False,
    at: datetime | None = None,
) -> PortalSkippedRow:
    """Keep a portal dossier that could not be started, for the operators; the same
    fault again (a retried round, a second delivery) counts on its row."""
    now = at or _now()
    t = _table(PortalSkippedRow)

    def work(conn: Connection) -> PortalSkippedRow:
        ins = (
            _insert(conn, PortalSkippedRow)
            .values(
                portal_code=portal_code,
                via=via,
                reason=reason,
                unavailable=unavailable,
                first_at=now,
                last_at=now,
                times=1,
            )
            .on_conflict_do_update(
                index_elements=["portal_code", "via", "reason"],
                set_={"times": t.c.times + 1, "last_at": now, "unavailable": unavailable},
            )
            .returning(*t.c)
        )
        return _row(PortalSkippedRow, conn.execute(ins).mappings().one())

    return _write(engine, work)


def portal_skipped(engine: Engine, *, limit: int = 200) -> list[PortalSkippedRow]:
    """The portal dossiers not started, the latest fault first."""
    t = _table(PortalSkippedRow)
    with engine.connect() as conn:
        rows = conn.execute(
            select(t).order_by(t.c.last_at.desc(), t.c.id.desc()).limit(limit)
        ).mappings()
        return [_row(PortalSkippedRow, r) for r in rows]
