"""The data-source adapter: takes a component from a national database, with the
citizen's consent (NQ 66.7/2025/NQ-CP; domain/datasources.py).

One HTTP data source answers for every database (the province's data-exchange platform,
LGSP/NDXP, in production; a local server in tests), configured by
MOTCUA_DATA_SOURCE_URL / _TOKEN / _TIMEOUT_SECONDS. The protocol (README, "Data instead
of paper"):

    POST <url>/<database>/lookup
    {"subject_ids": [...], "fields": [...], "declared": {...},
     "purpose": {"dossier": code, "component": kind, "consented_by": ..., "consented_at": ...}}

    200 {"records": [{"record_id": "...", "data": {field: value}}]}   found
    404                                                              no record
    409 {"mismatch": [field, ...]}                                   the record disagrees
    401 / 403                                                        refused (not retried)
    other, or no answer                                              retried by Temporal

The ID numbers travel in the body, never in the URL (logs keep URLs). Only the fields the
catalog names are asked for and hashed; the values are not returned to the workflow: the
component keeps the record ids, the field names, the time and the SHA-256 of what came.
"""

from __future__ import annotations

import hashlib
import json
import logging
import unicodedata
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.contracts import FETCH_COMPONENT, FetchedComponent, FetchRequest
from domain.datasources import DataRecordSource, FetchOutcome

log = logging.getLogger(__name__)


def _norm(value: object) -> str:
    return " ".join(unicodedata.normalize("NFC", str(value)).casefold().split())


def fingerprint(records: list[dict[str, Any]]) -> str:
    """SHA-256 of what was fetched, as canonical JSON (keys sorted, UTF-8)."""
    canonical = json.dumps(records, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class DataSourceActivities:
    def __init__(self, url: str | None, token: str | None = None, timeout: float = 10) -> None:
        self.url = url.rstrip("/") if url else None
        self.token = token
        self.timeout = timeout

    @activity.defn(name=FETCH_COMPONENT)
    def fetch_component(self, req: FetchRequest) -> FetchedComponent:
        source = req.source
        answer = FetchedComponent(
            component=req.component, database=source.database, outcome=FetchOutcome.UNAVAILABLE
        )
        if self.url is None:
            return answer.model_copy(
                update={"message": "no data source is configured (MOTCUA_DATA_SOURCE_URL)"}
            )
        status, body = self._post(req)
        if status == 404:
            return answer.model_copy(update={"outcome": FetchOutcome.NOT_FOUND})
        if status == 409:
            mismatch = [str(f) for f in body.get("mismatch", [])]
            return answer.model_copy(
                update={"outcome": FetchOutcome.MISMATCH, "mismatched": mismatch}
            )
        records: list[dict[str, Any]] = [
            {
                "record_id": str(r["record_id"]),
                "data": {f: r.get("data", {}).get(f) for f in source.fields},
            }
            for r in body.get("records", [])
        ]
        if not records:
            return answer.model_copy(update={"outcome": FetchOutcome.NOT_FOUND})
        # The platform may only verify identity; what the citizen declared is checked here.
        mismatch = sorted(
            {
                field
                for r, declared in zip(records, req.consent.declared, strict=False)
                for field, value in declared.items()
                if field in r["data"] and _norm(r["data"][field]) != _norm(value)
            }
        )
        if mismatch:
            return answer.model_copy(
                update={"outcome": FetchOutcome.MISMATCH, "mismatched": mismatch}
            )
        return answer.model_copy(
            update={
                "outcome": FetchOutcome.FOUND,
                "record": DataRecordSource(
                    database=source.database,
                    label=source.label,
                    record_ids=[str(r["record_id"]) for r in records],
                    fields=list(source.fields),
                    fetched_at=datetime.now(UTC),
                    sha256=fingerprint(records),
                ),
            }
        )

    def _post(self, req: FetchRequest) -> tuple[int, dict[str, Any]]:
        """The data source's status and JSON body; a refusal is non-retryable, anything
        else unexpected is raised for Temporal to retry."""
        consent = req.consent
        payload = {
            "subject_ids": consent.subject_ids,
            "fields": req.source.fields,
            "declared": consent.declared,
            "purpose": {
                "dossier": req.dossier_code,
                "component": req.component,
                "consented_by": consent.consented_by,
                "consented_at": consent.consented_at.isoformat(),
            },
        }
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.url}/{req.source.database.value}/lookup"
        request = urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers=headers, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _json(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code in (401, 403):
                raise ApplicationError(
                    f"the data source refused the centre ({exc.code}) for {req.source.database}",
                    type="DataSourceRefused",
                    non_retryable=True,
                ) from None
            if exc.code in (404, 409):
                return exc.code, _json(exc.read())
            raise RuntimeError(
                f"data source answered {exc.code} for {req.source.database} ({req.dossier_code})"
            ) from None


def _json(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise RuntimeError("the data source's answer is not JSON") from None
    return value if isinstance(value, dict) else {}
