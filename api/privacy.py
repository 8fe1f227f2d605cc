"""Who sees the applicant's personal data, and what everyone else sees instead
(docs/personal-data.md, "Who sees personal data").

One rule, `can_see_personal_data`: the applicant themself, the officers of an agency on the
dossier (its centre, its competent agency, the agency of any of its steps: the agencies
that may read it, `_may_read` in api/routes/dossiers/_common.py) and auditors see the name, ID
number, phone, e-mail and address in clear. Everyone else who may read the dossier sees
them masked (`infra.privacy`): today that is an administrator who is not also an auditor.
Public tracking, with no token, shows none of them, not even masked.

Every route that answers with personal data passes it through the functions below, so
that the rule and the masks live here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from api.auth import OFFICER_ROLES, Principal
from api.schemas import ApplicantOut, EventOut, RefusedAttemptOut
from domain.catalog import Role
from domain.dossier import Applicant
from infra.privacy import HIDDEN, mask_email, mask_id_number, mask_name, mask_phone


def can_see_personal_data(
    principal: Principal | None,
    *,
    applicant_account: str | None,
    agencies: Iterable[str | None],
) -> bool:
    """May `principal` (None: public tracking) read the applicant's personal data in clear
    on a dossier of `applicant_account` that the `agencies` are on?"""
    if principal is None:
        return False
    if principal.is_auditor:
        return True
    if principal.has(Role.APPLICANT) and applicant_account and applicant_account == principal.sub:
        return True
    officer = any(principal.has(r) for r in OFFICER_ROLES)
    return officer and principal.agency is not None and principal.agency in set(agencies)


class DossierRecord(Protocol):
    """A read-model row of a dossier (store.models.DossierRow, store.schemas.DossierItem)."""

    @property
    def applicant_account(self) -> str | None: ...
    @property
    def centre_agency(self) -> str: ...
    @property
    def competent_agency(self) -> str: ...
    @property
    def current_agency(self) -> str | None: ...


def row_shows_personal_data(principal: Principal | None, row: DossierRecord) -> bool:
    """`can_see_personal_data` judged on a read-model row (lists, the worklist, the tracking
    book): its agencies are the centre, the competent agency and the current step's, the
    same the list's scope uses (docs/authorization.md D4)."""
    return can_see_personal_data(
        principal,
        applicant_account=row.applicant_account,
        agencies=(row.centre_agency, row.competent_agency, row.current_agency),
    )


def shown_applicant(applicant: Applicant, visible: bool) -> ApplicantOut:
    """The applicant of a dossier's detail, in clear or masked."""
    if visible:
        return ApplicantOut(
            masked=False,
            name=applicant.name,
            id_number=applicant.id_number,
            phone=applicant.phone,
            email=applicant.email,
            address=applicant.address,
        )
    return ApplicantOut(
        masked=True,
        name=mask_name(applicant.name),
        id_number=mask_id_number(applicant.id_number),
        phone=mask_phone(applicant.phone),
        email=mask_email(applicant.email),
        address=None,
    )


def shown_name(name: str, visible: bool) -> str:
    """The applicant's name in a list row, the worklist or the tracking book."""
    return name if visible else mask_name(name)


# Keys of an event's data that hold the applicant's (or their proxy's) personal data:
# the return's receiver, postal address and power of attorney.
PERSONAL_EVENT_DATA = {"received_by": mask_name, "address": None, "authorization": None}


def shown_event_data(data: Mapping[str, Any], visible: bool) -> dict[str, Any]:
    """An event's data, its personal values masked (a name) or hidden (anything else)."""
    if visible:
        return dict(data)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in PERSONAL_EVENT_DATA and isinstance(value, str) and value:
            mask = PERSONAL_EVENT_DATA[key]
            out[key] = mask(value) if mask else HIDDEN
        else:
            out[key] = value
    return out


def shown_event(event: EventOut, visible: bool) -> EventOut:
    """An event as the caller may see it: its personal data and, when the applicant
    acted, the applicant's name (their token's) masked."""
    if visible:
        return event
    name = mask_name(event.actor_name) if event.role == Role.APPLICANT else event.actor_name
    return event.model_copy(
        update={"data": shown_event_data(event.data, visible=False), "actor_name": name}
    )


def shown_attempt(attempt: RefusedAttemptOut, visible: bool) -> RefusedAttemptOut:
    """A refused attempt as the caller may see it: the applicant's name masked."""
    if visible or attempt.role != Role.APPLICANT:
        return attempt
    return attempt.model_copy(update={"actor_name": mask_name(attempt.actor_name)})
