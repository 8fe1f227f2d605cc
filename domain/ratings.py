"""The rating code printed on a dossier's receipt (Form 01): what binds a rating made at
the counter's kiosk, without a login, to the dossier it is about.

The code is the first 40 bits of HMAC-SHA256(secret, dossier code), written as eight
characters of Crockford's base32 (no I, L, O, U: nothing to misread on paper) in two
groups, `ABCD-EFGH`. Whoever holds the receipt holds the code; a stranger who knows a
dossier code (they are sequential) cannot rate it. Typing is forgiving: case, spaces,
dashes and the look-alikes O/0, I/L/1 do not matter."""

from __future__ import annotations

import hashlib
import hmac

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32
_LOOK_ALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
LENGTH = 8


def rating_code(secret: bytes, dossier_code: str) -> str:
    """The receipt's rating code for a dossier: `ABCD-EFGH`."""
    digest = hmac.new(secret, b"rating:" + dossier_code.encode(), hashlib.sha256).digest()
    bits = int.from_bytes(digest[:5], "big")  # 40 bits: eight base32 characters
    chars = "".join(ALPHABET[(bits >> (5 * (LENGTH - 1 - i))) & 31] for i in range(LENGTH))
    return f"{chars[:4]}-{chars[4:]}"


def normalise(typed: str) -> str:
    """What a person typed, as the code is written: upper case, without separators,
    look-alikes read as the digits they stand for."""
    kept = "".join(c for c in typed.upper() if c.isalnum()).translate(_LOOK_ALIKES)
    return f"{kept[:4]}-{kept[4:]}" if len(kept) == LENGTH else kept


def matches(secret: bytes, dossier_code: str, typed: str) -> bool:
    """Whether `typed` is the dossier's rating code (compared in constant time)."""
    # As bytes: compare_digest refuses str with non-ASCII characters, and anything may be typed.
    expected = rating_code(secret, dossier_code).encode()
    return hmac.compare_digest(expected, normalise(typed).encode())
