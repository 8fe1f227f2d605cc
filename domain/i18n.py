"""What a person reads, in Vietnamese by default and in English on request.

A message is a `Text`: a stable key and its parameters, rendered late, in the reader's
language. Every key lives in one `Catalogue` with both texts; the catalogues are in their
own modules (domain/machine/messages.py for the machine's refusals, services/messages.py,
api/messages.py) and each registers its keys here, so a key travelling as data (a refusal
carried through Temporal as an update failure's details) is rendered where it lands.

    T = Catalogue({"closed": ("Hồ sơ {code} đã kết thúc", "dossier {code} is closed")}, "machine")
    text = T("closed", code="H99.1")
    str(text)            # Vietnamese: "Hồ sơ H99.1 đã kết thúc"
    text.render("en")    # "dossier H99.1 is closed"

A parameter may itself be a `Text` (rendered in the same language); a whole number from
1000 up is grouped the reader's way (12.345.678 in Vietnamese, 12,345,678 in English: give
a year or a code as text); an instant is shown in Vietnamese as
"17:00 15/12/2026" (Asia/Ho_Chi_Minh), a day as "15/12/2026", a `Duration` as
"10 ngày làm việc" (ISO 8601 and "10 working days" in English).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from domain.calendar import VIETNAM_TZ, Duration, TimeUnit
from domain.vietnamese import number

Lang = Literal["vi", "en"]
LANGS: tuple[Lang, ...] = ("vi", "en")
DEFAULT_LANG: Lang = "vi"

# key -> (Vietnamese, English), filled by every Catalogue.
_TEMPLATES: dict[str, tuple[str, str]] = {}


@dataclass(frozen=True)
class Text:
    """A message by key and parameters; `str()` is the Vietnamese."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def render(self, lang: Lang = DEFAULT_LANG) -> str:
        vi, en = _TEMPLATES[self.key]
        template = en if lang == "en" else vi
        return template.format(**{k: _show(v, lang) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render(DEFAULT_LANG)

    def to_json(self) -> dict[str, Any]:
        """Plain data (for a Temporal failure's details): nested texts included."""
        return {
            "key": self.key,
            "params": {k: _to_json(v) for k, v in self.params.items()},
        }

    @classmethod
    def from_json(cls, data: object) -> Text | None:
        """The text `to_json` wrote, or None for anything else (an unknown key, say: a
        newer worker's message, shown then as the failure's own message)."""
        if not isinstance(data, dict) or data.get("key") not in _TEMPLATES:
            return None
        params = data.get("params")
        if not isinstance(params, dict):
            return None
        out: dict[str, Any] = {}
        for k, v in params.items():
            value = _from_json(v)
            if value is _BAD:
                return None
            out[str(k)] = value
        return cls(str(data["key"]), out)


_BAD = object()


def _to_json(value: object) -> object:
    if isinstance(value, Text):
        return value.to_json()
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    if isinstance(value, Duration):
        return {"$duration": [value.value, value.unit.value]}
    return value


def _from_json(value: object) -> object:
    if not isinstance(value, dict):
        return value
    try:
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
        if "$duration" in value:
            amount, unit = value["$duration"]
            return Duration(value=amount, unit=TimeUnit(unit))
    except (TypeError, ValueError):
        return _BAD
    return Text.from_json(value) or _BAD


def _show(value: object, lang: Lang) -> str:
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 1000:
        return number(value) if lang == "vi" else f"{value:,}"
    if isinstance(value, datetime):
        if lang == "en" or value.tzinfo is None:
            return value.isoformat()
        return value.astimezone(ZoneInfo(VIETNAM_TZ)).strftime("%H:%M %d/%m/%Y")
    if isinstance(value, date):
        return value.isoformat() if lang == "en" else value.strftime("%d/%m/%Y")
    if isinstance(value, Duration):
        return value.vi if lang == "vi" else str(value)
    return str(value)


def render(message: Text | str, lang: Lang = DEFAULT_LANG) -> str:
    """A text in `lang`; a plain string (a message from outside the catalogue) as it is."""
    return message.render(lang) if isinstance(message, Text) else message


class Catalogue:
    """One module's messages: key -> (Vietnamese, English). Keys are registered as
    "<prefix>.<key>"; calling the catalogue makes a `Text` (an unknown key fails at once)."""

    def __init__(self, entries: Mapping[str, tuple[str, str]], prefix: str) -> None:
        self.prefix = prefix
        self.entries = {f"{prefix}.{k}": v for k, v in entries.items()}
        for key, texts in self.entries.items():
            if key in _TEMPLATES and _TEMPLATES[key] != texts:
                raise ValueError(f"message key {key} is defined twice")
            _TEMPLATES[key] = texts

    def __call__(self, key: str, /, **params: Any) -> Text:
        full = f"{self.prefix}.{key}"
        if full not in self.entries:
            raise KeyError(f"no message {full}")
        return Text(full, params)

    def __iter__(self) -> Iterator[str]:
        return iter(self.entries)


def templates() -> dict[str, tuple[str, str]]:
    """Every registered key and its texts (for the test that checks both languages)."""
    return dict(_TEMPLATES)
