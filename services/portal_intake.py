"""Dossiers filed on the national portal (Cổng DVCQG), received by motcua, the back
office: pushed by the portal (POST /v1/portal/dossiers, api/routes/portal.py) or pulled
on a schedule (workflows/portal_pull.py runs `PortalPullActivities` here).

Each is started exactly once, keyed by the portal's code:

1. its files are fetched from the portal and stored (checked like uploads), unless it was
   started already (then nothing is fetched: the delivery is counted and answered);
2. the portal code is bound to a motcua dossier code in the read model, race-safe (the
   portal code is the key, the motcua code unique): the first delivery binds a newly
   allocated code, every later one (a duplicate, a retry, the same dossier pushed and
   pulled) finds it; of two concurrent first deliveries one binds its code, the other's
   number goes unused; a dossier refused (its files, its procedure) binds nothing;
3. its workflow is started under the bound code (workflow id = dossier code, so a second
   start finds the first: `DossierService.submit` with a reserved code), and the binding
   marked started.

A delivery that dies between two steps is finished by the next one. Deliveries in any
order are harmless: the first one that carries a dossier starts it, later ones change
nothing. Status goes back by the outbox (activities/notifications.py `portal_sync`),
under the portal's code."""

from __future__ import annotations

import asyncio
import logging

from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError
from temporalio import activity
from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from activities.contracts import PULL_PORTAL, PortalPullInput, PortalPullResult
from domain.catalog import Catalog, Role
from domain.dossier import Actor, Applicant, Channel, DocumentRef
from infra.docstore import DocumentStore, UploadRefused, validate_upload
from infra.portal_client import (
    PortalClient,
    PortalDocument,
    PortalDossier,
    PortalRefused,
    PortalUnavailable,
)
from infra.settings import Settings
from services.dossiers import DossierService, ServiceError, SubmitRequest
from store import repository
from workflows.portal_pull import PortalPollerInput, PortalPullWorkflow

log = logging.getLogger(__name__)


class IntakeOutcome(BaseModel):
    portal_code: str
    dossier_code: str
    duplicate: bool  # this delivery started nothing: an earlier (or concurrent) one did
    deliveries: int  # how many times the portal has delivered it so far
    started: bool = False  # its workflow is started (by this delivery or an earlier one)


def portal_client(settings: Settings) -> PortalClient:
    token = settings.portal_token.get_secret_value() if settings.portal_token else None
    return PortalClient(
        token=token,
        timeout=settings.portal_timeout_seconds,
        documents_prefix=settings.portal_documents_prefix,
        max_bytes=settings.max_upload_bytes,
    )


class PortalIntake:
    def __init__(
        self, service: DossierService, documents: DocumentStore, portal: PortalClient
    ) -> None:
        self.service = service
        self.documents = documents
        self.portal = portal

    @property
    def engine(self) -> Engine:
        return self.service.engine

    def _request(self, dossier: PortalDossier, refs: list[DocumentRef]) -> SubmitRequest:
        return SubmitRequest(
            procedure_code=dossier.procedure_code,
            # The portal's ChuHoSo has the applicant's fields, by their Vietnamese names.
            applicant=Applicant(**dossier.applicant.model_dump()),
            channel=Channel.ONLINE,
            documents=refs,
            centre_agency=dossier.centre_agency
            or self.service.settings.portal_centre_agency
            or self.service.settings.centre_agency,
        )

    @staticmethod
    def _applicant_actor(dossier: PortalDossier) -> Actor:
        """The citizen who filed it, as the portal identified them: their portal account
        becomes the dossier's applicant account (their later sign-in through the portal's
        SSO carries it)."""
        a = dossier.applicant
        return Actor(id=a.account or f"dvcqg:{a.id_number}", name=a.name, role=Role.APPLICANT)

    async def receive(self, dossier: PortalDossier, via: str) -> IntakeOutcome:
        """Start the dossier once. Raises ServiceError (unknown procedure or agency:
        "not_found"/"invalid"; Temporal did not answer: "unavailable"), PortalRefused (a
        file that cannot be used) or PortalUnavailable (a file the portal did not give:
        deliver again)."""
        code = dossier.portal_code
        actor = self._applicant_actor(dossier)
        bound = await asyncio.to_thread(repository.portal_dossier, self.engine, code)
        if bound is None:
            self.service.validate_submission(self._request(dossier, []), actor)
        elif bound.started_at is not None:
            return await self._bind(dossier, bound.dossier_code, via)
        # The files first: a dossier whose files cannot be used consumes no number.
        refs = [await self._fetched(doc) for doc in dossier.documents]
        req = self._request(dossier, refs)
        reserved = bound.dossier_code if bound else await self.service.allocate_code(req)
        outcome = await self._bind(dossier, reserved, via)
        if outcome.duplicate and outcome.started:
            return outcome  # a concurrent delivery started it meanwhile
        await self.service.submit(
            req, actor, code=outcome.dossier_code, submitted_at=dossier.submitted_at
        )
        await asyncio.to_thread(repository.mark_portal_dossier_started, self.engine, code)
        return outcome.model_copy(update={"started": True, "duplicate": False})

    async def _bind(self, dossier: PortalDossier, dossier_code: str, via: str) -> IntakeOutcome:
        """Bind the portal code to `dossier_code` unless it is bound (then: to the code it
        is bound to), counting the delivery."""
        row, first = await asyncio.to_thread(
            repository.bind_portal_dossier,
            self.engine,
            dossier.portal_code,
            dossier_code,
            procedure_code=dossier.procedure_code,
            via=via,
            portal_received_at=dossier.submitted_at,
        )
        if row.procedure_code != dossier.procedure_code:
            log.warning("portal dossier %s delivered again, another procedure", row.portal_code)
        return IntakeOutcome(
            portal_code=row.portal_code,
            dossier_code=row.dossier_code,
            duplicate=not first,
            deliveries=row.deliveries,
            started=row.started_at is not None,
        )

    async def _fetched(self, doc: PortalDocument) -> DocumentRef:
        data = await self.portal.fetch_document(doc)
        try:
            await asyncio.to_thread(
                validate_upload, data, doc.filename, self.service.settings.upload_media_types
            )
        except UploadRefused as exc:
            raise PortalRefused(f"{doc.filename}: {exc}") from None
        sha = await asyncio.to_thread(self.documents.put, data)
        return DocumentRef(kind=doc.kind, filename=doc.filename, sha256=sha)


