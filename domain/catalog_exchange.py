"""The catalog's import and export format (docs/catalog.md): one JSON document shaped after
the national procedure database's fields (mã thủ tục, tên, cấp thực hiện, lĩnh vực, cơ quan
thực hiện, thời hạn giải quyết, phí, thành phần hồ sơ, kết quả, căn cứ pháp lý), with what
motcua needs beyond them (the steps with their budgets) under the same record.

    {"format": "motcua-catalog/1",
     "agencies": [{"code", "name", "kind", "level", "parent"?}],
     "procedures": [{"code", "name", "level", "field", "agency", "time", "fees",
                     "components", "result", "legal_basis", "boundary_free",
                     "decision": {"number", "date", "signer"}, "effective_from",
                     "effective_to", "steps", "motcua": {...the other fields}}]}

Pure: records to procedure definitions and back; the service stores them.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from domain.catalog import Procedure

FORMAT = "motcua-catalog/1"

# The national database's names for motcua's (record field -> Procedure field).
RENAMED = {"agency": "competent_agency", "time": "statutory_time", "components": "documents"}
BACK = {v: k for k, v in RENAMED.items()}
# Fields of the record itself (the rest of a definition travels under "motcua").
RECORD_FIELDS = (
    "code",
    "name",
    "level",
    "field",
    "competent_agency",
    "statutory_time",
    "fees",
    "documents",
    "result",
    "legal_basis",
    "effective_from",
    "effective_to",
    "steps",
)
NOT_EXPORTED = ("version",)


class Decision(BaseModel):
    """The People's Committee's decision publishing the version (quyết định công bố)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    number: str = Field(min_length=1, max_length=100, description="e.g. 1234/QĐ-UBND")
    date: str = Field(description="its date, YYYY-MM-DD")
    signer: str = Field(min_length=1, max_length=200, description="who signed it")


class Publication(BaseModel):
    """What a version carries beside its definition."""

    model_config = ConfigDict(frozen=True)

    boundary_free: bool = False
    decision: Decision | None = None


def record_to_definition(
    record: dict[str, Any], version: int
) -> tuple[dict[str, Any], Publication]:
    """A record of the file as a Procedure definition (version `version`) and its
    publication; raises ValueError for a record that is not an object, pydantic's
    ValidationError for a bad decision."""
    if not isinstance(record, dict):
        raise ValueError("a procedure record is a JSON object")
    definition: dict[str, Any] = {}
    extra = record.get("motcua") or {}
    if not isinstance(extra, dict):
        raise ValueError("motcua: an object of the other fields")
    definition.update(extra)
    for key, value in record.items():
        if key in ("motcua", "boundary_free", "decision"):
            continue
        definition[RENAMED.get(key, key)] = value
    definition["version"] = version
    publication = Publication(
        boundary_free=bool(record.get("boundary_free", False)),
        decision=Decision.model_validate(record["decision"]) if record.get("decision") else None,
    )
    return definition, publication


def definition_to_record(document: dict[str, Any], publication: Publication) -> dict[str, Any]:
    """A stored version (its JSON document) as a record of the file."""
    record: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    for key, value in document.items():
        if key in NOT_EXPORTED:
            continue
        if key in RECORD_FIELDS:
            record[BACK.get(key, key)] = value
        else:
            extra[key] = value
    record["boundary_free"] = publication.boundary_free
    if publication.decision:
        record["decision"] = publication.decision.model_dump()
    record["motcua"] = extra
    return record


def field_in_record(loc: str) -> str:
    """A Procedure field path named as the record names it (documents.0 -> components.0)."""
    head, _, rest = loc.partition(".")
    head = BACK.get(head, head)
    if head not in RECORD_FIELDS and head not in BACK.values() and head not in ("version",):
        head = f"motcua.{head}"
    return f"{head}.{rest}" if rest else head


def comparable(document: dict[str, Any]) -> str:
    """A version's content as a canonical string, its number left out: two versions with
    the same are the same procedure (an import that changes nothing adds nothing)."""
    content = {k: v for k, v in document.items() if k != "version"}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, default=str)


def canonical(definition: dict[str, Any]) -> dict[str, Any]:
    """The stored form of a valid definition (defaults filled, as `procedure_document`)."""
    from domain.catalog import procedure_document

    return procedure_document(Procedure.model_validate(definition))


# -- CSV: one row per procedure, the national database's columns; the lists as JSON cells.
CSV_COLUMNS = (
    "code",
    "name",
    "level",
    "field",
    "agency",
    "time",
    "fees",
    "components",
    "result",
    "legal_basis",
    "boundary_free",
    "decision",
    "effective_from",
    "effective_to",
    "steps",
    "motcua",
)
JSON_CELLS = {"time", "fees", "components", "result", "legal_basis", "decision", "steps", "motcua"}


def records_to_csv(records: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for r in records:
        row = {}
        for c in CSV_COLUMNS:
            value = r.get(c)
            if c in JSON_CELLS:
                row[c] = "" if value is None else json.dumps(value, ensure_ascii=False)
            elif isinstance(value, bool):
                row[c] = "true" if value else "false"
            else:
                row[c] = "" if value is None else str(value)
        writer.writerow(row)
    return out.getvalue()


def csv_to_records(text: str) -> list[Any]:
    """The records of a CSV file; a cell that is not valid JSON where JSON is expected is
    kept as text (validation then names its field)."""
    records: list[Any] = []
    for row in csv.DictReader(io.StringIO(text)):
        record: dict[str, Any] = {}
        for key, cell in row.items():
            if key is None or cell is None or cell == "":
                continue
            if key in JSON_CELLS:
                try:
                    record[key] = json.loads(cell)
                except json.JSONDecodeError:
                    record[key] = cell
            elif key == "boundary_free":
                record[key] = cell.strip().lower() in ("true", "1", "có", "x")
            else:
                record[key] = cell
        records.append(record)
    return records
