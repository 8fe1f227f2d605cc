"""The README's walkthrough runs as written: its `act $XX '<json>'` lines, in order, through
the real API as the demo roles its token variables name, on a counter dossier of 3.000333
filed as the README files it. A line whose comment says 403 must be refused with 403; every
other line must be taken; the dossier ends returned. (The walkthrough once broke silently:
after fees came in, its return was refused for the unpaid fee.)"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.api.support import (
    INTAKE,
    LEADER,
    RETURNER,
    SIGNER,
    SPECIALIST,
    Api,
    act,
    caught_up,
    submit,
)

README = Path(__file__).resolve().parents[2] / "README.md"
# The variables `make run` exports (motcua.stack.TOKEN_VARIABLES) the walkthrough acts as.
WHO = {"IO": INTAKE, "SP": SPECIALIST, "LD": LEADER, "SG": SIGNER, "RO": RETURNER}
LINE = re.compile(r"^act \$(?P<who>[A-Z]{2}) '(?P<body>[^']*)'\s*(?:#\s*(?P<note>.*))?$")


def walkthrough() -> list[tuple[str, dict[str, object], str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    steps = [m for line in lines if (m := LINE.match(line.strip()))]
    assert len(steps) >= 6, "the README's walkthrough lost its act lines"
    return [(m["who"], json.loads(m["body"]), m["note"] or "") for m in steps]


async def test_the_readme_walkthrough_runs_as_written(api: Api, http: httpx.AsyncClient) -> None:
    code = await submit(api, http, api.person("readme"))
    await caught_up(api, http, code)
    for who, body, note in walkthrough():
        action = str(body.pop("action"))
        r = await act(api, http, code, WHO[who], action, **body)
        expected = 403 if note.startswith("403") else 200
        assert r.status_code == expected, (who, action, r.text)
    await caught_up(api, http, code)
    r = await http.get(f"/v1/dossiers/{code}", headers=api.headers(*RETURNER))
    assert r.json()["status"] == "returned", r.json()["status"]
