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
- ``portal``: dossiers filed on the national portal, bound to their motcua code;
- ``ratings``: applicants' ratings and feedback;
- ``mergers``: open dossiers with work left at an agency (merged communes);
- ``_common``: the shared helpers (upserts, the write transaction, payloads made rows).
"""

from __future__ import annotations

from store.repository._common import SQLITE_LOCK_RETRIES
from store.repository._common import _values as _values  # tests/unit/test_event_hash.py
from store.repository.audit import (
    archive_run,
    archived_run_ids,
    archived_runs,
    archived_runs_of,
    audit_log,
    audit_log_chain,
    log_audit_read,
)
from store.repository.catalog import (
    agency_from_row,
    catalog_revision,
    delete_draft,
    highest_versions,
    list_agencies,
    list_procedures,
    procedure_values,
    procedure_versions,
    published_procedures,
    save_agencies,
    save_procedure_versions,
    seed_catalog,
    sync_catalog,
)
from store.repository.data_requests import (
    answer_data_request,
    escalate_data_request,
    get_data_request,
    held_about,
    list_data_requests,
    open_data_request,
)
from store.repository.documents import (
    add_documents,
    documents_with_hash,
    dossiers_holding,
    get_document,
    list_documents,
    replace_document_file,
    signed_documents,
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
from store.repository.mergers import open_dossiers_at
from store.repository.outbox import add_outbox, list_outbox, list_pending_outbox, mark_outbox_sent
from store.repository.payments import (
    callbacks_of,
    get_payment,
    mark_refunded,
    payments_of,
    record_callback,
    record_payment,
    refunds_due,
)
from store.repository.portal import (
    bind_portal_dossier,
    mark_portal_dossier_started,
    online_payment_method,
    portal_code_of,
    portal_dossier,
    portal_skipped,
    record_portal_skip,
)
from store.repository.ratings import add_feedback, rate_dossier, rating_history
from store.repository.receipts import (
    ReceiptNotCancellable,
    attach_document,
    cancel_and_replace,
    get_receipt,
    issue_receipt,
    receipts_of,
)
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
from store.repository.users import get_user, officers_of, touch_user

__all__ = [
    "MAX_PAGE_SIZE",
    "SQLITE_LOCK_RETRIES",
    "ReceiptNotCancellable",
    "add_documents",
    "add_feedback",
    "add_outbox",
    "agency_from_row",
    "allocate_dossier_code",
    "answer_action_request",
    "answer_data_request",
    "archive_run",
    "archived_run_ids",
    "archived_runs",
    "archived_runs_of",
    "attach_document",
    "audit_log",
    "audit_log_chain",
    "bind_portal_dossier",
    "callbacks_of",
    "cancel_and_replace",
    "catalog_revision",
    "claim_action_request",
    "claim_idempotency_key",
    "complete_idempotency_key",
    "count_dossiers",
    "decode_cursor",
    "delete_draft",
    "documents_with_hash",
    "dossier_codes",
    "dossiers_holding",
    "encode_cursor",
    "escalate_data_request",
    "format_dossier_code",
    "get_data_request",
    "get_document",
    "get_dossier",
    "get_idempotency_key",
    "get_payment",
    "get_receipt",
    "get_user",
    "held_about",
    "highest_versions",
    "issue_receipt",
    "list_agencies",
    "list_data_requests",
    "list_documents",
    "list_dossiers",
    "list_events",
    "list_outbox",
    "list_pending_outbox",
    "list_procedures",
    "list_refused_attempts",
    "log_audit_read",
    "mark_outbox_sent",
    "mark_portal_dossier_started",
    "mark_refunded",
    "officers_of",
    "online_payment_method",
    "open_data_request",
    "open_dossiers_at",
    "payments_of",
    "portal_code_of",
    "portal_dossier",
    "portal_skipped",
    "procedure_values",
    "procedure_versions",
    "published_procedures",
    "purge_action_requests",
    "purge_idempotency_keys",
    "rate_dossier",
    "rating_history",
    "receipts_of",
    "received_by_agency",
    "record_callback",
    "record_events",
    "record_handoff",
    "record_payment",
    "record_portal_skip",
    "record_refused_attempt",
    "refunds_due",
    "release_idempotency_key",
    "replace_document_file",
    "save_agencies",
    "save_procedure_versions",
    "seed_catalog",
    "signed_documents",
    "sync_catalog",
    "touch_user",
    "worklist",
]
