"""Database failures reported to Temporal in a line, not a stack trace.

An activity's failure is stored in the workflow's history and shown in the Temporal UI.
A database error raised as it is carries two chained stack traces and the driver's
message; past Temporal's failure size limit the UI shows only "Failure exceeds size
limit." and the operator loses the cause. The full error goes to the worker's log; the
failure keeps its kind and first line, and stays retryable (the retry policy decides)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import SQLAlchemyError
from temporalio.exceptions import ApplicationError

log = logging.getLogger(__name__)

MAX_MESSAGE = 300


def short(exc: BaseException) -> str:
    """The error's kind and the first line of its message, at most MAX_MESSAGE long."""
    original = getattr(exc, "orig", None) or exc
    first = (str(original).strip().splitlines() or [""])[0]
    text = f"{type(original).__name__}: {first}"
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 3] + "..."


@contextmanager
def database_errors(what: str) -> Iterator[None]:
    """Turn a database error inside the block into a short, retryable ApplicationError."""
    try:
        yield
    except SQLAlchemyError as exc:
        log.warning("%s failed: the database refused or is unreachable", what, exc_info=True)
        raise ApplicationError(
            f"{what}: database unavailable or refused: {short(exc)}",
            type="DatabaseError",
        ) from None