# A dossier whose files the portal keeps failing to give holds the feed back: after this
# many attempts of its round (about 20 minutes at the pull's backoff) the round goes past
# it, logged as an error; the portal's push, or an operator, delivers it again.
PULL_GIVE_UP_ATTEMPTS = 20


class PortalPullActivities:
    """The pull's round (PortalPullWorkflow runs it on the centre's queue)."""

    def __init__(self, intake: PortalIntake, settings: Settings) -> None:
        self.intake = intake
        self.settings = settings

    async def _skip(
        self, out: PortalPullResult, code: object, why: str, *, error: bool = False
    ) -> None:
        """Go past a portal dossier this round cannot start: logged, and kept for the
        operators (`motcua portal skipped`, GET /v1/portal/skipped), who have the portal
        deliver it again (the cursor goes past it: the pull will not ask again)."""
        (log.error if error else log.warning)("portal dossier %s skipped: %s", code, why)
        out.refused += 1
        portal_code = code if isinstance(code, str) else ""
        try:
            await asyncio.to_thread(
                repository.record_portal_skip,
                self.intake.engine,
                portal_code,
                "pull",
                why,
                unavailable=error,
            )
        except (DBAPIError, DisconnectionError):
            log.error("portal dossier %s skipped and not recorded: database away", code)

    @activity.defn(name=PULL_PORTAL)
    async def pull_portal_dossiers(self, inp: PortalPullInput) -> PortalPullResult:
        url = self.settings.portal_pull_url
        if not url:
            raise PortalUnavailable("MOTCUA_PORTAL_PULL_URL is not set on this worker")
        page = await self.intake.portal.list_since(
            url, inp.cursor, self.settings.portal_pull_page_size
        )
        out = PortalPullResult(
            cursor=page.next_cursor or inp.cursor,
            more=page.more,
            wait_seconds=self.settings.portal_pull_interval_seconds,
        )
        for item in page.items:
            out.received += 1
            try:
                dossier = PortalDossier.model_validate(item)
            except ValidationError as exc:
                first = exc.errors()[0]  # where and why, never the value (personal data)
                where = ".".join(str(p) for p in first["loc"])
                await self._skip(out, item.get("MaHoSo"), f"{where}: {first['msg']}")
                continue
            try:
                outcome = await self.intake.receive(dossier, "pull")
            except PortalRefused as exc:
                await self._skip(out, dossier.portal_code, str(exc))
                continue
            except (ServiceError, PortalUnavailable) as exc:
                unavailable = isinstance(exc, PortalUnavailable) or exc.code == "unavailable"
                if unavailable and activity.info().attempt < PULL_GIVE_UP_ATTEMPTS:
                    raise  # the round is retried from the same cursor
                await self._skip(out, dossier.portal_code, str(exc), error=unavailable)
                continue
            if outcome.duplicate:
                out.duplicates += 1
            else:
                out.started += 1
        return out


def portal_intake_for(
    client: Client, engine: Engine, catalog: Catalog, settings: Settings, store: DocumentStore
) -> PortalIntake:
    return PortalIntake(
        DossierService(client, engine, catalog, settings), store, portal_client(settings)
    )


def poller_id(settings: Settings) -> str:
    return f"portal-pull:{settings.centre_task_queue}"


async def start_portal_poller(client: Client, settings: Settings) -> None:
    """Start the centre's pull, unless it runs already (every centre worker asks; one
    poller runs). One that ended (terminated by an operator) is started again."""
    await client.start_workflow(
        PortalPullWorkflow.run,
        PortalPollerInput(),
        id=poller_id(settings),
        task_queue=settings.centre_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        static_summary="Cổng DVCQG: nhận hồ sơ nộp trực tuyến",
    )
