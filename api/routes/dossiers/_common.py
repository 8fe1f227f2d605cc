"""What the dossier routes share: the router, who may see a dossier, the documents sent."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends
from sqlalchemy.exc import DBAPIError, DisconnectionError

from api.auth import Principal
from api.deps import AppContext, record_user
from api.errors import ERROR_RESPONSES, STATUS_FOR_CODE, ApiError, reason_of
from api.messages import T
from api.privacy import can_see_personal_data
from api.schemas import DocumentIn
from api.uploads import Uploads
from domain.catalog import Role
from domain.dossier import Action, ActionInput, DocumentRef, DossierView
from infra.docstore import UploadRefused, validate_upload
from services.dossiers import ServiceError
from store import repository
from store.models import DossierRow

log = logging.getLogger("motcua.api")

router = APIRouter(
    prefix="/dossiers",
    tags=["dossiers"],
    responses=ERROR_RESPONSES,
    dependencies=[Depends(record_user)],
)

OFFICER_ROLES = {
    Role.INTAKE_OFFICER,
    Role.SPECIALIST,
    Role.LEADER,
    Role.SIGNER,
    Role.RETURN_OFFICER,
}


def _service_error(exc: ServiceError) -> ApiError:
    return ApiError(STATUS_FOR_CODE.get(exc.code, 400), exc.code, exc.text or exc.message)


def _may_read(principal: Principal, applicant_account: str | None, agencies: set[str]) -> bool:
    # Whoever sees the dossier's personal data reads it; so do administrators, who see
    # the personal data masked (api/privacy.py, docs/personal-data.md).
    return principal.has(Role.ADMIN) or can_see_personal_data(
        principal, applicant_account=applicant_account, agencies=agencies
    )


def _view_agencies(view: DossierView) -> set[str]:
    return {view.centre_agency, view.competent_agency, *(s.agency for s in view.steps)}


def _not_visible(code: str, principal: Principal) -> ApiError:
    return ApiError(403, "forbidden", T("not_visible", code=code, sub=principal.sub))


def _refuse_unless_readable(principal: Principal, view: DossierView) -> None:
    if not _may_read(principal, view.applicant_account, _view_agencies(view)):
        raise _not_visible(view.code, principal)


def _row_agencies(row: DossierRow) -> set[str] | None:
    """Every agency on the dossier, from its read-model row: the same set as
    `_view_agencies` (None: a row projected before it kept its steps' agencies)."""
    if row.step_agencies is None:
        return None
    return {row.centre_agency, row.competent_agency, *row.step_agencies}


async def _readable_by_row(ctx: AppContext, code: str, principal: Principal) -> bool | None:
    """May `principal` read the dossier, decided from its read-model row alone, without
    asking the engine? None when the row cannot tell: not projected yet (just
    submitted), projected before it kept its steps' agencies, or the database is away:
    then the engine decides, for everyone, as before."""
    try:
        row = await asyncio.to_thread(repository.get_dossier, ctx.engine, code)
    except (DBAPIError, DisconnectionError):
        return None
    if row is None:
        return None
    agencies = _row_agencies(row)
    if agencies is None:
        return None
    return _may_read(principal, row.applicant_account, agencies)


# The reason recorded for an attempt refused because its caller may not see the dossier
# (the caller is told only "not visible", as before).
NOT_VISIBLE_REASON = "hồ sơ không thuộc phạm vi được xem của cơ quan (hoặc tài khoản) người gửi"


@dataclass(frozen=True)
class Attempt:
    """What a caller asks to do to a dossier: the action, its comment and data, and the
    role named in the request (None: the caller's roles and the dossier decide)."""

    action: Action
    comment: str = ""
    data: dict[str, object] = field(default_factory=dict)
    role: Role | None = None
    # Refused, atomically with the action, when the dossier is no longer at this step.
    expected_step: str | None = None

    def command(self, principal: Principal, role: Role, request_id: str | None) -> ActionInput:
        """The workflow's input for this attempt by `principal` acting in `role`."""
        return ActionInput(
            actor=principal.actor_for(role),
            comment=self.comment,
            data=self.data,
            expected_step=self.expected_step,
            request_id=request_id,
        )


async def _record_not_visible(
    ctx: AppContext, code: str, principal: Principal, attempt: Attempt
) -> None:
    """Record an attempt by a caller who may not see the dossier, for the auditors: who,
    in which role, what, when (docs/authorization.md, Refusals)."""
    if not principal.roles:
        return
    role = attempt.role
    acting = role if role is not None and principal.has(role) else principal.roles[0]
    cmd = attempt.command(principal, acting, None)
    try:
        await ctx.service.record_refusal(code, attempt.action, cmd, "forbidden", NOT_VISIBLE_REASON)
    except (DBAPIError, DisconnectionError):
        # The answer is the same 403 either way; the database is away (logged).
        log.warning("refused attempt of %s on %s not recorded: database away", principal.sub, code)


def _sees_personal_data(principal: Principal, view: DossierView) -> bool:
    return can_see_personal_data(
        principal, applicant_account=view.applicant_account, agencies=_view_agencies(view)
    )


async def _visible_state(
    ctx: AppContext, code: str, principal: Principal, *, row_checked: bool = False
) -> DossierView:
    """The dossier's state, for a caller who may read it: one who may not is turned
    away by the read model when its row can tell (`_readable_by_row`), before the engine
    is asked; else by the state. `row_checked`: the caller asked the row already."""
    if not row_checked and await _readable_by_row(ctx, code, principal) is False:
        raise _not_visible(code, principal)
    try:
        view = await ctx.service.state(code)
    except ServiceError as exc:
        raise _service_error(exc) from None
    _refuse_unless_readable(principal, view)
    return view


def _may_reference(ctx: AppContext, principal: Principal, sha256: str) -> bool:
    """May `principal` name the file `sha256` by its hash, instead of sending it? Only a
    file they may already read: a document (upload, form, result) of a dossier they may
    read, by the rule that lets them read it (`_may_read` over every agency on the
    dossier, from its read-model row): the applicant's own dossiers, those of an
    officer's agency. Else anyone who learnt a hash (events, audit views and logs show
    them) would get the file it names (documents of their own dossier are theirs to
    download)."""
    everyone = principal.is_admin or principal.is_auditor
    account = principal.sub if principal.has(Role.APPLICANT) else None
    officer = any(principal.has(r) for r in OFFICER_ROLES)
    if not everyone and account is None and not officer:
        return False
    # An officer's agency may be any step's, which the row keeps as a list: judged here.
    rows = repository.dossiers_holding(
        ctx.engine, sha256, account=account if not (everyone or officer) else None
    )
    return any(
        _may_read(
            principal,
            row.applicant_account,
            _row_agencies(row)
            or {row.centre_agency, row.competent_agency, row.current_agency or ""},
        )
        for row in rows
    )


def _check_documents(ctx: AppContext, docs: list[DocumentIn], principal: Principal) -> None:
    """Size, then type and content of each file sent (`validate_upload`), and that a
    document named by its hash is a file the caller may already read (`_may_reference`);
    all checked before anything is stored or submitted. A hash the caller may not read
    is answered exactly as one the centre does not hold."""
    limit = ctx.settings.max_upload_bytes
    allowed = ctx.settings.upload_media_types
    for i, d in enumerate(docs):
        size = len(d.content()) if d.content_base64 is not None else 0
        if size > limit:
            raise ApiError(
                413,
                "too_large",
                T("document_too_large", index=i, filename=d.filename, size=size, limit=limit),
            )
    for i, d in enumerate(docs):
        where = f"documents.{i} ({d.filename})"
        if d.content_base64 is None:
            assert d.sha256 is not None
            if not (_may_reference(ctx, principal, d.sha256) and ctx.documents.has(d.sha256)):
                raise ApiError(
                    422, "invalid", T("document_unknown_sha", where=where, sha256=d.sha256)
                )
            continue
        try:
            validate_upload(d.content(), d.filename, allowed)
        except UploadRefused as exc:
            raise ApiError(
                exc.status, exc.code, T("where_reason", where=where, reason=reason_of(exc))
            ) from None


def _store_documents(
    ctx: AppContext, docs: list[DocumentIn], principal: Principal, uploads: Uploads | None = None
) -> list[DocumentRef]:
    # Files sent as multipart parts (api/uploads.py) come last in `docs`, named by the
    # sha256 they were staged under; their size and content were checked as they arrived.
    refs = _document_refs(ctx, docs, principal)
    if uploads is not None:
        uploads.commit(ctx.documents)
    for d, ref in zip(docs, refs, strict=True):
        if d.content_base64 is not None:
            ctx.documents.put(d.content(), ref.sha256)
    return refs


def _document_refs(
    ctx: AppContext, docs: list[DocumentIn], principal: Principal
) -> list[DocumentRef]:
    """The references of the files sent, checked (`_check_documents`), none stored: what
    the engine is given when it is expected to refuse (`_store_documents` stores them)."""
    _check_documents(ctx, [d for d in docs if not d.uploaded], principal)
    return [d.ref() for d in docs]
