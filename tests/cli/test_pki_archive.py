"""`motcua pki retimestamp` and `motcua pki revoke`, as an archives officer and a
development operator run them, on both databases.

A result issued under a TSA certificate that expires in 30 days gets its document timestamp
renewed from the TSA's next certificate; the row points at the renewed file; the copy the
applicant got before still verifies as that document. A document without a document
timestamp is listed, not touched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from infra.docstore import open_document_store
from infra.settings import get_settings
from motcua.cli import app
from services.verification import verify_document
from signatures import dev_ca
from signatures.pki import DEV_TSA_IDENTITY, init_dev_pki, issue_certificate
from signatures.signing import KeyStore, sign_pdf, timestamp_valid_until
from store import repository
from store.schemas import DocumentRecord
from tests.unit.test_pades import _free_port, _signed_and_sealed
from tests.unit.test_signing import AGENCY, AGENCY_NAME, OFFICER, make_pdf, officer

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(os.environ):
        if (name.startswith("MOTCUA_") and name != "MOTCUA_PAYLOAD_KEYS") or name == "DATABASE_URL":
            monkeypatch.delenv(name)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def _record(engine: Engine, code: str, sha: str, size: int) -> None:
    repository.add_documents(
        engine,
        [
            DocumentRecord(
                id=f"{code}:result",
                dossier_code=code,
                form="result",
                title="Giấy chứng nhận",
                sha256=sha,
                size=size,
                created_at=dt.datetime.now(dt.UTC),
                source="result",
                signers=[f"signer:ca-ky-01@{AGENCY}", f"seal:{AGENCY}"],
            )
        ],
    )


def test_retimestamp_renews_what_lapses(engine: Engine, clean_env: None, tmp_path: Path) -> None:
    port = _free_port()
    pki = tmp_path / "pki"
    manifest = init_dev_pki(
        pki,
        agencies={AGENCY: AGENCY_NAME},
        signers=[officer("ca-ky-01")],
        ca_url=f"http://127.0.0.1:{port}",
    )
    now = dt.datetime.now(dt.UTC)
    issue_certificate(pki, DEV_TSA_IDENTITY, not_after=now + dt.timedelta(days=30))
    store = open_document_store(str(tmp_path / "documents"))
    keys = KeyStore.load(manifest)
    with dev_ca.serving(pki, port=port) as server:
        issued = _signed_and_sealed(pki, server.tsa_url)
        plain = sign_pdf(
            make_pdf("000.00.20.H99-261122-0002"),
            keys.signer("ca-ky-01", **OFFICER),
            field_name="ChuKy",
            reason="Ký",
            location="Hà Nội",
        )
    _record(engine, "000.00.20.H99-261122-0001", store.put(issued), len(issued))
    _record(engine, "000.00.20.H99-261122-0002", store.put(plain), len(plain))
    issue_certificate(pki, DEV_TSA_IDENTITY)  # the TSA's next certificate

    env = {
        "DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "MOTCUA_STATE_DIR": str(tmp_path / "state"),
        "MOTCUA_PKI_MANIFEST": str(manifest),
        "MOTCUA_DOCUMENT_STORE": str(tmp_path / "documents"),
        "MOTCUA_TSA_URL": f"http://127.0.0.1:{port}/tsa",
    }
    with dev_ca.serving(pki, port=port):
        listed = runner.invoke(app, ["pki", "retimestamp", "--dry-run", "--json"], env=env)
        assert listed.exit_code == 0, listed.output
        assert [r["renewed"] for r in json.loads(listed.stdout)] == [False, False]
        assert repository.get_document(engine, "000.00.20.H99-261122-0001:result").sha256 == (
            store.put(issued)
        )
        result = runner.invoke(app, ["pki", "retimestamp", "--json"], env=env)
    assert result.exit_code == 0, result.output
    first, second = json.loads(result.stdout)
    assert first["renewed"] is True and first["problem"] is None
    assert dt.datetime.fromisoformat(first["valid_until"]) < now + dt.timedelta(days=31)
    assert dt.datetime.fromisoformat(first["new_valid_until"]) > now + dt.timedelta(days=1000)
    assert second["renewed"] is False and "không phải PAdES B-LTA" in second["problem"]

    row = repository.get_document(engine, "000.00.20.H99-261122-0001:result")
    assert row is not None and row.sha256 == first["sha256"]
    renewed = store.get(row.sha256)
    assert renewed.startswith(issued) and len(renewed) == row.size
    until = timestamp_valid_until(renewed)
    assert until is not None and until > now + dt.timedelta(days=1000)

    # the file the applicant got at issue still verifies as that document
    roots = keys.trust_roots
    old_copy = verify_document(issued, roots, engine, store=store)
    assert old_copy.valid, old_copy.problems
    assert old_copy.dossier.recorded and old_copy.dossier.renewed_since
    assert verify_document(renewed, roots, engine, store=store).dossier.renewed_since is False
    # ... but not a revision of it cut before the seal
    cut = issued[: issued.index(b"%%EOF", len(issued) // 3) + 5]
    partial = verify_document(cut, roots, engine, store=store)
    assert not partial.dossier.recorded and not partial.valid

    # nothing lapses within a year any more
    again = runner.invoke(app, ["pki", "retimestamp", "--dry-run"], env=env)
    assert again.exit_code == 0, again.output
    lines = again.stdout.splitlines()
    assert lines[0].startswith("000.00.20.H99-261122-0001:result: dấu thời gian có giá trị đến ")
    assert lines[0].endswith(": giữ nguyên") and "không gia hạn được" in lines[1]


def test_revoke_a_dev_officer(clean_env: None, tmp_path: Path) -> None:
    state = tmp_path / "state"
    init_dev_pki(state / "pki", agencies={AGENCY: AGENCY_NAME}, signers=[officer("ca-ky-01")])
    env = {"MOTCUA_STATE_DIR": str(state)}
    result = runner.invoke(app, ["pki", "revoke", "ca-ky-01"], env=env)
    assert result.exit_code == 0, result.output
    assert "đã thu hồi" in result.stdout and "UID=ca-ky-01" in result.stdout
    (revoked,) = dev_ca.revocations(state / "pki")
    assert revoked.issuer == "intermediate" and revoked.reason == "key_compromise"
    missing = runner.invoke(app, ["pki", "revoke", "ai-do"], env=env)
    assert missing.exit_code == 2 and "không có chứng thư số của ai-do" in missing.output
    both = runner.invoke(app, ["pki", "revoke", "ca-ky-01", "--seal", AGENCY], env=env)
    assert both.exit_code == 2


def test_pki_init_names_the_dev_ca_unless_told_not_to(clean_env: None, tmp_path: Path) -> None:
    from signatures.pki import load_certificate

    env = {"MOTCUA_STATE_DIR": str(tmp_path), "MOTCUA_API_PORT": "18850"}
    result = runner.invoke(app, ["pki", "init"], env=env)
    assert result.exit_code == 0, result.output
    assert "dịch vụ của CA: http://127.0.0.1:18851" in result.output
    seal = load_certificate(tmp_path / "pki" / "seals" / "000.00.01.H99.pem")
    urls = [str(e.value) for e in seal.extensions if "1.3.6.1.5.5.7.1.1" in str(e.oid)]
    assert "http://127.0.0.1:18851/ocsp/intermediate" in urls[0]

    # a trial under docker compose: nothing would answer those addresses
    result = runner.invoke(app, ["pki", "init", "--no-ca-services", "--force"], env=env)
    assert result.exit_code == 0, result.output
    assert "dịch vụ của CA" not in result.output
    seal = load_certificate(tmp_path / "pki" / "seals" / "000.00.01.H99.pem")
    assert not [e for e in seal.extensions if "1.3.6.1.5.5.7.1.1" in str(e.oid)]
