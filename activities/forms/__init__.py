"""The one-stop documents of Circular 03/2025/TT-VPCP Annex I, and each
procedure's result document, rendered as PDF.

* Forms 01-05 come from a dossier event whose data names the form (`render_form`).
* Form 06, the control slip (Phiếu kiểm soát quá trình giải quyết hồ sơ), is built from
  the dossier's steps and events (`render_control_slip`, rows by `control_slip_rows`).
* Form 07, the tracking book (Sổ theo dõi hồ sơ), lists an agency's dossiers
  (`render_tracking_book`).
* The result (permit, certificate or refusal decision) comes from `render_result`.

Every document is a pure function of its inputs, so an activity retry produces the
same bytes and SHA-256; the PDF Keywords carry ``motcua-dossier=<code>`` and
``motcua-document=<form>`` for the verifier. Layout lives in ``activities.pdf``.

One file per family of forms; callers import from ``activities.forms``:

- ``notices``: forms 01-05 (receipt, supplement, refusal, apology for delay, stop);
- ``control_slip``: form 06 and its hand-over rows;
- ``tracking_book``: form 07;
- ``result``: the procedure's result document;
- ``_common``: what they share (titles, ``RenderedDocument``, ``Issuers``, Vietnamese
  dates, the QR payload, rendering to bytes with their SHA-256).
"""

from __future__ import annotations

from activities.forms._common import (
    CIRCULAR,
    FORM_TITLES,
    TZ,
    Issuers,
    RenderedDocument,
    verify_url,
)
from activities.forms._common import _place_date as _place_date  # tests/unit/test_pdf.py
from activities.forms._common import _when as _when  # tests/unit/test_pdf.py
from activities.forms.control_slip import (
    ROLE_LABELS,
    VERDICT_LABELS,
    HandoverRow,
    control_slip_rows,
    render_control_slip,
)
from activities.forms.notices import render_form
from activities.forms.result import COMPLAINTS_LAW, ResultInfo, render_result
from activities.forms.tracking_book import BookRow, render_tracking_book

__all__ = [
    "CIRCULAR",
    "COMPLAINTS_LAW",
    "FORM_TITLES",
    "ROLE_LABELS",
    "TZ",
    "VERDICT_LABELS",
    "BookRow",
    "HandoverRow",
    "Issuers",
    "RenderedDocument",
    "ResultInfo",
    "control_slip_rows",
    "render_control_slip",
    "render_form",
    "render_result",
    "render_tracking_book",
    "verify_url",
]
