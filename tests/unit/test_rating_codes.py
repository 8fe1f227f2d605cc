"""The receipt's rating code (domain/ratings.py): stable per dossier and key, different
across dossiers and keys, forgiving of how it is typed, and never an error on what a
stranger types (non-ASCII text included)."""

from __future__ import annotations

import re

from domain.ratings import matches, normalise, rating_code

KEY = b"k" * 32
CODE = "000.00.20.H99-261207-0001"


def test_a_code_per_dossier_and_key() -> None:
    code = rating_code(KEY, CODE)
    assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}", code)
    assert rating_code(KEY, CODE) == code
    assert rating_code(KEY, CODE[:-1] + "2") != code
    assert rating_code(b"other" * 8, CODE) != code


def test_typed_loosely_it_still_matches() -> None:
    code = rating_code(KEY, CODE)
    assert matches(KEY, CODE, code)
    assert matches(KEY, CODE, f"  {code.lower().replace('-', ' ')} ")
    assert normalise("ab1o-ilx0") == "AB10-11X0"  # O, I, L read as 0, 1, 1


def test_anything_else_is_no_match_never_an_error() -> None:
    for typed in ("", "AAAA-AAAA", "𪪰ºñ¤låR\n/", "\x00" * 8, "x" * 1000):
        assert matches(KEY, CODE, typed) is False
