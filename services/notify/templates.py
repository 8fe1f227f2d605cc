"""What a notification says, per channel: Vietnamese text from the templates beside this
module (services/notify/templates/, plain text, Jinja2), filled from the outbox row.

The row already holds the message (activities/notifications.py: subject, and a body with
the dossier code and dates as dd/mm/yyyy in Asia/Ho_Chi_Minh). The templates add the
greeting, the time of the event, the public tracking page and the sender. Nothing else
about the applicant goes in: no name, no ID number (the tracking page asks for it)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.calendar import VIETNAM_TZ
from store.models import OutboxRow

TZ = ZoneInfo(VIETNAM_TZ)
TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=False,  # plain text, never HTML
    undefined=StrictUndefined,
    keep_trailing_newline=False,
)

# SMS segment sizes: GSM-7 160 characters alone, 153 in a concatenated message; UCS-2
# (text with Vietnamese accents) 70 and 67.
GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
ELLIPSIS = "..."


@dataclass(frozen=True)
class Email:
    subject: str
    body: str


def tracking_url(public_base_url: str, code: str) -> str:
    """The public tracking page with the dossier code filled in (it still asks for the
    applicant's ID number, so the link reveals nothing by itself)."""
    return f"{public_base_url.rstrip('/')}/ui/track?code={quote(code, safe='-._~')}"


def _local(at: datetime) -> str:
    return f"{at.astimezone(TZ):%H:%M %d/%m/%Y}"


def email(row: OutboxRow, *, base_url: str | None, signature: str) -> Email:
    values = {
        "code": row.dossier_code,
        "subject": row.subject,
        "body": row.body.strip(),
        "at": _local(row.created_at),
        "tracking_url": tracking_url(base_url, row.dossier_code) if base_url else "",
        "signature": signature,
    }
    subject = _ENV.get_template("email_subject.txt").render(values).strip()
    body = _ENV.get_template("email_body.txt").render(values).strip() + "\n"
    return Email(subject=" ".join(subject.split()), body=body)


def unaccented(text: str) -> str:
    """Vietnamese without its marks, for GSM-7 SMS: `Hồ sơ đã được tiếp nhận` ->
    `Ho so da duoc tiep nhan`. Characters GSM-7 lacks become their nearest ASCII, or `?`."""
    text = text.replace("đ", "d").replace("Đ", "D")
    for dash in ("–", "—"):
        text = text.replace(dash, "-")
    text = text.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
    stripped = "".join(
        c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn"
    )
    return "".join(c if c.isascii() else "?" for c in unicodedata.normalize("NFC", stripped))


def sms_limit(*, unicode: bool, segments: int) -> int:
    """The most characters `segments` SMS segments carry."""
    if unicode:
        return UCS2_SINGLE if segments == 1 else UCS2_PART * segments
    return GSM7_SINGLE if segments == 1 else GSM7_PART * segments


def _cut(text: str, size: int) -> str:
    """`text` in at most `size` characters, cut at a word with an ellipsis."""
    if len(text) <= size:
        return text
    room = max(size - len(ELLIPSIS), 0)
    head = text[:room]
    if " " in head:
        head = head.rsplit(" ", 1)[0]
    return head.rstrip(" ,.;:") + ELLIPSIS


def sms(row: OutboxRow, *, base_url: str | None, unicode: bool, segments: int) -> str:
    """The SMS text: the row's body and the tracking link, within `segments` segments
    (the body is cut at a word when it does not fit; the link is dropped only when not
    even the dossier code would fit beside it)."""
    limit = sms_limit(unicode=unicode, segments=segments)
    template = _ENV.get_template("sms.txt")
    shape = (lambda t: t) if unicode else unaccented
    body = " ".join(row.body.split())
    if body and not body.endswith((".", "!", "?", ELLIPSIS)):
        body += "."  # an officer's comment ends the body, often without a full stop
    url = tracking_url(base_url, row.dossier_code) if base_url else ""
    text = shape(template.render(body=body, tracking_url=url).strip())
    if len(text) <= limit:
        return text
    frame = len(shape(template.render(body="", tracking_url=url).strip())) + 1
    if limit - frame < len(row.dossier_code) + 40:
        url, frame = "", 0
    short = _cut(shape(body), limit - frame)
    return _cut(shape(template.render(body=short, tracking_url=url).strip()), limit)
