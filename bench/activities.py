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
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
from motcua.settings import REPO_ROOT, Settings
from motcua.temporal import converter_with
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
    args = parser.parse_args()
    if args.quick:
        args.repeat = 3
    print_machine(machine())

    from activities.documents import DocumentServices, SigningActivities
    from activities.handoff import AgencyActivities
    from activities.read_model import ReadModelActivities
    from domain.catalog import load_catalog
    from motcua.stack import ensure_dev_pki

    history = WorkflowHistory.from_json("bench", args.history.read_text(encoding="utf-8"))
    steps = activity_inputs(history)
    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-acts-"))
    with _database(args.db, args.pg, tmp) as url:
        settings = Settings(state_dir=tmp, database_url=url)
        catalog = load_catalog(settings.catalog_dir)
        ensure_dev_pki(settings, catalog)
        engine = make_engine(url)
        init_db(engine)
        docs = DocumentServices.from_settings(settings, catalog)
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
        total = total_cpu = 0.0
        for name, value in steps:
            f = runner(name, value)
            f()  # warm: fonts, keys, connections
            times, cpu = [], []
            for _ in range(args.repeat):
                t0, c0 = time.perf_counter(), time.process_time()
                f()
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
            med, med_cpu = statistics.median(times), statistics.median(cpu)
            total += med
            total_cpu += med_cpu
            rows.append([label(name, value), med * 1000, med_cpu * 1000])
        rows.append(["total for one dossier", total * 1000, total_cpu * 1000])
        print(
            table(
                f"Activities of one 3.000333 dossier (median of {args.repeat}, read model {args.db})",
                ["activity", "wall ms", "CPU ms"],
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
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average at the end: {loadavg()}")


async def _maybe(x: Any) -> Any:
    if asyncio.iscoroutine(x):
        return await x
    return x


if __name__ == "__main__":
    main()
