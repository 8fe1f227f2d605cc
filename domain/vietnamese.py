"""Numbers as a Vietnamese reader writes them (what API messages, the CLI and the forms
show): thousands grouped with a dot, decimals after a comma."""

from __future__ import annotations


def number(n: int) -> str:
    """12345678 -> "12.345.678"."""
    return f"{n:,}".replace(",", ".")
