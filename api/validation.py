"""FastAPI's 422 in the caller's language: each pydantic error as its field path and a
sentence for its type (with the type's limits: max_length, ge, expected, ...), from the
mapping domain/validation.py shares with the catalog and the settings. In English the
pydantic message itself; a validator of ours that raised ValueError with a `Text`
(api/messages.py) is rendered from it in either language."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from api.messages import T as API
from domain.i18n import Lang
from domain.validation import explain


def describe(errors: Iterable[Mapping[str, Any]], lang: Lang) -> str:
    """ "applicant.full_name: bắt buộc phải có; channel: phải là một trong: ..." (at most
    five errors)."""
    parts = []
    for err in list(errors)[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {explain(err, lang)}")
    return "; ".join(parts) or API("invalid_request").render(lang)
