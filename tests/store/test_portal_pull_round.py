"""One round of the portal's pull against the stand-in portal (a real HTTP server), on
SQLite and PostgreSQL, for what must not reach Temporal: a malformed dossier is skipped
and logged without its personal data; a dossier whose files the portal keeps failing
to give holds the round back (retried from the same cursor) until the round's attempts
run out, then is skipped, and nothing was bound for it."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from temporalio.testing import ActivityEnvironment

from activities.contracts import PortalPullInput
from domain.catalog import load_catalog
from infra.docstore import FolderStore
from infra.portal_client import PortalUnavailable
from infra.settings import REPO_ROOT, Settings
from services.dossiers import DossierService
from services.portal_intake import (
    PULL_GIVE_UP_ATTEMPTS,
    PortalIntake,
    PortalPullActivities,
    portal_client,
)
from store import repository as repo
from tests.files import pdf
from tests.portal_simulator import FILES, PortalSimulator


def dossier(sim: PortalSimulator, code: str, id_number: str) -> dict[str, Any]:
    return {
        "MaHoSo": code,
        "MaTTHC": "3.000333",
        "NgayNopHoSo": datetime.now(UTC).isoformat(),
        "ChuHoSo": {"HoTen": "Phạm Thị Riêng", "SoGiayTo": id_number},
        "TaiLieuNop": [
            {
                "MaThanhPhan": "to_khai",
                "TenTep": "to-khai.pdf",
                "DuongDan": sim.add_file(f"{code}.pdf", pdf(code)),
            }
        ],
    }


async def test_a_round_skips_what_cannot_be_started(
    engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with PortalSimulator() as sim:
        settings = Settings(
            state_dir=tmp_path,
            portal_pull_url=sim.feed_url,
            portal_token=sim.token,
            portal_timeout_seconds=2,
        )
        catalog = load_catalog(REPO_ROOT / "procedures")
        # No Temporal: nothing here may get as far as starting a workflow.
        service = DossierService(None, engine, catalog, settings)  # type: ignore[arg-type]
        intake = PortalIntake(service, FolderStore(tmp_path / "docs"), portal_client(settings))
        pull = PortalPullActivities(intake, settings).pull_portal_dossiers
        malformed = {**dossier(sim, "G22.99-X-0001", "079123456789"), "NgayNopHoSo": "hôm qua"}
        stuck = dossier(sim, "G22.99-X-0002", "079123456780")
        sim.file(malformed, stuck)
        sim.fail(FILES, *[500] * 5)

        env = ActivityEnvironment()
        with caplog.at_level(logging.WARNING), pytest.raises(PortalUnavailable):
            await env.run(pull, PortalPullInput())
        env.info = dataclasses.replace(env.info, attempt=PULL_GIVE_UP_ATTEMPTS)
        with caplog.at_level(logging.WARNING):
            result = await env.run(pull, PortalPullInput())

    assert (result.cursor, result.received, result.refused, result.started) == ("2", 2, 2, 0)
    assert repo.portal_dossier(engine, "G22.99-X-0002") is None  # no number consumed
    logged = caplog.text
    assert "G22.99-X-0001" in logged and "NgayNopHoSo" in logged
    assert "079123456789" not in logged and "Phạm Thị Riêng" not in logged
    # Kept for the operators (the pull will not ask for them again), without personal
    # data; the retried round met the malformed one twice.
    skipped = {r.portal_code: r for r in repo.portal_skipped(engine)}
    assert set(skipped) == {"G22.99-X-0001", "G22.99-X-0002"}
    malformed_row, stuck_row = skipped["G22.99-X-0001"], skipped["G22.99-X-0002"]
    assert "NgayNopHoSo" in malformed_row.reason and not malformed_row.unavailable
    assert malformed_row.times == 2 and malformed_row.via == "pull"
    assert stuck_row.unavailable and stuck_row.times == 1
    assert not any("079123456789" in r.reason or "Riêng" in r.reason for r in skipped.values())
