"""`motcua pki init` and `motcua verify`: the development CA, and checking a signed PDF."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from motcua.cli._common import _catalog, _fail, _settings, app

pki_app = typer.Typer(
    help="Signing keys: the development CA, and what the key manifest holds.",
    no_args_is_help=True,
)


@pki_app.command("init")
def pki_init(
    force: Annotated[bool, typer.Option(help="make a new CA, replacing every key")] = False,
) -> None:
    """Create the development CA (root, intermediate), a seal for every agency of the
    catalog and a certificate for every demo signer, under state_dir/pki."""
    from motcua.stack import ensure_dev_pki

    settings = _settings()
    try:
        manifest = ensure_dev_pki(settings, _catalog(), force=force)
    except ValueError as exc:
        raise _fail(str(exc)) from None
    typer.echo(f"key manifest: {manifest}")
    typer.echo(f"trust root:   {manifest.parent / 'root.pem'}")
    typer.echo(
        "verify a document outside motcua with: "
        f"pyhanko sign validate --no-revocation-check --trust {manifest.parent / 'root.pem'} FILE.pdf"
    )


@app.command("verify")
def verify_cmd(
    file: Annotated[Path, typer.Argument(help="the PDF to verify", exists=True, dir_okay=False)],
    trust: Annotated[
        Optional[list[Path]],  # noqa: UP045
        typer.Option(help="trust root PEM (repeatable; default: the key manifest's roots)"),
    ] = None,
    offline: Annotated[
        bool, typer.Option(help="check the signatures only, not the read model's record")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the full report as JSON")] = False,
) -> None:
    """Verify a signed PDF: signers, chain, untouched since signing, and whether it is
    a document motcua issued. Exit code 0 valid, 1 not valid."""
    from services.verification import verify_document
    from signatures.signing import KeyStore, load_trust_roots

    settings = _settings()
    if trust:
        roots = load_trust_roots(trust)
    elif settings.resolved_pki_manifest.is_file():
        roots = KeyStore.load(settings.resolved_pki_manifest).trust_roots
    else:
        raise _fail("no trust roots: give --trust ROOT.pem or run `motcua pki init`")
    engine = None
    if not offline:
        from motcua.stack import read_model

        engine = read_model(settings)
    result = verify_document(file.read_bytes(), roots, engine)
    if as_json:
        typer.echo(result.model_dump_json(indent=2))
    else:
        typer.echo(f"{file}: {'VALID' if result.valid else 'NOT VALID'}")
        for sig in result.signatures.signatures:
            who = f"{sig.name or sig.subject} ({sig.kind or '?'}, {sig.agency_code or '?'})"
            typer.echo(
                f"  {sig.field_name}: {who}: intact={sig.intact} trusted={sig.trusted} "
                f"signed {sig.signing_time}"
                + (f", timestamp {sig.timestamp_time}" if sig.timestamp_time else "")
            )
        if result.dossier.recorded:
            typer.echo(
                f"  document {result.dossier.document_id} of dossier {result.dossier.dossier_code}"
            )
        for problem in result.problems:
            typer.echo(f"  problem: {problem}")
    raise typer.Exit(0 if result.valid else 1)
