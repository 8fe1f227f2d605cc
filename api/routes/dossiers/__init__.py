"""Dossiers: submission, live state, lists from the read model, actions, events.

One `router` (in `_common`), its routes registered by importing the modules below in
the order they were always served (and listed in the OpenAPI document):

- `_common`: the router, who may see a dossier (from its read-model row, else the
  engine's state), and the documents sent (checked, then stored)
- `submission`: POST /dossiers, once per Idempotency-Key
- `reading`: GET /dossiers (search the read model), GET /dossiers/{code} (live state)
- `actions`: POST /dossiers/{code}/actions, /supplements, /withdraw (`_act`, `_once`;
  `HANDOFF_WAIT_SECONDS` is read, and patched, there)
- `record`: who may read a dossier's record (`record_access`), GET /dossiers/{code}/events
"""

from __future__ import annotations

# isort: off
from api.routes.dossiers._common import (
    NOT_VISIBLE_REASON,
    _store_documents,
    _visible_state,
    router,
)
from api.routes.dossiers.submission import submit_dossier
from api.routes.dossiers.reading import get_dossier, list_dossiers
from api.routes.dossiers.actions import (
    IdempotencyKey,
    supplement,
    take_action,
    withdraw,
)
from api.routes.dossiers.record import RecordAccess, events, readable_record, record_access

# isort: on

__all__ = [
    "NOT_VISIBLE_REASON",
    "IdempotencyKey",
    "RecordAccess",
    "_store_documents",
    "_visible_state",
    "events",
    "get_dossier",
    "list_dossiers",
    "readable_record",
    "record_access",
    "router",
    "submit_dossier",
    "supplement",
    "take_action",
    "withdraw",
]
