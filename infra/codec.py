"""Personal data encrypted before it reaches Temporal: a payload codec (AES-256-GCM).

Every payload motcua hands to Temporal (workflow inputs, update arguments, activity
inputs and results, memos, failure messages) passes through `EncryptionCodec.encode`
on its way out and `decode` on its way back, in every process that holds a data
converter built by `infra.temporal.data_converter`. Temporal's database, its web UI
and anyone who exports a history without the key see ciphertext and a key id only.

An encoded payload follows the convention of Temporal's encryption samples:

- ``metadata["encoding"] = b"binary/encrypted"``,
- ``metadata["encryption-key-id"]`` = the id of the key (not secret: it names a key),
- ``data`` = a random 12-byte nonce followed by the AES-GCM ciphertext (with its
  16-byte tag) of the whole original `Payload` proto, serialized. The associated data
  binds the key id, so a payload relabelled with another key id fails authentication.

Keys: a `KeyRing` holds several keys by id; the *current* one encrypts, any of them
decrypts, so rotating a key is adding a new current one and keeping the old ones as
long as any history (in Temporal or the archive) was written under them. Payloads
without the encrypted encoding pass through `decode` unchanged: histories written
before encryption (the committed test histories, old archived runs) still decode and
replay.

The key ring is JSON, in a file (``MOTCUA_PAYLOAD_KEYS_FILE``) or a variable
(``MOTCUA_PAYLOAD_KEYS``)::

    {"current": "2026-12", "keys": {"2026-12": "<base64 of 32 random bytes>", ...}}

In development, when neither is set, `infra.settings.keyring_for` makes one under the state
directory on first use (``state_dir/payload-keys.json``).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import re
import secrets
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory
from temporalio.converter import PayloadCodec

from domain.i18n import Catalogue, Text
from domain.validation import Invalid, text_of
from infra.settings_messages import os_reason

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # the GCM standard nonce
TAG_BYTES = 16
# Associated data: the scheme and the key id, authenticated with every payload.
_AAD_PREFIX = b"motcua/payload/aes-256-gcm/v1\x00"
_KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
DEV_KEYRING_FILE = "payload-keys.json"
KEYRING_FORMAT = '{"current": "<key id>", "keys": {"<key id>": "<base64 of 32 bytes>"}}'


# What the codec server answers when a payload cannot be read (domain/i18n.py): in the
# caller's language through `PayloadError.text`, Vietnamese as the exception's own text.
T = Catalogue(
    {
        "no_key_id": (
            "Một payload đã mã hóa không có {field}: không phải của motcua",
            "an encrypted payload has no {field}: not one of motcua's",
        ),
        "unknown_key": (
            "Payload được mã hóa bằng khóa {key}, khóa này không có trong bộ khóa (bộ khóa có "
            "{held}): hãy thêm khóa đó vào MOTCUA_PAYLOAD_KEYS_FILE để đọc",
            "payload encrypted under key {key}, which is not in the key ring (it holds "
            "{held}): add that key to MOTCUA_PAYLOAD_KEYS_FILE to read it",
        ),
        "truncated": (
            "Payload mã hóa bằng khóa {key} bị cắt cụt",
            "payload under key {key} is truncated",
        ),
        "not_authentic": (
            "Payload mã hóa bằng khóa {key} không xác thực được: đã bị sửa, hoặc được mã hóa "
            "bằng một khóa khác cùng mã",
            "payload under key {key} fails authentication: altered, or encrypted with another "
            "key of that id",
        ),
        "not_a_payload": (
            "Payload mã hóa bằng khóa {key} giải mã ra dữ liệu không phải payload",
            "payload under key {key} decrypts to something not a payload",
        ),
        "no_keyring": (
            "Các payload của lịch sử đã được mã hóa (binary/encrypted) nhưng không có bộ khóa "
            "nào được cung cấp để đọc",
            "the history's payloads are encrypted (binary/encrypted) and no key ring was given "
            "to read them",
        ),
        "count": (
            "Bộ mã hóa trả về số payload khác với số đã gửi",
            "the codec returned another number of payloads",
        ),
        # what is wrong with a key ring (MOTCUA_PAYLOAD_KEYS_FILE, `motcua keys`): the
        # source names the variable or file; key material is never repeated
        "in_source": ("{source}: {reason}", "{source}: {reason}"),
        "key_size": (
            "khóa {key} dài {size} byte; AES-256 cần {needed} byte",
            "key {key} is {size} bytes; AES-256 needs {needed}",
        ),
        "key_size_make": (
            "khóa {key} dài {size} byte; AES-256 cần {needed} byte (tạo khóa bằng "
            "`motcua keys new`)",
            "key {key} is {size} bytes; AES-256 needs {needed} (make one with `motcua keys new`)",
        ),
        "current_not_among": (
            "khóa hiện hành {current} không có trong các khóa ({ids})",
            "the current key {current} is not among the keys ({ids})",
        ),
        "duplicate_key": ("bộ khóa đã có khóa {key}", "the key ring already has a key {key}"),
        "key_id": (
            "{value} không phải mã khóa hợp lệ (1-64 chữ cái, chữ số, '.', '_' hoặc '-'; mã "
            "khóa được lưu ở dạng rõ bên cạnh mọi payload nên không được chứa tên người)",
            "{value} is not a key id (1-64 letters, digits, '.', '_' or '-'; it is stored in "
            "clear beside every payload, so it must name no person)",
        ),
        "not_json": (
            "{source} không phải JSON ({error}); cần có dạng {format}",
            "{source} is not JSON ({error}); expected {format}",
        ),
        "not_a_ring": (
            "{source} không phải một bộ khóa; cần có dạng {format}",
            "{source} is not a key ring; expected {format}",
        ),
        "key_not_string": (
            "khóa {key} không phải một chuỗi base64",
            "key {key} is not a base64 string",
        ),
        "key_not_base64": (
            "khóa {key} không phải base64 hợp lệ",
            "key {key} is not valid base64",
        ),
        "no_key": (
            "{source} không có khóa nào; cần có dạng {format}",
            "{source} holds no key; expected {format}",
        ),
        "no_current": (
            "{source} có nhiều khóa ({ids}) nhưng không nêu khóa 'current' dùng để mã hóa",
            "{source} has several keys ({ids}) and names no 'current' one to encrypt with",
        ),
        "current_not_in_source": (
            "{source}: khóa hiện hành {current} không có trong các khóa của nó ({ids})",
            "{source}: the current key {current} is not among its keys ({ids})",
        ),
        "cannot_read": (
            "không đọc được bộ khóa {path}: {error}",
            "cannot read the key ring {path}: {error}",
        ),
    },
    "codec",
)


class PayloadError(ValueError):
    """A payload cannot be read; `text` is why, in either language."""

    def __init__(self, text: Text) -> None:
        self.text = text
        super().__init__(str(text))


class PayloadKeyError(PayloadError):
    """A payload names a key the ring does not hold."""


class PayloadDecryptionError(PayloadError):
    """A payload marked encrypted is malformed, tampered with, or not under its key."""


@dataclass(frozen=True)
class KeyRing:
    """Payload keys by id; `current` encrypts. The keys never appear in its repr."""

    current: str
    keys: Mapping[str, bytes] = field(repr=False)

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            check_key_id(key_id)
            if len(key) != KEY_BYTES:
                raise Invalid(T("key_size", key=repr(key_id), size=len(key), needed=KEY_BYTES))
        if self.current not in self.keys:
            raise Invalid(T("current_not_among", current=repr(self.current), ids=self._ids()))

    def _ids(self) -> str:
        return ", ".join(sorted(self.keys)) or "-"

    @property
    def ids(self) -> list[str]:
        return sorted(self.keys)

    def with_key(self, key_id: str, key: bytes, *, current: bool = False) -> KeyRing:
        if key_id in self.keys:
            raise Invalid(T("duplicate_key", key=repr(key_id)))
        return KeyRing(current=key_id if current else self.current, keys={**self.keys, key_id: key})

    def with_current(self, key_id: str) -> KeyRing:
        return KeyRing(current=key_id, keys=self.keys)

    def to_json(self) -> str:
        keys = {k: base64.b64encode(v).decode() for k, v in self.keys.items()}
        return json.dumps({"current": self.current, "keys": keys}, indent=2) + "\n"


def check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise Invalid(T("key_id", value=repr(key_id)))
    return key_id


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def new_key_id(now: datetime | None = None) -> str:
    """A fresh id that sorts by creation: ``k20261202-1f3a``."""
    return f"k{(now or datetime.now(UTC)):%Y%m%d}-{secrets.token_hex(2)}"


def parse_keyring(text: str, source: str) -> KeyRing:
    """The key ring in `text` (JSON); ValueError names `source` and what is wrong, and
    never repeats key material."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else "invalid"
        raise Invalid(T("not_json", source=source, error=msg, format=KEYRING_FORMAT)) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("keys"), dict)
        or set(data) - {"current", "keys"}
    ):
        raise Invalid(T("not_a_ring", source=source, format=KEYRING_FORMAT))
    keys: dict[str, bytes] = {}
    for key_id, encoded in data["keys"].items():
        try:
            check_key_id(key_id)
        except ValueError as exc:
            raise Invalid(T("in_source", source=source, reason=text_of(exc))) from None
        if not isinstance(encoded, str):
            raise _in(source, T("key_not_string", key=repr(key_id)))
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise _in(source, T("key_not_base64", key=repr(key_id))) from None
        if len(key) != KEY_BYTES:
            raise _in(source, T("key_size_make", key=repr(key_id), size=len(key), needed=KEY_BYTES))
        keys[key_id] = key
    if not keys:
        raise Invalid(T("no_key", source=source, format=KEYRING_FORMAT))
    current = data.get("current")
    if current is None:
        if len(keys) > 1:
            raise Invalid(T("no_current", source=source, ids=", ".join(sorted(keys))))
        current = next(iter(keys))
    if not isinstance(current, str) or current not in keys:
        raise Invalid(
            T(
                "current_not_in_source",
                source=source,
                current=repr(current),
                ids=", ".join(sorted(keys)),
            )
        )
    return KeyRing(current=current, keys=keys)


