"""`motcua keys`: the key ring encrypting personal data in Temporal payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _fail, _settings

keys_app = typer.Typer(
    help="The key ring encrypting personal data in Temporal payloads (never printed).",
    no_args_is_help=True,
)


FILE_OPTION = typer.Option(
    "--file",
    help="the key ring file (default: MOTCUA_PAYLOAD_KEYS_FILE, or in development "
    "state_dir/payload-keys.json); made if missing",
)


def _keyring_file(given: Path | None) -> Path:
    if given is not None:
        return given
    path = _settings().resolved_payload_keys_file
    if path is None:
        raise _fail(
            "the payload keys come from MOTCUA_PAYLOAD_KEYS: give the ring file to add to "
            "with --file"
        )
    return path


@keys_app.command("new")
def keys_new(
    current: Annotated[
        bool, typer.Option("--current", help="encrypt new payloads with it from now on")
    ] = False,
    key_id: Annotated[Optional[str], typer.Option("--id", help="its id (default: dated)")] = None,  # noqa: UP045
    file: Annotated[Optional[Path], FILE_OPTION] = None,  # noqa: UP045
) -> None:
    """Add a new random AES-256 key to the key ring file (made, with this key current, if
    missing). Rotation: add the key, restart every process so that all can read it, then
    make it current (`keys use`, or MOTCUA_PAYLOAD_KEY_ID) and restart again. Keep the old
    keys while any history (in Temporal or the archive) is under them. Prints the id only."""
    from infra.codec import KeyRing, check_key_id, new_key, new_key_id, read_keyring, write_keyring

    path = _keyring_file(file)
    try:
        kid = check_key_id(key_id) if key_id else new_key_id()
        if path.exists():
            ring = read_keyring(path).with_key(kid, new_key(), current=current)
        else:
            ring = KeyRing(current=kid, keys={kid: new_key()})
    except ValueError as exc:
        raise _fail(str(exc)) from None
    write_keyring(path, ring)
    state = "current" if ring.current == kid else f"not current (current: {ring.current})"
    typer.echo(f"added key {kid} to {path}, {state}")


@keys_app.command("use")
def keys_use(key_id: str, file: Annotated[Optional[Path], FILE_OPTION] = None) -> None:  # noqa: UP045
    """Make a key of the ring file the current one (new payloads are encrypted with it)."""
    from infra.codec import read_keyring, write_keyring

    path = _keyring_file(file)
    try:
        ring = read_keyring(path)
        if key_id not in ring.keys:
            raise ValueError(f"{path} has no key {key_id!r} (its keys: {', '.join(ring.ids)})")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    write_keyring(path, ring.with_current(key_id))
    typer.echo(f"{key_id} is now the current key of {path}")


@keys_app.command("list")
def keys_list() -> None:
    """The ids of the keys in use (never the keys), the current one marked."""
    from infra.settings import keyring_for

    try:
        ring = keyring_for(_settings())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for kid in ring.ids:
        typer.echo(f"{kid}{'  (current)' if kid == ring.current else ''}")
