"""Mergers of agencies: the open dossiers that still have work at an agency."""

from __future__ import annotations

from sqlalchemy import Engine, String, cast, or_
from sqlmodel import col
from sqlmodel import select as sm_select

from store.models import DossierRow
from store.repository._common import _read


def open_dossiers_at(engine: Engine, agency: str) -> list[str]:
    """Codes of the open dossiers whose competent agency, current step or any step is at
    `agency` (oldest first): those a merger of `agency` may have to move. The dossier's
    own machine decides whether work is left there (a step it finished is not)."""
    stmt = (
        sm_select(DossierRow.code)
        .where(
            col(DossierRow.closed_at).is_(None),
            or_(
                col(DossierRow.competent_agency) == agency,
                col(DossierRow.current_agency) == agency,
                # the JSON list of step agencies, as text: the code in quotes
                cast(col(DossierRow.step_agencies), String).like(f'%"{agency}"%'),
            ),
        )
        .order_by(col(DossierRow.submitted_at), col(DossierRow.code))
    )
    return list(_read(engine, stmt))
