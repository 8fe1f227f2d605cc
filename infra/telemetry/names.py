"""Service names and the span attribute keys (codes only) shared by traces and logs."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

SERVICE_API = "motcua-api"
SERVICE_WORKER = "motcua-worker"
SERVICE_DEV = "motcua-dev"

# Span attributes: codes only. Never the applicant's name, ID number, phone or address.
DOSSIER_CODE = "motcua.dossier_code"
PROCEDURE_CODE = "motcua.procedure_code"
_PROCEDURE_KEY = SearchAttributeKey.for_keyword("ProcedureCode")
