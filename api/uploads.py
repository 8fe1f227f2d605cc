"""Files sent as multipart/form-data, streamed into the document store.

A submission (POST /v1/dossiers) or a supplement (POST /v1/dossiers/{code}/supplements)
may come as multipart/form-data instead of JSON, the way a browser sends a form:

- a part named `dossier` (optional for a supplement): the same JSON as the JSON body
  (its `documents` may still name small files in base64, or held ones by sha256);
- one part per file, with a filename, named by the document's kind (`to_khai`, ...; a
  kind may repeat).

Each file is written as it arrives to a file in the store's staging folder, hashed on
the way, and refused (413) as soon as it goes over MOTCUA_MAX_UPLOAD_BYTES; its content
is then checked on what was stored (`validate_stored`: 415, 422). Nothing is moved into the store until the whole
request has been received and checked (`Uploads.commit`): a refused request leaves
nothing behind. The body is never held in memory (a chunk at a time, and the JSON part
up to MOTCUA_MAX_JSON_BYTES)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError
from python_multipart.exceptions import ParseError
from python_multipart.multipart import MultipartParser, parse_options_header

from api.bodies import MULTIPART, json_shape_error, json_too_large_message
from api.errors import ApiError, reason_of
from api.messages import T
from api.schemas import DocumentIn
from infra.docstore import DocumentStore, UploadRefused, validate_upload
from infra.settings import Settings

JSON_PART = "dossier"
MAX_FILES = 50  # as many as a request's `documents` may hold
MAX_HEADER_BYTES = 8 * 1024  # one part's headers
KIND = re.compile(r"^[a-z0-9_]{1,100}$")


@dataclass
class StagedFile:
    kind: str
    filename: str
    path: Path
    size: int = 0
    sha256: str = ""


@dataclass
class Uploads:
    """What one multipart request carried: its JSON part and its files (staged)."""

    fields: dict[str, bytes] = field(default_factory=dict)
    files: list[StagedFile] = field(default_factory=list)

    def documents(self) -> list[DocumentIn]:
        """The files as documents named by their sha256, marked as uploaded here (so
        they are not taken for files the centre already held)."""
        docs = []
        for f in self.files:
            doc = DocumentIn(kind=f.kind, filename=f.filename, sha256=f.sha256)
            doc.mark_uploaded()
            docs.append(doc)
        return docs

    def commit(self, store: DocumentStore) -> None:
        """Sync each file to disk and move it into the store (blocking: call it in a
        thread)."""
        for f in self.files:
            with f.path.open("rb") as synced:
                os.fsync(synced.fileno())
            store.put_file(f.path, f.sha256)

    def discard(self) -> None:
        for f in self.files:
            f.path.unlink(missing_ok=True)


def validate_stored(files: list[StagedFile], settings: Settings) -> None:
    """The one place the uploaded files' content is checked, on the files as staged
    (infra.docstore.validate_upload: 415 for a type the centre does not accept, 422 for
    a file that is not a valid one of its type). Blocking, bounded by the per-file limit:
    call it in a thread."""
    for f in files:
        try:
            validate_upload(f.path.read_bytes(), f.filename, settings.upload_media_types)
        except UploadRefused as exc:
            raise ApiError(
                exc.status, exc.code, T("upload_file", filename=f.filename, reason=reason_of(exc))
            ) from None


class _Receiver:
    """python-multipart callbacks: headers of a part, then its data to a staged file
    (hashed and counted as written) or, for the JSON part, to a bounded buffer."""

    def __init__(self, settings: Settings, staging: Path) -> None:
        self.settings = settings
        self.staging = staging
        self.uploads = Uploads()
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._header_bytes = 0
        self._file: IO[bytes] | None = None
        self._staged: StagedFile | None = None
        self._hash = hashlib.sha256()
        self._field: str | None = None
        self._buffer = bytearray()

    def on_part_begin(self) -> None:
        self._headers, self._header_bytes = {}, 0
        self._file, self._staged, self._field = None, None, None
        self._buffer = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._count_header(end - start)
        self._header_value += data[start:end]

    def _count_header(self, n: int) -> None:
        self._header_bytes += n
        if self._header_bytes > MAX_HEADER_BYTES:
            raise ApiError(422, "invalid", T("multipart_header"))

    def on_header_end(self) -> None:
        self._headers[self._header_name.lower()] = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if name != JSON_PART:
                raise ApiError(422, "invalid", T("multipart_part", name=name, json=JSON_PART))
            if JSON_PART in self.uploads.fields:
                raise ApiError(422, "invalid", T("multipart_json_once", json=JSON_PART))
            self._field = name
            return
        filename = options[b"filename"].decode("utf-8", "replace")
        if not KIND.match(name):
            raise ApiError(422, "invalid", T("multipart_kind", filename=filename, name=name))
        if len(self.uploads.files) >= MAX_FILES:
            raise ApiError(422, "invalid", T("multipart_max_files", count=MAX_FILES))
        fd, path = tempfile.mkstemp(dir=self.staging, prefix="upload-")
        self._file = os.fdopen(fd, "wb")
        self._staged = StagedFile(kind=name, filename=filename, path=Path(path))
        self.uploads.files.append(self._staged)
        self._hash = hashlib.sha256()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self._staged is not None and self._file is not None:
            self._staged.size += len(chunk)
            limit = self.settings.max_upload_bytes
            if self._staged.size > limit:
                raise ApiError(
                    413,
                    "too_large",
                    T("upload_too_large", filename=self._staged.filename, limit=limit),
                )
            self._hash.update(chunk)
            self._file.write(chunk)
        elif self._field is not None:
            if len(self._buffer) + len(chunk) > self.settings.max_json_bytes:
                raise ApiError(413, "too_large", json_too_large_message(self.settings))
            self._buffer += chunk

    def on_part_end(self) -> None:
        if self._staged is not None and self._file is not None:
            self._file.close()
            self._file = None
            self._staged.sha256 = self._hash.hexdigest()
            if self._staged.size == 0 and not self._staged.filename:
                # A form's file input left empty (no file chosen): not a document.
                self.uploads.files.remove(self._staged)
                self._staged.path.unlink(missing_ok=True)
                return
            if self._staged.size == 0:
                raise ApiError(422, "invalid", T("upload_empty", filename=self._staged.filename))
        elif self._field is not None:
            self.uploads.fields[self._field] = bytes(self._buffer)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def receive_multipart(request: Request, settings: Settings, store: DocumentStore) -> Uploads:
    """Stream a multipart/form-data body: files to the store's staging folder (not yet
    stored: `Uploads.commit` does that), the JSON part checked like a JSON body. On any
    refusal every staged file is removed."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise ApiError(422, "invalid", T("multipart_boundary"))
    staging = await asyncio.to_thread(store.staging)
    receiver = _Receiver(settings, staging)
    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": receiver.on_part_begin,
            "on_part_data": receiver.on_part_data,
            "on_part_end": receiver.on_part_end,
            "on_header_field": receiver.on_header_field,
            "on_header_value": receiver.on_header_value,
            "on_header_end": receiver.on_header_end,
            "on_headers_finished": receiver.on_headers_finished,
        },
    )
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if receiver._file is not None:
            raise ApiError(422, "invalid", T("multipart_cut"))
        part = receiver.uploads.fields.get(JSON_PART)
        if part:
            why = json_shape_error(part, settings.max_json_depth, settings.max_json_keys)
            if why is not None:
                raise ApiError(422, "invalid", why)
        await asyncio.to_thread(validate_stored, receiver.uploads.files, settings)
    except ParseError:
        receiver.close()
        receiver.uploads.discard()
        raise ApiError(422, "invalid", T("multipart_bad")) from None
    except BaseException:
        receiver.close()
        receiver.uploads.discard()
        raise
    return receiver.uploads


