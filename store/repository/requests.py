"""Request keys: creation idempotency keys and the answers of action requests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine, and_, or_, select
from sqlmodel import Session, SQLModel

from store.models import ActionRequestRow, IdempotencyKeyRow
from store.repository._common import _insert, _now, _row, _table, _write
from store.schemas import IdempotencyClaim, IdempotencyState


def _claim(state: IdempotencyState, row: Mapping[Any, Any]) -> IdempotencyClaim:
    return IdempotencyClaim(
        state=state,
        key=row["key"],
        principal=row["principal"],
        dossier_code=row["dossier_code"],
        created_at=row["created_at"],
    )


def claim_idempotency_key(
    engine: Engine,
    key: str,
    principal: str,
    request_sha256: str,
    *,
    at: datetime | None = None,
    stale_after: timedelta | None = None,
) -> IdempotencyClaim:
    """Claim ``key`` for ``principal``'s request (race-safe: INSERT .. ON CONFLICT DO NOTHING).

    - ``NEW``: the key is now this caller's: create the dossier, then
      ``complete_idempotency_key`` (or ``release_idempotency_key`` on failure);
    - ``COMPLETED``: the same request was done before: ``dossier_code`` is its dossier;
    - ``IN_PROGRESS``: the same request is being handled (claimed, no code yet);
    - ``MISMATCH``: the key was used with a different ``request_sha256`` (409/422).

    With ``stale_after``, a claim left in progress for that long is taken over
    (returned as ``NEW``; exactly one of several concurrent callers wins it).
    """
    if not key or not principal:
        raise ValueError("key and principal are required")
    now = at or _now()
    t = _table(IdempotencyKeyRow)
    this = and_(t.c.key == key, t.c.principal == principal)

    def work(conn: Connection) -> IdempotencyClaim:
        values = {
            "key": key,
            "principal": principal,
            "request_sha256": request_sha256,
            "dossier_code": None,
            "created_at": now,
        }
        ins = (
            _insert(conn, IdempotencyKeyRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["key", "principal"])
            .returning(*t.c)
        )
        inserted = conn.execute(ins).mappings().one_or_none()
        if inserted is not None:
            return _claim(IdempotencyState.NEW, inserted)
        stored = conn.execute(select(t).where(this)).mappings().one()
        if stored["request_sha256"] != request_sha256:
            return _claim(IdempotencyState.MISMATCH, stored)
        if stored["dossier_code"] is not None:
            return _claim(IdempotencyState.COMPLETED, stored)
        if stale_after is not None and stored["created_at"] <= now - stale_after:
            taken = conn.execute(
                t.update()
                .where(
                    this,
                    t.c.dossier_code.is_(None),
                    t.c.created_at == stored["created_at"],
                )
                .values(created_at=now)
            ).rowcount
            if taken == 1:
                return _claim(IdempotencyState.NEW, {**stored, "created_at": now})
        return _claim(IdempotencyState.IN_PROGRESS, stored)

    return _write(engine, work)


def complete_idempotency_key(engine: Engine, key: str, principal: str, dossier_code: str) -> None:
    """Record the dossier created under a ``NEW`` claim (idempotent for the same code).

    Raises ``LookupError`` when the key was never claimed (or was released) and
    ``ValueError`` when it already names another dossier.
    """
    t = _table(IdempotencyKeyRow)
    this = and_(t.c.key == key, t.c.principal == principal)

    def work(conn: Connection) -> None:
        updated = conn.execute(
            t.update()
            .where(this, or_(t.c.dossier_code.is_(None), t.c.dossier_code == dossier_code))
            .values(dossier_code=dossier_code)
        ).rowcount
        if updated:
            return
        stored = conn.execute(select(t.c.dossier_code).where(this)).one_or_none()
        if stored is None:
            raise LookupError(f"idempotency key {key!r} of {principal!r} is not claimed")
        raise ValueError(
            f"idempotency key {key!r} of {principal!r} already names dossier {stored[0]}"
        )

    _write(engine, work)


def release_idempotency_key(engine: Engine, key: str, principal: str) -> bool:
    """Drop a claim still in progress (the dossier could not be created), so a retry
    can claim it again. Completed keys are kept. Returns whether a claim was dropped."""
    t = _table(IdempotencyKeyRow)

    def work(conn: Connection) -> bool:
        stmt = t.delete().where(
            t.c.key == key, t.c.principal == principal, t.c.dossier_code.is_(None)
        )
        return bool(conn.execute(stmt).rowcount)

    return _write(engine, work)


def purge_idempotency_keys(engine: Engine, before: datetime) -> int:
    """Forget keys claimed before ``before`` (retention); returns how many."""
    return _purge_claimed_before(engine, IdempotencyKeyRow, before)


def _purge_claimed_before(engine: Engine, model: type[SQLModel], before: datetime) -> int:
    t = _table(model)

    def work(conn: Connection) -> int:
        return int(conn.execute(t.delete().where(t.c.created_at < before)).rowcount or 0)

    return _write(engine, work)


def get_idempotency_key(engine: Engine, key: str, principal: str) -> IdempotencyKeyRow | None:
    with Session(engine, expire_on_commit=False) as s:
        return s.get(IdempotencyKeyRow, (key, principal))


def claim_action_request(
    engine: Engine, dossier_code: str, principal: str, key: str, request_sha256: str
) -> tuple[bool, ActionRequestRow]:
    """Claim ``key`` for ``principal``'s action on ``dossier_code`` (race-safe: INSERT ..
    ON CONFLICT DO NOTHING). Returns (new, row): ``new`` when this call claimed it; else
    the stored row, whose ``request_sha256`` tells a retry from another request and whose
    ``status_code`` (None while the first request is under way) holds its answer."""
    if not key or not principal:
        raise ValueError("key and principal are required")
    t = _table(ActionRequestRow)
    values = {
        "dossier_code": dossier_code,
        "principal": principal,
        "key": key,
        "request_sha256": request_sha256,
        "status_code": None,
        "response": None,
        "created_at": _now(),
        "answered_at": None,
    }

    def work(conn: Connection) -> tuple[bool, ActionRequestRow]:
        ins = (
            _insert(conn, ActionRequestRow)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["dossier_code", "principal", "key"])
            .returning(*t.c)
        )
        inserted = conn.execute(ins).mappings().one_or_none()
        if inserted is not None:
            return True, _row(ActionRequestRow, inserted)
        stored = (
            conn.execute(
                select(t).where(
                    t.c.dossier_code == dossier_code, t.c.principal == principal, t.c.key == key
                )
            )
            .mappings()
            .one()
        )
        return False, _row(ActionRequestRow, stored)

    return _write(engine, work)


def answer_action_request(
    engine: Engine,
    dossier_code: str,
    principal: str,
    key: str,
    status_code: int,
    response: dict[str, Any],
) -> ActionRequestRow | None:
    """Keep the answer of a claimed action request; the first answer kept wins (two
    concurrent retries got the same outcome from the workflow). Returns the stored row."""
    t = _table(ActionRequestRow)
    this = and_(t.c.dossier_code == dossier_code, t.c.principal == principal, t.c.key == key)
    body = to_jsonable_python(response)

    def work(conn: Connection) -> ActionRequestRow | None:
        conn.execute(
            t.update()
            .where(this, t.c.status_code.is_(None))
            .values(status_code=status_code, response=body, answered_at=_now())
        )
        stored = conn.execute(select(t).where(this)).mappings().one_or_none()
        return None if stored is None else _row(ActionRequestRow, stored)

    return _write(engine, work)


def purge_action_requests(engine: Engine, before: datetime) -> int:
    """Forget action keys claimed before ``before`` (retention); returns how many."""
    return _purge_claimed_before(engine, ActionRequestRow, before)
