"""The applicant's personal data: how it is masked for whoever has no right to read it, and
how it is kept out of logs and traces (docs/personal-data.md).

Personal data of a dossier is its applicant's name, ID number (CMND/CCCD), phone, e-mail and
address (`domain.dossier.Applicant`). It travels inside Temporal payloads and lives in the
read model; everywhere else (workflow ids, search attributes, summaries, log lines, span
attributes, metric labels) a dossier is named by its code and procedure only.

Masks keep just enough for the applicant to recognise their own dossier:

- ID number `001099012345` -> `0010******45` (the first four and last two digits);
- name `Nguyễn Văn An` -> `N*** V*** A***` (each word's initial);
- phone `0912345678` -> `09******78`; e-mail `an.nguyen@example.vn` -> `a***@example.vn`;
- address: hidden (None).

`redact()` is the last line of defence for free text that leaves the process (log lines,
exception traces, span attributes and events): it blanks what looks like an ID number, a
phone number or an e-mail address, the values pydantic echoes in validation errors, the
bound parameters SQLAlchemy prints with a failed statement, and URL query strings (public
tracking takes the ID number there, a search takes a name). A name cannot be recognised by
its shape: the code must never log one, and tests/api/test_minimisation.py checks that a
whole dossier's logs, spans, metrics and Temporal metadata hold none.
"""

from __future__ import annotations

import re

HIDDEN = "***"


def mask_id_number(value: str) -> str:
    """`001099012345` -> `0010******45`; a 9-digit CMND `022090001` -> `022****01`."""
    if not value:
        return ""
    keep_start = 4 if len(value) >= 12 else 3 if len(value) >= 9 else 1
    keep_end = 2 if len(value) >= 6 else 0
    hidden = len(value) - keep_start - keep_end
    if hidden <= 0:
        return "*" * len(value)
    return value[:keep_start] + "*" * hidden + value[len(value) - keep_end :]


def mask_name(value: str) -> str:
    """Each word reduced to its initial: `Nguyễn Văn An` -> `N*** V*** A***`."""
    return " ".join(word[0] + HIDDEN for word in value.split())


def mask_phone(value: str) -> str:
    """`0912345678` -> `09******78` (spaces dropped); short numbers entirely hidden."""
    digits = "".join(c for c in value if c.isdigit() or c == "+")
    if not digits:
        return ""
    if len(digits) < 8:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask_email(value: str) -> str:
    """`an.nguyen@example.vn` -> `a***@example.vn`."""
    if not value:
        return ""
    local, at, domain = value.partition("@")
    if not at:
        return HIDDEN
    return f"{local[:1]}{HIDDEN}@{domain}"


# --------------------------------------------------------------------------- redaction

_REDACTED = "<redacted>"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # pydantic: "[type=string_too_short, input_value='Nguyễn Văn An', input_type=str]"
    (re.compile(r"input_value=.*?(?=, input_type=)", re.S), f"input_value={_REDACTED}"),
    # SQLAlchemy: "[parameters: ('Nguyễn Văn An', '001099012345', ...)]"
    (re.compile(r"\[parameters: .*?\](?=\s*(?:\n|\(Background|$))", re.S), "[parameters hidden]"),
    # PostgreSQL: "DETAIL:  Key (applicant_id_number)=(001099012345) already exists."
    (re.compile(r"(Key \([^)]*\))=\(.*?\)(?= |$)", re.M), rf"\1=({_REDACTED})"),
    # A URL's query string: "/v1/track/X?id_number=001099012345", "/v1/dossiers?q=Nguyễn"
    (re.compile(r"\?(?:[\w.%\[\]-]+=[^\s\"'&#]*&?)+"), "?" + _REDACTED),
    # e-mail addresses (an alphabetic top-level domain: actor ids like "x@000.00.01.H99" stay)
    (re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}\b"), "<email>"),
    # Vietnamese phone numbers: 0xxxxxxxxx or +84xxxxxxxxx (spaces or dots allowed)
    (re.compile(r"(?<![\w.+-])(?:\+84|0)(?:[ .]?\d){9}(?![\w-])"), "<phone>"),
    # ID numbers: 12 digits (CCCD) or 9 (CMND) standing alone
    (re.compile(r"(?<![\w.-])(?:\d{12}|\d{9})(?![\w-])"), "<id-number>"),
)


def redact(text: str) -> str:
    """`text` without what looks like personal data (see the module's docstring)."""
    if not text:
        return text
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


# Span attribute keys that may not carry a value at all, whatever it looks like.
_PERSONAL_KEY_PARTS = ("applicant", "id_number", "citizen", "phone", "email", "e-mail")


def personal_key(key: str) -> bool:
    """Whether an attribute named `key` would carry personal data (applicant.name, ...)."""
    lowered = key.lower()
    return any(part in lowered for part in _PERSONAL_KEY_PARTS)
