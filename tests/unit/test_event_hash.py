"""The events' hash covers every field, proven field by field.

The fields are taken from the model class itself (`Event.model_fields`), so a field added
later is covered by these tests as soon as it exists: each one in turn is changed on one
event of a real dossier's chain, and the event's hash must change and the chain must
fail verification over the read-model rows alone (without the workflow history to
compare against). A field of a type `_another` does not know fails the test until it
is taught, never silently passes."""

from __future__ import annotations

import enum
import types
import typing
from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.dossier import Action, ActionInput, Event
from domain.machine import DossierMachine
from services.audit.integrity import verify_record
from store.models import EventRow
from tests.factories import AGENCY, CENTRE, anchor_monday, dossier_input, local, officer
from tests.factories import synthetic_calendar as calendar_from

CODE = "H99.01-300107-0001"
HASHED = [f for f in Event.model_fields if f != "hash"]  # `hash` is the result


def chain() -> list[Event]:
    """A real dossier's first events, as the workflow emits them (chained)."""
    monday = anchor_monday(datetime(2030, 1, 1))
    cal = calendar_from(monday)
    submitted = local(monday, 9)
    m = DossierMachine(dossier_input(CODE, submitted, cal))
    m.start(submitted)
    m.apply(
        Action.ACCEPT,
        ActionInput(actor=officer("intake_officer", CENTRE), comment="Hồ sơ đầy đủ"),
        submitted + timedelta(minutes=5),
    )
    events = m.drain()
    assert len(events) >= 3 and all(e.hash for e in events)
    assert any(e.agency == AGENCY or e.agency == CENTRE for e in events)
    return events


def rows(events: list[Event]) -> list[EventRow]:
    """The read model's rows of these events, as the projection writes them."""
    from store.repository import _values

    return [EventRow.model_validate(_values(e, EventRow)) for e in events]


def _another(value: Any, annotation: Any) -> Any:
    """A value of the field's type that differs from `value`."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if value is None:
            return _another(None, options[0])
        return None if type(None) in typing.get_args(annotation) else _another(value, options[0])
    if origin is dict or annotation is dict:
        return {**(value or {}), "them": "giá trị khác"}
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(m for m in annotation if m != value)
    if annotation is str:
        return (value or "") + "x"
    if annotation is int:
        return (value or 0) + 1
    if annotation is datetime:
        return (value or datetime(2030, 1, 1).astimezone()) + timedelta(seconds=1)
    raise AssertionError(f"teach _another a value of {annotation!r}: a new Event field?")


def test_every_stored_column_is_an_event_field_and_back() -> None:
    """A column outside the hash would not be protected; a field without a column could
    not be verified from the read model."""
    assert set(EventRow.model_fields) == set(Event.model_fields)


def test_the_chain_of_a_real_dossier_verifies() -> None:
    events = chain()
    report = verify_record(CODE, rows(events), None)
    assert report.intact and report.chained_events == len(events), report.problems


@pytest.mark.parametrize("field", HASHED)
def test_changing_any_field_changes_the_hash_and_breaks_the_chain(field: str) -> None:
    events = chain()
    middle = 1
    original = events[middle]
    value = _another(getattr(original, field), Event.model_fields[field].annotation)
    edited = original.model_copy(update={field: value})
    assert getattr(edited, field) != getattr(original, field)
    assert edited.content_hash(edited.prev_hash) != original.hash, f"{field} is not hashed"
    tampered = [*events[:middle], edited, *events[middle + 1 :]]
    report = verify_record(CODE, rows(tampered), None)
    assert not report.intact, f"a changed {field} passes the chain"
