"""Shared by every aggregate: dialect upserts, lock-retrying writes, payloads made rows."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine, Table
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel
from sqlmodel import select as sm_select

from store.db import SQLITE_BEGIN_OPTION

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
R = TypeVar("R", bound=SQLModel)

SQLITE_LOCK_RETRIES = 12


def _table(model: type[SQLModel]) -> Table:
    return model.__table__  # type: ignore[attr-defined, no-any-return]


def _insert(conn: Connection, model: type[SQLModel]) -> Any:
    """The dialect's INSERT (with on_conflict_do_nothing / on_conflict_do_update)."""
    name = conn.dialect.name
    if name == "postgresql":
        return pg_dialect.insert(_table(model))
    if name == "sqlite":
        return sqlite_dialect.insert(_table(model))
    raise NotImplementedError(f"upserts are not implemented for {name!r}")


def _is_sqlite_lock(exc: OperationalError) -> bool:
    msg = str(exc.orig or exc).lower()
    return (
        "database is locked" in msg
        or "database is busy" in msg
        or "database table is locked" in msg
    )


def _write(engine: Engine, work: Callable[[Connection], T]) -> T:
    """Run ``work`` in its own transaction (BEGIN IMMEDIATE on SQLite), retrying SQLite lock errors."""
    attempt = 0
    while True:
        try:
            with engine.connect() as conn:
                conn.execution_options(**{SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                with conn.begin():
                    return work(conn)
        except OperationalError as exc:
            attempt += 1
            if (
                engine.dialect.name != "sqlite"
                or not _is_sqlite_lock(exc)
                or attempt >= SQLITE_LOCK_RETRIES
            ):
                raise
            time.sleep(min(0.02 * 2**attempt, 1.0) * (0.5 + random.random()))


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def _coerce(obj: BaseModel | Mapping[str, Any], schema: type[M]) -> M:
    """Validate a payload, a SQLModel row or a mapping into ``schema`` (applies defaults)."""
    if isinstance(obj, schema):
        return obj
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    return schema.model_validate(dict(obj))


def _values(payload: BaseModel, model: type[SQLModel], **overrides: Any) -> dict[str, Any]:
    """Column values of ``model`` taken from ``payload`` (enums as plain strings, JSON made jsonable)."""
    columns = _table(model).c
    raw = {**payload.model_dump(), **overrides}
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in columns:
            continue
        if key == "data":
            value = to_jsonable_python(value)
        out[key] = _plain(value)
    return out


def _row(model: type[R], mapping: Mapping[Any, Any]) -> R:
    return model.model_validate(dict(mapping))


def _now() -> datetime:
    return datetime.now(UTC)


def _insert_ignoring_duplicates(
    engine: Engine, model: type[SQLModel], schema: type[M], records: Iterable[Any]
) -> None:
    """Store `records` (each a `schema`, a `model` row or a mapping) as rows of `model`;
    ids already stored are ignored (first write wins)."""
    rows = [_values(_coerce(r, schema), model) for r in records]
    if not rows:
        return

    def work(conn: Connection) -> None:
        conn.execute(_insert(conn, model).on_conflict_do_nothing(index_elements=["id"]), rows)

    _write(engine, work)


def _read(engine: Engine, stmt: Any) -> list[Any]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(stmt).all())


def _rows_in_order(engine: Engine, key: Any, value: Any, by: Any) -> list[Any]:
    """The rows whose column `key` (a model's attribute, e.g. ``OutboxRow.dossier_code``)
    equals `value`, in `by` order, ties in the order they were stored (by id)."""
    model = key.class_
    return _read(engine, sm_select(model).where(key == value).order_by(by, model.id))
