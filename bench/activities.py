"""Where a dossier's worker time goes: each activity of one 3.000333 dossier, timed
in-process on the inputs its history recorded.

    .venv/bin/python -m bench.activities [--history FILE] [--repeat 20] [--db sqlite] [--pyinstrument]

Reads the activity inputs (ActivityTaskScheduled payloads, decoded with the production
data converter) from a recorded history (default: the replay suite's
tests/histories/signed_result.json, a 3.000333 dossier from submission to the signed,
sealed and returned result), then runs each activity's implementation directly (no
Temporal), `--repeat` times, against a fresh read model and document store with the
development CA's keys, and prints the median wall time of each. `--pyinstrument` prints
a call tree of one more pass over all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory

from activities.contracts import (
    RECEIVE_HANDOFF,
    RECORD_EVENTS,
    SEAL_RESULT,
    SIGN_RESULT,
    HandoffInput,
    RecordEventsInput,
    SealResultInput,
    SignResultInput,
)
from bench.common import _database, base_parser, loadavg, machine, print_machine, table
from infra.settings import REPO_ROOT, Settings
from infra.temporal import converter_with
from store.db import init_db, make_engine

DEFAULT_HISTORY = REPO_ROOT / "tests" / "histories" / "signed_result.json"
INPUTS: dict[str, type] = {
    RECORD_EVENTS: RecordEventsInput,
    RECEIVE_HANDOFF: HandoffInput,
    SIGN_RESULT: SignResultInput,
    SEAL_RESULT: SealResultInput,
}


def activity_inputs(history: WorkflowHistory) -> list[tuple[str, Any]]:
    conv = converter_with(None).payload_converter  # the committed histories are plain
    out = []
    for e in history.events:
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            a = e.activity_task_scheduled_event_attributes
            name = a.activity_type.name
            [value] = conv.from_payloads(a.input.payloads, [INPUTS[name]])
            out.append((name, value))
    return out


def label(name: str, value: Any) -> str:
    if name == RECORD_EVENTS:
        kinds = ",".join(e.kind for e in value.events)
        forms = [str(e.data["form"]) for e in value.events if e.data.get("form")]
        extra = f" (Form {', '.join(forms)})" if forms else ""
        if value.dossier.closed_at is not None and any(
            e.at == value.dossier.closed_at for e in value.events
        ):
            extra += " (+ Form 06)"
        return f"{name}: {kinds}{extra}"
    return name


def main() -> None:
    parser = base_parser(__doc__)
    parser.set_defaults(db="sqlite")
    parser.add_argument("--history", type=Path, default=DEFAULT_HISTORY)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--pyinstrument", action="store_true")
    parser.add_argument(
        "--level",
        choices=["B-LTA", "B-B"],
        default="B-LTA",
        help="B-LTA (default, as `motcua dev` signs): the development CA served on a free\n"
        "port, every signature checked with it, timestamped, its /DSS, a document timestamp;\n"
        "B-B: a CA naming no CRL or OCSP and no TSA (as before issue 26)",
    )
    parser.add_argument(
        "--pool",
        type=int,
        default=0,
        metavar="N",
        help="render and sign in N child processes, as `motcua worker` does\n"
        "(MOTCUA_RENDER_PROCESSES; default 0: in this process)",
    )
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3
    print_machine(machine())

    from activities import render_pool
    from activities.documents import DocumentServices, SigningActivities
    from activities.handoff import AgencyActivities
    from activities.read_model import ReadModelActivities
    from domain.catalog import load_catalog
    from motcua.stack import dev_ca_serving, dev_signers, ensure_dev_pki
    from signatures.pki import init_dev_pki

    history = WorkflowHistory.from_json("bench", args.history.read_text(encoding="utf-8"))
    steps = activity_inputs(history)
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-acts-"))
    with _database(args.db, args.pg, tmp) as url, contextlib.ExitStack() as ca:
        settings = Settings(state_dir=tmp, database_url=url, dev_ca_port=_free_port())
        catalog = load_catalog(settings.catalog_dir)
        if args.level == "B-LTA":
            ensure_dev_pki(settings, catalog)
            tsa_url = ca.enter_context(dev_ca_serving(settings))
            settings = settings.model_copy(update={"tsa_url": tsa_url})
        else:
            init_dev_pki(
                settings.resolved_pki_manifest.parent,
                agencies={code: a.name for code, a in catalog.agencies.items()},
                signers=dev_signers(settings, catalog),
            )
        engine = make_engine(url)
        init_db(engine)
        docs = DocumentServices.from_settings(settings, catalog)
        render_pool.configure(args.pool)
        read_model = ReadModelActivities(engine, docs)
        signing = SigningActivities(docs)
        signed: dict[str, Any] = {}

        def runner(name: str, value: Any) -> Callable[[], Any]:
            if name == RECORD_EVENTS:
                return lambda: read_model.record_dossier_events(value)
            if name == RECEIVE_HANDOFF:
                agency = AgencyActivities(engine, value.to_agency)
                return lambda: asyncio.run(_maybe(agency.receive_handoff(value)))
            if name == SIGN_RESULT:

                def sign() -> Any:
                    signed["doc"] = signing.sign_result(value)
                    return signed["doc"]

                return sign
            if name == SEAL_RESULT:
                return lambda: signing.seal_result(
                    value.model_copy(update={"document": signed["doc"]})
                )
            raise ValueError(name)

        rows = []
        totals = [0.0, 0.0, 0.0]
        for name, value in steps:
            f = runner(name, value)
            f()  # warm: fonts, keys, connections (and the pool's processes)
            times, cpu, pool_cpu = [], [], []
            for _ in range(args.repeat):
                t0, c0, p0 = time.perf_counter(), time.process_time(), _children_cpu()
                f()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                pool_cpu.append(_children_cpu() - p0)
            medians = [statistics.median(x) for x in (times, cpu, pool_cpu)]
            totals = [t + m for t, m in zip(totals, medians, strict=True)]
            rows.append([label(name, value), *(m * 1000 for m in medians)])
        rows.append(["total for one dossier", *(t * 1000 for t in totals)])
        pool = f"{args.pool} render processes" if args.pool else "no render process"
        print(
            table(
                f"Activities of one 3.000333 dossier (median of {args.repeat}, read model "
                f"{args.db}, {pool}, PAdES {args.level})",
                ["activity", "wall ms", "CPU ms (this process)", "CPU ms (render processes)"],
                rows,
            )
        )
        if args.pyinstrument:
            from pyinstrument import Profiler

            prof = Profiler(interval=0.0005)
            prof.start()
            for name, value in steps:
                runner(name, value)()
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False))
        engine.dispose()
        render_pool.shutdown()
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end: {loadavg()}")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children_cpu() -> float:
    """CPU seconds of this process's live children (the render pool)."""
    total = 0.0
    for child in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            t = child.cpu_times()
            total += t.user + t.system
    return total


async def _maybe(x: Any) -> Any:
    if asyncio.iscoroutine(x):
        return await x
    return x


if __name__ == "__main__":
    main()
