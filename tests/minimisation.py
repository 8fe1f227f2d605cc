"""Searching what leaves motcua (log lines, spans, Temporal metadata) for an applicant's
personal data: tests/api/test_minimisation.py (a live dossier) and
tests/unit/test_privacy.py (the committed histories)."""

from __future__ import annotations

import base64
import json
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote, quote_plus


def without_diacritics(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def name_forms(name: str) -> list[str]:
    """Every form a name could be written down in: as given, upper and lower case,
    decomposed (NFD), without diacritics, and without spaces."""
    plain = without_diacritics(name)
    forms = {
        name,
        name.upper(),
        name.lower(),
        unicodedata.normalize("NFD", name),
        plain,
        plain.upper(),
        plain.lower(),
        plain.replace(" ", ""),
    }
    return sorted(forms)


def escaped_forms(value: str) -> set[str]:
    """`value` as it reads once escaped: in ASCII JSON (`\\u1ecb`), in a bytes repr
    (`\\xe1\\xbb\\x8b`), in protobuf text format (`\\341\\273\\213`), in a URL
    (`Tr%E1%BB%8Bnh+Th%E1%BB%8B`)."""
    data = value.encode()
    octal = "".join(
        chr(b) if 32 <= b < 127 and b not in (34, 39, 92) else f"\\{b:03o}" for b in data
    )
    return {json.dumps(value)[1:-1], repr(data)[2:-1], octal, quote(value), quote_plus(value)}


def found_in(text: str, values: Iterable[str]) -> list[str]:
    """The values in `text`, as they are, without their diacritics, or escaped."""
    out = []
    for value in values:
        if not value:
            continue
        forms = {value, without_diacritics(value), *escaped_forms(value)}
        out += [form for form in sorted(forms) if form in text]
    return out


# Where a payload is metadata rather than data (the codec encrypts data payloads).
METADATA = {"searchAttributes", "memo", "header", "userMetadata"}


def history_text(node: Any, counts: dict[str, int], in_metadata: bool = False) -> Iterator[str]:
    """A history (its JSON form) as text: every field and value, the metadata payloads
    (search attributes, memo, headers, summaries and details) decoded, the data payloads
    (inputs, results, arguments) left out and counted."""
    if isinstance(node, dict):
        if "metadata" in node and set(node) <= {"metadata", "data", "externalPayloads"}:
            if in_metadata:
                counts["metadata"] = counts.get("metadata", 0) + 1
                yield base64.b64decode(node.get("data", "")).decode("utf-8", "replace")
            else:
                counts["data"] = counts.get("data", 0) + 1
            return
        for key, value in node.items():
            yield key
            yield from history_text(value, counts, in_metadata or key in METADATA)
    elif isinstance(node, list):
        for value in node:
            yield from history_text(value, counts, in_metadata)
    elif node is not None:
        yield str(node)
