"""`motcua keys`: the key ring encrypting personal data in Temporal payloads."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _fail, _settings
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

keys_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Bộ khóa mã hóa dữ liệu cá nhân trong payload của Temporal (không bao giờ in ra).",
    no_args_is_help=True,
)


FILE_OPTION = typer.Option(
    "--file",
    help="tệp bộ khóa (mặc định: MOTCUA_PAYLOAD_KEYS_FILE, hoặc khi phát triển "
    "state_dir/payload-keys.json); được tạo nếu chưa có",
)


def _keyring_file(given: Path | None) -> Path:
    if given is not None:
        return given
    path = _settings().resolved_payload_keys_file
    if path is None:
        raise _fail(
            "khóa payload lấy từ MOTCUA_PAYLOAD_KEYS: hãy chỉ tệp bộ khóa cần thêm vào bằng --file"
        )
    return path


@keys_app.command("new")
def keys_new(
    current: Annotated[
        bool, typer.Option("--current", help="từ nay mã hóa payload mới bằng khóa này")
    ] = False,
    key_id: Annotated[
        str | None, typer.Option("--id", help="mã của khóa (mặc định: theo ngày tạo)")
    ] = None,
    file: Annotated[Optional[Path], FILE_OPTION] = None,  # noqa: UP045
) -> None:
    """Thêm một khóa AES-256 ngẫu nhiên mới vào tệp bộ khóa (tạo tệp, với khóa này là khóa
    hiện hành, nếu chưa có). Thay khóa: thêm khóa, khởi động lại mọi tiến trình để tất cả đọc
    được nó, rồi đặt nó làm khóa hiện hành (`keys use`, hoặc MOTCUA_PAYLOAD_KEY_ID) và khởi
    động lại lần nữa. Giữ các khóa cũ chừng nào còn lịch sử (trong Temporal hoặc kho lưu trữ)
    được mã hóa bằng chúng. Chỉ in mã khóa."""
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
    state = (
        "là khóa hiện hành"
        if ring.current == kid
        else f"chưa là khóa hiện hành (hiện hành: {ring.current})"
    )
    typer.echo(f"đã thêm khóa {kid} vào {path}, {state}")


@keys_app.command("use")
def keys_use(key_id: str, file: Annotated[Optional[Path], FILE_OPTION] = None) -> None:  # noqa: UP045
    """Đặt một khóa của tệp bộ khóa làm khóa hiện hành (payload mới được mã hóa bằng khóa đó)."""
    from infra.codec import read_keyring, write_keyring

    path = _keyring_file(file)
    try:
        ring = read_keyring(path)
        if key_id not in ring.keys:
            raise ValueError(f"{path} không có khóa {key_id!r} (các khóa: {', '.join(ring.ids)})")
    except ValueError as exc:
        raise _fail(str(exc)) from None
    write_keyring(path, ring.with_current(key_id))
    typer.echo(f"{key_id} nay là khóa hiện hành của {path}")


@keys_app.command("list")
def keys_list() -> None:
    """Mã của các khóa đang dùng (không bao giờ in khóa), đánh dấu khóa hiện hành."""
    from infra.settings import keyring_for

    try:
        ring = keyring_for(_settings())
    except ValueError as exc:
        raise _fail(str(exc)) from None
    for kid in ring.ids:
        typer.echo(f"{kid}{'  (hiện hành)' if kid == ring.current else ''}")
