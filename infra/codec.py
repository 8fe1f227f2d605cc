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


class PayloadKeyError(ValueError):
    """A payload names a key the ring does not hold."""


class PayloadDecryptionError(ValueError):
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
                raise ValueError(f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}")
        if self.current not in self.keys:
            raise ValueError(
                f"the current key {self.current!r} is not among the keys ({self._ids()})"
            )

    def _ids(self) -> str:
        return ", ".join(sorted(self.keys)) or "none"

    @property
    def ids(self) -> list[str]:
        return sorted(self.keys)

    def with_key(self, key_id: str, key: bytes, *, current: bool = False) -> KeyRing:
        if key_id in self.keys:
            raise ValueError(f"the key ring already has a key {key_id!r}")
        return KeyRing(current=key_id if current else self.current, keys={**self.keys, key_id: key})

    def with_current(self, key_id: str) -> KeyRing:
        return KeyRing(current=key_id, keys=self.keys)

    def to_json(self) -> str:
        keys = {k: base64.b64encode(v).decode() for k, v in self.keys.items()}
        return json.dumps({"current": self.current, "keys": keys}, indent=2) + "\n"


def check_key_id(key_id: str) -> str:
    if not isinstance(key_id, str) or not _KEY_ID.fullmatch(key_id):
        raise ValueError(
            f"{key_id!r} is not a key id (1-64 letters, digits, '.', '_' or '-'; "
            "it is stored in clear beside every payload, so it must name no person)"
        )
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
        raise ValueError(f"{source} is not JSON ({msg}); expected {KEYRING_FORMAT}") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("keys"), dict)
        or set(data) - {"current", "keys"}
    ):
        raise ValueError(f"{source} is not a key ring; expected {KEYRING_FORMAT}")
    keys: dict[str, bytes] = {}
    for key_id, encoded in data["keys"].items():
        try:
            check_key_id(key_id)
        except ValueError as exc:
            raise ValueError(f"{source}: {exc}") from None
        if not isinstance(encoded, str):
            raise ValueError(f"{source}: key {key_id!r} is not a base64 string")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{source}: key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise ValueError(
                f"{source}: key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES} "
                "(make one with `motcua keys new`)"
            )
        keys[key_id] = key
    if not keys:
        raise ValueError(f"{source} holds no key; expected {KEYRING_FORMAT}")
    current = data.get("current")
    if current is None:
        if len(keys) > 1:
            raise ValueError(
                f"{source} has several keys ({', '.join(sorted(keys))}) and names no "
                "'current' one to encrypt with"
            )
        current = next(iter(keys))
    if not isinstance(current, str) or current not in keys:
        raise ValueError(
            f"{source}: the current key {current!r} is not among its keys "
            f"({', '.join(sorted(keys))})"
        )
    return KeyRing(current=current, keys=keys)


def read_keyring(path: Path, source: str | None = None) -> KeyRing:
    source = source or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"cannot read the key ring {path}: {exc.strerror}") from None
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
            raise PayloadDecryptionError(
                f"an encrypted payload has no {KEY_ID_METADATA!r}: not one of motcua's"
            )
        key_id = raw_id.decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadKeyError(
                f"payload encrypted under key {key_id!r}, which is not in the key ring "
                f"(it holds {', '.join(self.ring.ids)}): add that key to "
                "MOTCUA_PAYLOAD_KEYS_FILE to read it"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(f"payload under key {key_id!r} is truncated")
        try:
            plain = cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], _aad(key_id))
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload under key {key_id!r} fails authentication: altered, or encrypted "
                "with another key of that id"
            ) from None
        try:
            return Payload.FromString(plain)
        except DecodeError:
            raise PayloadDecryptionError(
                f"payload under key {key_id!r} decrypts to something not a payload"
            ) from None


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
        raise PayloadDecryptionError("the codec returned another number of payloads")
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
