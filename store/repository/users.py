"""Users seen: who signed in, when, with which roles and agency."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, case
from sqlmodel import Session, col
from sqlmodel import select as sm_select

from store.models import UserSeenRow
from store.repository._common import _insert, _now, _plain, _row, _table, _write


def touch_user(
    engine: Engine,
    sub: str,
    name: str,
    roles: Iterable[str],
    agency: str | None,
    at: datetime | None = None,
) -> UserSeenRow:
    """Record that user ``sub`` was seen at ``at`` (now by default) and return the row.

    ``first_seen`` keeps the earliest time, ``last_seen`` the latest; name,
    roles and agency come from the latest sighting (an older, late write does
    not overwrite them).
    """
    if not sub:
        raise ValueError("sub is required")
    seen = at or _now()
    role_list = list(dict.fromkeys(str(_plain(r)) for r in roles))
    t = _table(UserSeenRow)

    def work(conn: Connection) -> UserSeenRow:
        ins = _insert(conn, UserSeenRow).values(
            sub=sub, name=name, roles=role_list, agency=agency, first_seen=seen, last_seen=seen
        )
        new = ins.excluded
        newer = new.last_seen >= t.c.last_seen
        ins = ins.on_conflict_do_update(
            index_elements=["sub"],
            set_={
                "name": case((newer, new.name), else_=t.c.name),
                "roles": case((newer, new.roles), else_=t.c.roles),
                "agency": case((newer, new.agency), else_=t.c.agency),
                "last_seen": case((newer, new.last_seen), else_=t.c.last_seen),
                "first_seen": case(
                    (new.first_seen < t.c.first_seen, new.first_seen), else_=t.c.first_seen
                ),
            },
        ).returning(*t.c)
        return _row(UserSeenRow, conn.execute(ins).mappings().one())

    return _write(engine, work)


def get_user(engine: Engine, sub: str) -> UserSeenRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(UserSeenRow, sub)


def officers_of(engine: Engine, agency: str, role: str | None = None) -> list[UserSeenRow]:
    """The users seen with an ``agency`` claim of ``agency`` (and ``role`` among their roles,
    when given), by name: whom a leader may assign a step to."""
    with Session(engine, expire_on_commit=False) as s:
        rows = s.exec(sm_select(UserSeenRow).where(col(UserSeenRow.agency) == agency)).all()
    found = [r for r in rows if role is None or role in (r.roles or [])]
    return sorted(found, key=lambda r: (r.name or r.sub, r.sub))