def _in(source: str, reason: Text) -> Invalid:
    return Invalid(T("in_source", source=source, reason=reason))


def read_keyring(path: Path, source: str | None = None) -> KeyRing:
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise Invalid(T("cannot_read", path=str(path), error=os_reason(exc))) from None
    return parse_keyring(text, source)


def write_keyring(path: Path, ring: KeyRing) -> None:
    """Replace the key ring file atomically, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".payload-keys-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(ring.to_json())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def ensure_dev_keyring(path: Path) -> KeyRing:
    """The development key ring at `path`, made (once, even by several processes
    starting together) when missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".payload-keys-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(KeyRing(current=(kid := new_key_id()), keys={kid: new_key()}).to_json())
            os.chmod(tmp, 0o600)
            # Fails if another process made it first: theirs is kept.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            Path(tmp).unlink(missing_ok=True)
    return read_keyring(path)


def _aad(key_id: str) -> bytes:
    return _AAD_PREFIX + key_id.encode()


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads, under the ring's current key; decodes under any
    key of the ring and passes payloads that are not encrypted through unchanged."""

    def __init__(self, ring: KeyRing) -> None:
        super().__init__()
        self.ring = ring
        self._ciphers = {key_id: AESGCM(key) for key_id, key in ring.keys.items()}

    @property
    def key_id(self) -> str:
        return self.ring.current

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(p) for p in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(p) for p in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        key_id = self.ring.current
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[key_id].encrypt(nonce, payload.SerializeToString(), _aad(key_id))
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        if not is_encrypted(payload):
            return payload
        raw_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_id is None:
            raise PayloadDecryptionError(T("no_key_id", field=repr(KEY_ID_METADATA)))
        key_id = raw_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(T("unknown_key", key=repr(key_id), held=", ".join(self.ring.ids)))
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(T("truncated", key=repr(key_id)))
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _aad(key_id))
        except InvalidTag:
            raise PayloadDecryptionError(T("not_authentic", key=repr(key_id))) from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise PayloadDecryptionError(T("not_a_payload", key=repr(key_id))) from None


def is_encrypted(payload: Payload) -> bool:
    return payload.metadata.get("encoding") == ENCODING


# Where the SDK never applies the codec: search attributes (Temporal indexes them) and
# headers (tracing context).
NOT_ENCODED = frozenset(
    {"temporal.api.common.v1.SearchAttributes", "temporal.api.common.v1.Header"}
)


def payloads_in(message: Message, *, skip: frozenset[str] = frozenset()) -> list[Payload]:
    """Every `Payload` anywhere inside `message` (fields, lists, maps), as references
    that can be replaced in place; none inside messages of the types named in `skip`."""
    found: list[Payload] = []
    _collect(message, found, skip)
    return found


def _collect(message: Message, found: list[Payload], skip: frozenset[str]) -> None:
    if isinstance(message, Payload):
        found.append(message)
        return
    if message.DESCRIPTOR.full_name in skip:
        return
    for fd, value in message.ListFields():
        entry = fd.message_type
        if fd.type != FieldDescriptor.TYPE_MESSAGE or entry is None:
            continue
        if entry.GetOptions().map_entry:
            value_fd = entry.fields_by_name["value"]
            if value_fd.type == FieldDescriptor.TYPE_MESSAGE:
                for item in value.values():
                    _collect(item, found, skip)
        elif fd.is_repeated:
            for item in value:
                _collect(item, found, skip)
        else:
            _collect(value, found, skip)


async def decode_message(message: Message, codec: PayloadCodec) -> None:
    """Decode, in place, every payload inside `message`."""
    payloads = payloads_in(message)
    if not payloads:
        return
    decoded = await codec.decode(payloads)
    if len(decoded) != len(payloads):
        raise PayloadDecryptionError(T("count"))
    for target, plain in zip(payloads, decoded, strict=True):
        if plain is not target:
            target.CopyFrom(plain)


async def decoded_history(history: WorkflowHistory, codec: PayloadCodec | None) -> WorkflowHistory:
    """A copy of `history` with every payload decoded (the history itself is left as
    it is); without a codec, the history itself."""
    if codec is None:
        return history
    events: list[HistoryEvent] = []
    for event in history.events:
        copy = HistoryEvent()
        copy.CopyFrom(event)
        await decode_message(copy, codec)
        events.append(copy)
    return WorkflowHistory(history.workflow_id, events)


def payload_json(payload: Payload) -> dict[str, Any]:
    """A payload in the codec server protocol's JSON (proto3 JSON: base64 bytes)."""
    return {
        "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
        "data": base64.b64encode(payload.data).decode(),
    }
