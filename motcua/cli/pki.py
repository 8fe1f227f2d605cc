"""`motcua pki init|revoke|retimestamp` and `motcua verify`: the development CA, renewing the
archive's timestamps, and checking a signed PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import TZ, _catalog, _fail, _settings, app
from motcua.cli._frame import OPTIONS_METAVAR, SUBCOMMAND_METAVAR

pki_app = typer.Typer(
    options_metavar=OPTIONS_METAVAR,
    subcommand_metavar=SUBCOMMAND_METAVAR,
    help="Khóa ký số: CA phát triển và nội dung danh mục khóa.",
    no_args_is_help=True,
)


@pki_app.command("init")
def pki_init(
    force: Annotated[bool, typer.Option(help="tạo CA mới, thay mọi khóa")] = False,
    ca_services: Annotated[
        bool,
        typer.Option(
            help="chứng thư số ghi địa chỉ CRL và OCSP do `motcua dev` phục vụ; "
            "--no-ca-services khi chạy thử không có dịch vụ đó (docker compose)"
        ),
    ] = True,
) -> None:
    """Tạo CA phát triển (gốc, trung gian), con dấu cho mọi cơ quan trong danh mục và chứng
    thư số cho mọi người ký thử nghiệm, trong state_dir/pki."""
    from motcua.stack import ensure_dev_pki

    settings = _settings()
    try:
        manifest = ensure_dev_pki(settings, _catalog(), force=force, ca_services=ca_services)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    root = manifest.parent / "root.pem"
    typer.echo(f"danh mục khóa: {manifest}")
    typer.echo(f"gốc tin cậy:   {root}")
    if ca_services:
        typer.echo(
            f"dịch vụ của CA: {settings.dev_ca_url} (CRL, OCSP, cấp dấu thời gian; "
            "`motcua dev` chạy các dịch vụ này)"
        )
    typer.echo(
        "kiểm tra một văn bản ngoài motcua bằng: "
        f"pyhanko sign validate --force-revinfo --trust-replace --trust {root} FILE.pdf "
        "(khi CA đang chạy), hoặc không cần mạng: "
        f"pyhanko sign adesverify --trust-replace --trust {root} FILE.pdf"
    )


@pki_app.command("revoke")
def pki_revoke(
    user_id: Annotated[
        Optional[str],  # noqa: UP045
        typer.Argument(help="cán bộ (tên đăng nhập) có chứng thư số cần thu hồi"),
    ] = None,
    seal: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="thu hồi con dấu của cơ quan này (mã cơ quan)"),
    ] = None,
    reason: Annotated[
        str, typer.Option(help="lý do thu hồi: key_compromise, affiliation_changed, ...")
    ] = ("key_compromise"),
) -> None:
    """Thu hồi một chứng thư số của CA phát triển: CRL liệt kê nó và OCSP trả lời "revoked"
    ngay, khóa đó không ký được nữa."""
    from signatures.dev_ca import revoke
    from signatures.pki import read_manifest

    settings = _settings()
    if settings.pki_manifest is not None:
        raise _fail("chứng thư số thật do CA của tỉnh thu hồi: lệnh này chỉ dành cho CA phát triển")
    if (user_id is None) == (seal is None):
        raise _fail("chỉ rõ một cán bộ (USER_ID) hoặc một con dấu (--seal MÃ_CƠ_QUAN)")
    manifest_path = settings.resolved_pki_manifest
    if not manifest_path.is_file():
        raise _fail("chưa có CA phát triển: hãy chạy `motcua pki init`")
    section, key = ("signers", user_id) if user_id is not None else ("seals", seal)
    entry = (read_manifest(manifest_path).get(section) or {}).get(key)
    if not isinstance(entry, dict) or "cert" not in entry:
        raise _fail(f"không có chứng thư số của {key} trong {manifest_path}")
    try:
        done = revoke(manifest_path.parent, manifest_path.parent / entry["cert"], reason=reason)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(
        f"đã thu hồi {done.subject} (số hiệu {done.serial:x}) lúc "
        f"{done.revoked_at.astimezone(TZ):%H:%M %d/%m/%Y}"
    )


@pki_app.command("retimestamp")
def pki_retimestamp(
    within_days: Annotated[
        int,
        typer.Option(help="gia hạn dấu thời gian có chứng thư TSA hết hạn trong chừng này ngày"),
    ] = 365,
    dry_run: Annotated[bool, typer.Option(help="chỉ liệt kê, không gia hạn")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="in danh sách dạng JSON")] = False,
) -> None:
    """Gia hạn dấu thời gian văn bản (PAdES B-LTA) của mọi văn bản đã ký có dấu thời gian
    cuối hết hạn trong --within-days ngày: dữ liệu xác minh và dấu thời gian mới từ
    MOTCUA_TSA_URL (của CA phát triển khi chạy `motcua dev`). Chạy hằng năm. Mã thoát 1 nếu
    có văn bản không gia hạn được."""
    import datetime as dt
    import json

    from infra.docstore import open_document_store
    from motcua.stack import read_model
    from services.timestamps import renew_archive_timestamps
    from signatures.signing import KeyStore

    settings = _settings()
    tsa_url = settings.tsa_url
    if tsa_url is None and settings.pki_manifest is None:
        from signatures.pki import tsa_url as dev_tsa_url

        tsa_url = dev_tsa_url(settings.dev_ca_url)
    if tsa_url is None:
        raise _fail("hãy đặt MOTCUA_TSA_URL: tổ chức cấp dấu thời gian dùng để gia hạn")
    if not settings.resolved_pki_manifest.is_file():
        raise _fail("chưa có danh mục khóa (MOTCUA_PKI_MANIFEST, hoặc `motcua pki init`)")
    keys = KeyStore.load(settings.resolved_pki_manifest)
    renewals = renew_archive_timestamps(
        read_model(settings),
        open_document_store(settings.resolved_document_store),
        keys,
        tsa_url,
        within=dt.timedelta(days=within_days),
        dry_run=dry_run,
    )
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in renewals], indent=2))
    else:
        for r in renewals:
            until = f"{r.valid_until.astimezone(TZ):%d/%m/%Y}" if r.valid_until else "-"
            state = (
                f"đã gia hạn, nay có giá trị đến {r.new_valid_until.astimezone(TZ):%d/%m/%Y}"
                if r.renewed and r.new_valid_until
                else r.problem or "giữ nguyên"
            )
            typer.echo(f"{r.document_id}: dấu thời gian có giá trị đến {until}: {state}")
    failed = [r for r in renewals if r.problem and r.valid_until is not None]
    raise typer.Exit(1 if failed else 0)


@app.command("verify")
def verify_cmd(
    file: Annotated[Path, typer.Argument(help="tệp PDF cần xác minh", exists=True, dir_okay=False)],
    trust: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(help="gốc tin cậy PEM (lặp lại được; mặc định: các gốc của danh mục khóa)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="chỉ kiểm tra chữ ký, không đối chiếu hồ sơ trong dữ liệu đọc")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="in toàn bộ báo cáo dạng JSON")] = False,
) -> None:
    """Xác minh một tệp PDF đã ký: người ký, chuỗi chứng thư, không bị sửa từ khi ký, và có
    phải văn bản do motcua ban hành không. Mã thoát 0: hợp lệ, 1: không hợp lệ."""
    from services.verification import verify_document
    from signatures.signing import KeyStore, load_trust_roots

    settings = _settings()
    if trust:
        roots = load_trust_roots(trust)
    elif settings.resolved_pki_manifest.is_file():
        roots = KeyStore.load(settings.resolved_pki_manifest).trust_roots
    else:
        raise _fail("chưa có gốc tin cậy: hãy dùng --trust ROOT.pem hoặc chạy `motcua pki init`")
    engine = None
    if not offline:
        from motcua.stack import read_model

        engine = read_model(settings)
    store = None
    if not offline:
        from infra.docstore import open_document_store

        store = open_document_store(settings.resolved_document_store)
    result = verify_document(file.read_bytes(), roots, engine, store=store)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(f"{file}: {'HỢP LỆ (VALID)' if result.valid else 'KHÔNG HỢP LỆ (NOT VALID)'}")
        for sig in result.signatures.signatures:
            who = f"{sig.name or sig.subject} ({sig.kind or '?'}, {sig.agency_code or '?'})"
            typer.echo(
                f"  {sig.field_name}: {who}: nguyên vẹn={sig.intact} tin cậy={sig.trusted} "
                f"ký lúc {sig.signing_time}"
                + (f", dấu thời gian {sig.timestamp_time}" if sig.timestamp_time else "")
            )
        if result.dossier.recorded:
            typer.echo(
                f"  văn bản {result.dossier.document_id} của hồ sơ {result.dossier.dossier_code}"
            )
        for problem in result.problems:
            typer.echo(f"  vấn đề: {problem}")
    raise typer.Exit(0 if result.valid else 1)
