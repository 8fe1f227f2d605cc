"""`motcua`: the command line for operators, officers trying things out, and auditors.

One module per command group; this file assembles `app` (the console script
`motcua = "motcua.cli:app"`) in the order the commands were always listed:

- `_common`: the root `app`, its settings callback, and what every group shares
  (`_fail`, `_settings`, `_catalog`, dates in Viet Nam)
- `configuration`: `config`
- `clock`: `deadline`, `calendar`
- `catalog`: `procedures list|show|validate|import|export`
- `processes`: `worker`, `dev`, `api`
- `tokens`: `token`
- `dossiers`: `demo`, `state`, `history export|replay`
- `pki`: `pki init`, `verify`
- `db`: `db upgrade|current|downgrade`
- `keys`: `keys new|use|list`
- `audit`: `audit archive|export|replay|verify|timeline|late`
- `retention`: `retention list|schedule`
- `outbox`: `outbox list|retry`
- `portal`: `portal skipped`
- `index`: `index publish|show`
- `agencies`: `agencies merge`

Heavy imports (Temporal, the stack, uvicorn, the audit service) stay inside the
commands, so `motcua --help` starts fast.
"""

from __future__ import annotations

# The modules registering commands on `app` are imported in the order `motcua --help`
# lists the commands, not sorted.
# isort: off
from motcua.cli._common import TZ, app, main
from motcua.cli.configuration import config_cmd
from motcua.cli.clock import calendar_cmd, deadline
from motcua.cli.catalog import (
    procedures_app,
    procedures_list,
    procedures_show,
    procedures_validate,
)
from motcua.cli.processes import api, dev, worker
from motcua.cli.tokens import token
from motcua.cli.dossiers import demo_cmd, history_app, history_export, history_replay, state_cmd
from motcua.cli.pki import pki_app, pki_init, verify_cmd
from motcua.cli.db import db_app, db_current, db_downgrade, db_upgrade
from motcua.cli.keys import FILE_OPTION, keys_app, keys_list, keys_new, keys_use
from motcua.cli.audit import (
    AS_OPTION,
    audit_app,
    audit_archive,
    audit_export,
    audit_late,
    audit_replay,
    audit_timeline,
    audit_verify,
)
from motcua.cli.retention import retention_app, retention_list, retention_schedule
from motcua.cli.outbox import outbox_app, outbox_list, outbox_retry
from motcua.cli.portal import portal_app, portal_skipped
from motcua.cli.index import index_app, index_publish, index_show
from motcua.cli.agencies import agencies_app, agencies_merge
# isort: on

app.add_typer(procedures_app, name="procedures")
app.add_typer(history_app, name="history")
app.add_typer(pki_app, name="pki")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")
app.add_typer(retention_app, name="retention")
app.add_typer(outbox_app, name="outbox")
app.add_typer(portal_app, name="portal")
app.add_typer(index_app, name="index")
app.add_typer(agencies_app, name="agencies")

__all__ = [
    "AS_OPTION",
    "FILE_OPTION",
    "TZ",
    "agencies_app",
    "agencies_merge",
    "api",
    "app",
    "audit_app",
    "audit_archive",
    "audit_export",
    "audit_late",
    "audit_replay",
    "audit_timeline",
    "audit_verify",
    "calendar_cmd",
    "config_cmd",
    "db_app",
    "db_current",
    "db_downgrade",
    "db_upgrade",
    "deadline",
    "demo_cmd",
    "dev",
    "history_app",
    "history_export",
    "history_replay",
    "index_app",
    "index_publish",
    "index_show",
    "keys_app",
    "keys_list",
    "keys_new",
    "keys_use",
    "main",
    "outbox_app",
    "outbox_list",
    "outbox_retry",
    "pki_app",
    "pki_init",
    "portal_app",
    "portal_skipped",
    "procedures_app",
    "procedures_list",
    "procedures_show",
    "procedures_validate",
    "retention_app",
    "retention_list",
    "retention_schedule",
    "state_cmd",
    "token",
    "verify_cmd",
    "worker",
]
