"""Read-model writes and reads.

Every writer is idempotent so a retried Temporal activity never doubles a row:
rows with natural ids are inserted with ``ON CONFLICT DO NOTHING``, the dossier
summary is upserted only when it is not older than the stored one, and dossier
codes come from one atomic ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING``.
Works on SQLite (>= 3.35) and PostgreSQL.

Lists page by keyset (``list_dossiers``): the cursor is an opaque url-safe
base64 of the last row's ``(submitted_at, code)``.

One file per aggregate; callers use ``from store import repository`` and
``repository.X``:

- ``dossiers``: dossier codes, events with the dossier summary, reads by code or period;
- ``lists``: filtered dossier lists, their cursors and counts, the officer's worklist;
- ``documents``: document rows, by dossier, id or file hash;
- ``outbox``: notifications queued, pending and sent;
- ``handoffs``: agencies' receipts of handed-off steps;
- ``refusals``: refused workflow updates;
- ``requests``: creation idempotency keys and action requests;
- ``users`` and ``catalog``: users seen, the catalog's agencies and procedures;
- ``audit``: archived history runs and the hash-chained audit log;
- ``ratings``: applicants' ratings and feedback;
- ``_common``: the shared helpers (upserts, the write transaction, payloads made rows).
"""

from __future__ import annotations

from store.repository._common import SQLITE_LOCK_RETRIES
from store.repository._common import _values as _values  # tests/unit/test_event_hash.py
from store.repository.audit import (
    archive_run,
    archived_run_ids,
    archived_runs,
    audit_log,
    audit_log_chain,
    log_audit_read,
)
from store.repository.catalog import list_agencies, list_procedures, sync_catalog
from store.repository.documents import (
    add_documents,
    documents_with_hash,
    dossiers_holding,
    get_document,
    list_documents,
)
from store.repository.dossiers import (
    allocate_dossier_code,
    dossier_codes,
    format_dossier_code,
    get_dossier,
    list_events,
    received_by_agency,
    record_events,
)
from store.repository.handoffs import record_handoff
from store.repository.lists import (
    MAX_PAGE_SIZE,
    count_dossiers,
    decode_cursor,
    encode_cursor,
    list_dossiers,
    worklist,
)
from store.repository.outbox import add_outbox, list_outbox, list_pending_outbox, mark_outbox_sent
from store.repository.ratings import add_feedback, rate_dossier
from store.repository.refusals import list_refused_attempts, record_refused_attempt
from store.repository.requests import (
    answer_action_request,
    claim_action_request,
    claim_idempotency_key,
    complete_idempotency_key,
    get_idempotency_key,
    purge_action_requests,
    purge_idempotency_keys,
    release_idempotency_key,
)
from store.repository.users import get_user, touch_user

__all__ = [
    "MAX_PAGE_SIZE",
    "SQLITE_LOCK_RETRIES",
    "add_documents",
    "add_feedback",
    "add_outbox",
    "allocate_dossier_code",
    "answer_action_request",
    "archive_run",
    "archived_run_ids",
    "archived_runs",
    "audit_log",
    "audit_log_chain",
    "claim_action_request",
    "claim_idempotency_key",
    "complete_idempotency_key",
    "count_dossiers",
    "decode_cursor",
    "documents_with_hash",
    "dossier_codes",
    "dossiers_holding",
    "encode_cursor",
    "format_dossier_code",
    "get_document",
    "get_dossier",
    "get_idempotency_key",
    "get_user",
    "list_agencies",
    "list_documents",
    "list_dossiers",
    "list_events",
    "list_outbox",
    "list_pending_outbox",
    "list_procedures",
    "list_refused_attempts",
    "log_audit_read",
    "mark_outbox_sent",
    "purge_action_requests",
    "purge_idempotency_keys",
    "rate_dossier",
    "received_by_agency",
    "record_events",
    "record_handoff",
    "record_refused_attempt",
    "release_idempotency_key",
    "sync_catalog",
    "touch_user",
    "worklist",
]
