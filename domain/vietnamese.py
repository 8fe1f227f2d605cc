"""Numbers as a Vietnamese reader writes them (what API messages, the CLI and the forms
show): thousands grouped with a dot, decimals after a comma."""

from __future__ import annotations

import unicodedata


def number(n: int) -> str:
    """12345678 -> "12.345.678"."""
    return f"{n:,}".replace(",", ".")


def decimal(x: float) -> str:
    """2.5 -> "2,5"; 10.0 -> "10"; 12345.0 -> "12.345"."""
    if x == int(x):
        return number(int(x))
    whole, _, frac = f"{x}".partition(".")
    return f"{number(int(whole))},{frac}"


UNITS = {
    "working_days": "ngày làm việc",
    "working_hours": "giờ làm việc",
    "calendar_days": "ngày",
}


def duration(text: str) -> str:
    """A duration as `str(Duration)` writes it ("15 working days", "0.5 working hours")
    in Vietnamese: "15 ngày làm việc", "0,5 giờ làm việc"; "—" for none."""
    text = text.strip()
    if not text:
        return "—"
    amount, _, unit = text.partition(" ")
    try:
        shown = decimal(float(amount))
    except ValueError:
        shown = amount
    return f"{shown} {UNITS.get(unit.replace(' ', '_'), unit)}".strip()


# A step's verdict (domain.dossier's `verdict`) as an officer says it.
VERDICTS = {"early": "trước hạn", "on_time": "đúng hạn", "late": "quá hạn"}


def fold(text: str) -> str:
    """Vietnamese as a citizen types it without marks, for matching: lower case, tone and
    vowel marks dropped, đ/Đ as d, any Unicode form (NFC or NFD input) alike:
    "Cấp Phiếu lý lịch tư pháp" -> "cap phieu ly lich tu phap"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
