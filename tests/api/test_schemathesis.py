"""Schemathesis against the running API's /openapi.json: no generated input, valid or not,
may make the server answer 5xx.

The `st run` CLI runs in a subprocess, awaited without blocking the event loop that
serves uvicorn and runs the workers. Requests carry a valid intake officer's token, so
generated bodies reach the handlers (and the workflows) instead of stopping at 401.
NUL characters are generated too: PostgreSQL text cannot hold them, and the API must
refuse them with a 422 rather than fail with a 500.

A config file gives the generator, half of the time, the codes of real dossiers, the
applicant's ID number and real procedure codes, so that fuzzing also reaches the
workflows instead of stopping at 404. Bounded by count, not by time: the coverage phase's
cases and 10 fuzzed examples per operation, from a fixed seed (about 1,200 cases, 17 s per
database here); with a time budget instead (`--max-time`), fuzzing repeats until the
budget is spent, so every run took the whole budget, and a busy machine generated fewer
cases in it.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import pytest

from tests.api.support import INTAKE, Api, submission

pytestmark = pytest.mark.slow

ST = Path(sys.executable).with_name("st")
MAX_EXAMPLES = 10  # fuzzed per operation, after the coverage phase's cases
MIN_CASES = 1000  # fewer: the generator reached less of the schema than it did (1,209)
RUN_TIMEOUT_S = 240  # a hung run, not a slow one (within the test's own 300 s)


CONFIG = """
[dictionaries.codes]
values = [{codes}]
[dictionaries.ids]
values = [{ids}]
[dictionaries.procedures]
values = ["3.000333", "2.000635", "1.001612", "1.009994"]

[parameters]
"path.code" = {{ dictionary = "codes", probability = 0.5 }}
"query.id_number" = {{ dictionary = "ids", probability = 0.5 }}
"body.procedure_code" = {{ dictionary = "procedures", probability = 0.5 }}
"""


async def test_no_server_error_on_any_generated_input(api: Api, tmp_path: Path) -> None:
    headers = api.headers(*INTAKE)
    people = [api.person(), api.person()]
    codes = []
    async with api.http() as http:
        for person in people:
            r = await http.post("/v1/dossiers", json=submission(person), headers=headers)
            assert r.status_code == 201, r.text
            codes.append(r.json()["code"])
    config = tmp_path / "schemathesis.toml"
    config.write_text(
        CONFIG.format(
            codes=", ".join(f'"{c}"' for c in [*codes, "3.000333"]),
            ids=", ".join(f'"{p.id_number}"' for p in people),
        )
    )
    cmd = [
        str(ST),
        "--config-file",
        str(config),
        "run",
        f"{api.url}/openapi.json",
        "--checks",
        "not_a_server_error",
        "--header",
        f"Authorization: Bearer {api.token(*INTAKE, sub='schemathesis-officer')}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--phases",
        "examples,coverage,fuzzing",
        # One worker: with several, hypothesis's lambda-source cache (ast in threads) fails
        # now and then with "AST constructor recursion depth mismatch" (a runtime error of
        # the tool, not of the API).
        "--workers",
        "1",
        "--seed",
        "20250701",
        "--generation-database",
        "none",
        "--request-timeout",
        "20",
        "--generation-allow-x00",
        "true",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(tmp_path),
    ]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    proc = await asyncio.create_subprocess_exec(
        *cmd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=tmp_path,
        env=env,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=RUN_TIMEOUT_S)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-12_000:]
    summary = re.search(r"(\d+) generated, (\d+) passed", report)
    assert summary is not None, report[-4000:]
    generated, passed = int(summary.group(1)), int(summary.group(2))
    assert generated >= MIN_CASES and passed == generated, report[-4000:]