M = TypeVar("M", bound=BaseModel)


async def read_body(
    request: Request, model: type[M], settings: Settings, store: DocumentStore
) -> tuple[M, Uploads | None]:
    """The request model from a JSON body (already bounded by api.bodies.BodyGuard) or
    from a multipart one (its `dossier` part, and its files appended to `documents`,
    staged: the caller commits them, and discards them in any case when done)."""
    uploads = None
    content_type = request.headers.get("content-type", "").lower()
    media_type = content_type.split(";", 1)[0].strip()
    if media_type == MULTIPART:
        uploads = await receive_multipart(request, settings, store)
        raw = uploads.fields.get(JSON_PART) or b"{}"
    elif media_type in ("", "application/json") or media_type.endswith("+json"):
        raw = await request.body()
    else:
        raise ApiError(  # 422 as on the routes FastAPI parses (a body of the wrong kind)
            422, "invalid", T("body_media_type", media_type=media_type, multipart=MULTIPART)
        )
    try:
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            where = JSON_PART if uploads is not None else "body"
            raise ApiError(422, "invalid", T("not_json", where=where)) from None
        if data is None:
            raise RequestValidationError(
                [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
            )
        if uploads is not None and uploads.files:
            if not isinstance(data, dict):
                raise ApiError(422, "invalid", T("not_object", where=JSON_PART))
            named = data.get("documents") or []
            if not isinstance(named, list):
                raise ApiError(422, "invalid", T("not_list", where=f"{JSON_PART}.documents"))
            data["documents"] = [
                *named,
                *(
                    {"kind": f.kind, "filename": f.filename, "sha256": f.sha256}
                    for f in uploads.files
                ),
            ]
        try:
            body = model.model_validate(data)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        if uploads is not None and uploads.files:
            documents: list[DocumentIn] = getattr(body, "documents")  # noqa: B009 (M: any model)
            for doc in documents[len(documents) - len(uploads.files) :]:
                doc.mark_uploaded()
    except BaseException:
        if uploads is not None:
            uploads.discard()
        raise
    return body, uploads


def request_body_doc(model: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI requestBody of a route that reads JSON or multipart itself."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}},
                MULTIPART: {
                    "schema": {
                        "type": "object",
                        "properties": {
                            JSON_PART: {
                                "type": "string",
                                "description": f"the JSON of {model.__name__}",
                            }
                        },
                        "additionalProperties": {"type": "string", "format": "binary"},
                    },
                    "description": "one file part per document, named by its kind",
                },
            },
        }
    }


def document_models(app: FastAPI, models: list[type[BaseModel]]) -> None:
    """Put `models` (request bodies no route parameter declares) in the OpenAPI
    components, for the `$ref`s of `request_body_doc`."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for model in models:
            js = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, definition in js.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault(model.__name__, js)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
