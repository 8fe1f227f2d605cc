"""Replay speed: one long land dossier's history, and 1,000 dossier histories, replayed
against today's DossierWorkflow with the workers' own runner and data converter.

    .venv/bin/python -m bench.replay [--histories 1000] [--rounds 8] [--regenerate]
    .venv/bin/python -m bench.replay --quick

Histories are recorded once on a stack of their own (dev server, `motcua worker all`,
`motcua api`, driven over HTTP by the demo officers, 8 dossiers at a time) and cached in
bench/.cache/ (git-ignored); `--regenerate` records them again (needed when a workflow
change makes the cached ones non-deterministic: the benchmark says so).

- the long land dossier: 9.000003 (first land registration, nine steps, two handoffs,
  the commune's public posting) at a remote commune, with `--rounds` supplement requests
  (Form 02) and supplements at each of its appraisal and posting steps and one apology
  and new appointment (Form 04), walked to the returned result;
- the 1,000: dossiers of 3.000333, one in ten with a supplement asked at intake, one in
  twenty refused at the counter, the rest straight to the returned result.

Measured without a server: `temporalio.worker.Replayer` configured as services.audit.replay
does (the centre worker's data converter and interceptors), with each runner
(`--runners`): the workers' sandbox and, as `motcua audit replay --no-sandbox` runs,
none. For each: the long history cold (first replay in the process) and warm (median of
five); the 1,000 through one Replayer (`replay_workflows`), split over `--processes`
processes, and through services.audit.replay.replay_histories 200 at a time with a verdict
for each, which is what `motcua audit replay --procedure` runs.

`--end-to-end` records afresh and, on the recording stack, times `motcua audit replay
--procedure 3.000333` as the CLI runs it (AuditService.replay_many: dossiers listed from
the read model, histories fetched from Temporal, replayed), without the sandbox over
`--processes` and in one process, and sandboxed in one.
"""

from __future__ import annotations

import asyncio
import gzip
import os
import statistics
import struct
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory

from bench import common
from infra.codec import (
    NOT_ENCODED,
    EncryptionCodec,
    KeyRing,
    decoded_history,
    is_encrypted,
    payloads_in,
)
from infra.temporal import converter_with

LAND = "9.000003"
PROGRESS = ("accept", "appraise", "approve", "sign", "return")


# --------------------------------------------------------------------------- recording


async def short_dossier(http: httpx.AsyncClient, o: common.Officers, i: int) -> str:
    code = await o.submit(http)
    url = f"/v1/dossiers/{quote(code, safe='')}"
    if i % 20 == 19:
        await o.post(
            http,
            "action refuse",
            f"{url}/actions",
            {"action": "refuse", "comment": "Người yêu cầu không đủ điều kiện"},
            "intake_officer",
        )
        return code
    if i % 10 == 4:
        await o.post(
            http,
            "action request_supplement",
            f"{url}/actions",
            {"action": "request_supplement", "data": {"missing": ["Bản chụp Căn cước"]}},
            "intake_officer",
        )
        await o.post(
            http,
            "supplement",
            f"{url}/supplements",
            {
                "comment": "Bổ sung tại quầy",
                "documents": [
                    {"kind": "giay_to_tuy_than", "filename": "cc.pdf", "content_base64": o.pdf_b64}
                ],
            },
            "intake_officer",
        )
    from bench.common import STEPS

    for label, action, role, data in STEPS:
        await o.act(http, code, label, action, role, data)
    return code


async def long_land_dossier(
    http: httpx.AsyncClient, o: common.Officers, catalog: Any, rounds: int
) -> str:
    """9.000003 at a remote commune, every appraisal and the posting asking for supplements
    `rounds` times, one extension, walked by whichever officer each step names."""
    centre = next(
        a.code
        for a in catalog.agencies.values()
        if a.kind.value == "centre" and a.level == "commune"
    )
    body = common.submission(o.pdf_b64)
    body.update(procedure_code=LAND, centre_agency=centre, remote_area=True)
    body["documents"] = [
        {"kind": "don_dang_ky", "filename": "don-15.pdf", "content_base64": o.pdf_b64}
    ]
    r = await o._call(
        http, "submit", "POST", "/v1/dossiers", json=body, headers=o.h("intake_officer", centre)
    )
    code: str = r.json()["code"]
    url = f"/v1/dossiers/{quote(code, safe='')}"
    asked: Counter[str] = Counter()
    extended = False
    for _ in range(20 * rounds + 200):
        view = await o.state(http, code, "auditor")
        if view["closed_at"]:
            return code
        if view["status"] == "supplement_requested":
            await o.post(
                http,
                "supplement",
                f"{url}/supplements",
                {
                    "comment": "Bổ sung",
                    "documents": [
                        {
                            "kind": "ban_ve_so_do",
                            "filename": "so-do.pdf",
                            "content_base64": o.pdf_b64,
                        }
                    ],
                },
                "intake_officer",
                centre,
            )
            continue
        allowed = view["allowed_actions"]
        pay = [a for a in allowed if a["action"] == "pay"]
        if pay and view.get("fee_due_vnd"):  # the fees, collected at the counter
            await o.post(
                http,
                "action pay",
                f"{url}/actions",
                {
                    "action": "pay",
                    "data": {"amount_vnd": view["fee_due_vnd"], "method": "cash"},
                },
                pay[0]["role"],
                pay[0]["agency"],
            )
            continue
        ext = [a for a in allowed if a["action"] == "request_extension"]
        offered = [a for a in allowed if a["action"] in PROGRESS and a["step_id"]]
        if not offered:
            await asyncio.sleep(0.05)  # a handoff being acknowledged
            continue
        a = offered[0]
        step = a["step_id"]
        if a["action"] == "appraise" and asked[step] < rounds:
            asked[step] += 1
            await o.post(
                http,
                "action request_supplement",
                f"{url}/actions",
                {
                    "action": "request_supplement",
                    "comment": f"Lần {asked[step]}",
                    "data": {"missing": [f"Mảnh trích đo bản đồ địa chính (lần {asked[step]})"]},
                },
                a["role"],
                a["agency"],
            )
            continue
        if ext and not extended and a["action"] == "approve":
            extended = True
            await o.post(
                http,
                "action request_extension",
                f"{url}/actions",
                {
                    "action": "request_extension",
                    "comment": "Phải đo đạc lại thửa đất",
                    "data": {"extra_days": 5},
                },
                ext[0]["role"],
                ext[0]["agency"],
            )
            continue
        data: dict[str, Any] = {}
        if a["action"] == "appraise":
            data = {"opinion": "Đủ điều kiện", "recommendation": "grant"}
        elif a["action"] == "return":
            data = {"channel": "counter"}
        await o.post(
            http,
            f"action {a['action']}",
            f"{url}/actions",
            {"action": a["action"], "data": data},
            a["role"],
            a["agency"],
        )
    raise RuntimeError(f"{code} never closed")


async def plain(st: Any, history: WorkflowHistory) -> WorkflowHistory:
    """Cached decrypted: the recording stack's development key is thrown away with it."""
    return await decoded_history(history, st.client.data_converter.payload_codec)


async def record(args: Any, short_path: Path, long_path: Path) -> None:
    print(f"recording {args.histories} dossiers and one long land dossier ...", flush=True)
    t0 = time.perf_counter()
    async with common.stack(db="sqlite") as st:
        o = common.Officers(st.tokens(), common.pdf_b64(), st.settings)
        async with common.http_client(st.api_url, 40) as http:
            code = await long_land_dossier(http, o, st.catalog, args.rounds)
            await st.client.get_workflow_handle(code).result()
            history = await plain(st, await st.client.get_workflow_handle(code).fetch_history())
            long_path.write_text(history.to_json(), encoding="utf-8")  # noqa: ASYNC240
            print(f"  long land dossier {code}: {common.shape_of(history)}", flush=True)
            sem = asyncio.Semaphore(8)  # an overloaded worker answers 503s
            codes: list[str] = []

            failed = 0

            async def one(i: int) -> None:
                nonlocal failed
                async with sem:
                    try:
                        c = await short_dossier(http, o, i)
                    except common.HttpError as exc:  # an overloaded worker's 503: walk another
                        failed += 1
                        print(f"  skipped one: {exc}", flush=True)
                        return
                    await st.client.get_workflow_handle(c).result()
                    codes.append(c)
                    if len(codes) % 100 == 0:
                        print(f"  {len(codes)} dossiers", flush=True)

            started = 0
            while len(codes) < args.histories and failed <= args.histories // 10:
                batch = range(started, started + args.histories - len(codes))
                started += len(batch)
                await asyncio.gather(*(one(i) for i in batch))
            if len(codes) < args.histories:
                raise RuntimeError(f"{failed} dossiers failed; {len(codes)} recorded")
            tmp = short_path.with_suffix(".tmp")
            with gzip.open(tmp, "wb") as fh:
                for c in codes:
                    h = await plain(st, await st.client.get_workflow_handle(c).fetch_history())
                    write_history(fh, h)
            tmp.rename(short_path)
        print(f"recorded in {time.perf_counter() - t0:.0f} s", flush=True)
        if args.end_to_end:
            END_TO_END.update(await audit_end_to_end(st, args))


# `--end-to-end`: what `motcua audit replay --procedure` takes on the recording stack.
END_TO_END: dict[str, Any] = {}


async def audit_end_to_end(st: Any, args: Any) -> dict[str, Any]:
    """`motcua audit replay --procedure 3.000333 [--no-sandbox] [--processes N]` as the CLI
    runs it (services.audit.service.AuditService.replay_many): the dossiers listed from the
    read model, each one's history fetched from Temporal, replayed, a verdict for each."""
    import functools

    from infra.docstore import open_document_store
    from infra.temporal import data_converter
    from services.audit.service import AuditService

    service = AuditService(
        st.client,
        st.engine,
        open_document_store(st.settings.resolved_document_store),
        [],
        data_converter(st.settings),
        converter_factory=functools.partial(data_converter, st.settings),
    )
    out: dict[str, Any] = {}
    # As an audit finds them: every closed run archived (the centre worker sweeps every
    # minute; the last ones may not be yet).
    from services.audit.archive import archive_closed

    archived_now = await archive_closed(st.client, st.engine, service.store)
    print(f"archived now (not yet by the worker): {archived_now} run(s)", flush=True)
    out["archive_parsing"] = await archive_parsing(st, service)
    rows = []
    for sandboxed, processes in ((False, max(args.processes)), (False, 1), (True, 1)):
        load_before = common.loadavg()
        prof = None
        if args.pyinstrument and not rows:  # the first way: this process's part of it
            from pyinstrument import Profiler as PyInstrument

            prof = PyInstrument(interval=0.001, async_mode="disabled")
            prof.start()
        t0 = time.perf_counter()
        report = await service.replay_many(
            procedure="3.000333", since=None, sandboxed=sandboxed, processes=processes
        )
        seconds = time.perf_counter() - t0
        if prof is not None:
            prof.stop()
            print(prof.output_text(unicode=True, color=False, show_all=False), flush=True)
        assert not report.failed and report.checked >= args.histories, report
        name = f"{'sandboxed' if sandboxed else 'unsandboxed'}, {processes} process(es)"
        out[f"end_to_end_{name}"] = {
            "seconds": seconds,
            "dossiers": report.checked,
            "loadavg": f"{load_before} -> {common.loadavg()}",
        }
        rows.append([name, report.checked, seconds, load_before])
    print(
        common.table(
            "motcua audit replay --procedure 3.000333, end to end (histories from Temporal)",
            ["how", "dossiers", "seconds", "load before"],
            rows,
        )
    )
    return out


async def archive_parsing(st: Any, service: Any) -> dict[str, Any]:
    """What reading the archive costs before the replay: every archived run of the
    recording stack parsed from its file (protobuf since 07/12/2026), against the same
    histories parsed from the JSON they were archived as before, in this process."""
    from services.audit.archive import parse_archived, read_archived
    from store import repository

    codes = repository.dossier_codes(st.engine, procedure="3.000333")
    rows = [r for rows in repository.archived_runs_of(st.engine, codes).values() for r in rows]
    files = [(r.workflow_id, read_archived(service.store, r.workflow_id, r)) for r in rows]
    t0 = time.process_time()
    histories = [parse_archived(code, data) for code, data in files]
    protobuf = time.process_time() - t0
    as_json = [(h.workflow_id, h.to_json().encode()) for h in histories]
    t0 = time.process_time()
    for code, data in as_json:
        parse_archived(code, data)
    json_s = time.process_time() - t0
    print(
        f"archived runs parsed: {len(files)}; protobuf {protobuf:.2f} CPU-s, "
        f"the same as JSON {json_s:.2f} CPU-s",
        flush=True,
    )
    return {"runs": len(files), "protobuf_cpu_s": protobuf, "json_cpu_s": json_s}


def write_history(fh: Any, history: WorkflowHistory) -> None:
    """One history in the cache: its id and its events as the server sends them (protobuf),
    each length-prefixed; much faster to load than JSON."""
    wid = history.workflow_id.encode()
    data = History(events=history.events).SerializeToString()
    fh.write(struct.pack(">II", len(wid), len(data)) + wid + data)


def load_many(path: Path) -> list[WorkflowHistory]:
    out = []
    with gzip.open(path, "rb") as fh:
        while header := fh.read(8):
            n, m = struct.unpack(">II", header)
            wid = fh.read(n).decode()
            history = History()
            history.ParseFromString(fh.read(m))
            out.append(encrypted(WorkflowHistory(wid, list(history.events))))
    return out


# Production histories are encrypted (infra/codec.py), and a replay decrypts every
# payload. Histories recorded before the codec, or by a stack with another key, are
# encrypted here under a benchmark key, as the workers would have written them: every
# payload but search attributes, headers and the SDK core's patch markers.
BENCH_CODEC = EncryptionCodec(KeyRing(current="bench", keys={"bench": bytes(range(32))}))
CONVERTER = converter_with(BENCH_CODEC)


def encrypted(history: WorkflowHistory) -> WorkflowHistory:
    for event in history.events:
        if event.HasField("marker_recorded_event_attributes"):
            continue
        for payload in payloads_in(event, skip=NOT_ENCODED):
            if not is_encrypted(payload):
                payload.CopyFrom(BENCH_CODEC.encrypt(payload))
    return history


# --------------------------------------------------------------------------- measuring


async def aiter_of(items: list[WorkflowHistory]) -> AsyncIterator[WorkflowHistory]:
    for item in items:
        yield item


RUNNERS = {"sandboxed": True, "unsandboxed": False}


async def measure(args: Any, short_path: Path, long_path: Path) -> dict[str, Any]:
    from services.audit.replay import replay_histories, replayer

    text = long_path.read_text(encoding="utf-8")  # noqa: ASYNC240
    long_history = encrypted(WorkflowHistory.from_json("long-land", text))
    t0 = time.perf_counter()
    many = load_many(short_path)[: args.histories]
    load_s = time.perf_counter() - t0
    events = sum(len(h.events) for h in many)
    long_shape = common.shape_of(long_history)
    print(
        f"loaded {len(many)} histories ({events:,} events) in {load_s:.1f} s; "
        f"the long one has {long_shape['events']} events, {long_shape['updates']} updates, "
        f"{long_shape['activities']} activities",
        flush=True,
    )
    result: dict[str, Any] = {"long_shape": long_shape, "histories": len(many), "events": events}
    n = len(many)
    rows: list[list[Any]] = []
    verdicts: list[tuple[str, float]] = []

    async def long_one(sandboxed: bool) -> float:
        t0 = time.perf_counter()
        r = await replayer(CONVERTER, sandboxed=sandboxed).replay_workflow(
            long_history, raise_on_replay_failure=False
        )
        assert r.replay_failure is None, r.replay_failure
        return time.perf_counter() - t0

    for name, sandboxed in RUNNERS.items():
        if name not in args.runners:
            continue
        # The long one: cold (first in this process with this runner), then warm.
        cold = await long_one(sandboxed)
        warm = statistics.median([await long_one(sandboxed) for _ in range(5)])
        result[f"{name}_long_cold_s"], result[f"{name}_long_warm_s"] = cold, warm
        rows.append([f"long land dossier 9.000003, {name}, cold", long_shape["events"], cold])
        rows.append([f"long land dossier 9.000003, {name}, warm (median of 5)", "", warm])

        # The 1,000 through one Replayer.
        spy = common.Profiler(args.profile, {f"replay-{name}": os.getpid()})
        spy.start()
        prof = None
        if args.pyinstrument:
            from pyinstrument import Profiler as PyInstrument

            prof = PyInstrument(interval=0.001)
            prof.start()
        load_before = common.loadavg()
        t0 = time.perf_counter()
        results = await replayer(CONVERTER, sandboxed=sandboxed).replay_workflows(
            aiter_of(many), raise_on_replay_failure=False
        )
        batch = time.perf_counter() - t0
        spy.stop()
        if prof is not None:
            prof.stop()
            print(prof.output_text(unicode=True, color=False))
        if results.replay_failures:
            k, v = next(iter(results.replay_failures.items()))
            raise SystemExit(
                f"{len(results.replay_failures)} histories do not replay ({k}: {v}); the "
                "workflow changed since they were recorded: run again with --regenerate"
            )
        result[f"{name}_batch_s"] = batch
        result[f"{name}_batch_loadavg"] = f"{load_before} -> {common.loadavg()}"
        rows.append([f"{n:,} histories, {name}, one Replayer", events, batch])
        verdicts.append((f"{name}, one Replayer", batch))

        # The same, split over processes (one per core).
        for procs in sorted({p for p in args.processes if p > 1}):
            load_before = common.loadavg()
            seconds = replay_in_processes(short_path, n, procs, sandboxed)
            result[f"{name}_processes_{procs}_s"] = seconds
            result[f"{name}_processes_{procs}_loadavg"] = f"{load_before} -> {common.loadavg()}"
            rows.append([f"{n:,} histories, {name}, {procs} processes", events, seconds])
            verdicts.append((f"{name}, {procs} processes", seconds))

        # What `motcua audit replay --procedure` runs: replay_histories, 200 at a time,
        # with a verdict (run id, source, error) for every history.
        load_before = common.loadavg()
        t0 = time.perf_counter()
        for first in range(0, n, 200):
            chunk = many[first : first + 200]
            out = await replay_histories(
                ((h, h.run_id, "bench") for h in chunk), converter=CONVERTER, sandboxed=sandboxed
            )
            assert all(v.deterministic for v in out), [v.error for v in out if v.error][:1]
        audit = time.perf_counter() - t0
        result[f"{name}_audit_s"] = audit
        result[f"{name}_audit_loadavg"] = f"{load_before} -> {common.loadavg()}"
        rows.append([f"{n:,} histories, {name}, as `motcua audit replay` does", events, audit])
        verdicts.append((f"{name}, motcua audit replay", audit))

    print(
        common.table(
            "Replay (temporalio Replayer, motcua's runner and data converter)",
            ["what", "events", "seconds", "ms per history"],
            [
                [what, ev, sec, sec * 1000 / (1 if what.startswith("long") else n)]
                for what, ev, sec in rows
            ],
        )
    )
    scale = 1000 / n
    print(
        "\ntarget: 1,000 histories in <= 20 s"
        + (f" (extrapolated from {n:,})" if n != 1000 else "")
        + " -> "
        + ", ".join(
            f"{k} {'met' if v * scale <= 20 else 'NOT met'} ({v * scale:.1f} s)"
            for k, v in verdicts
        )
    )
    print(f"load average at the end: {common.loadavg()}")
    return result


def _replay_chunk(
    path: str, start: int, stop: int, sandboxed: bool, barrier: Any, results: Any
) -> None:
    """A child process: load its share, warm up on one history, wait for the others, replay."""
    from services.audit.replay import replayer

    many = load_many(Path(path))[start:stop]

    async def go() -> tuple[float, int]:
        await replayer(CONVERTER, sandboxed=sandboxed).replay_workflows(aiter_of(many[:1]))
        await asyncio.to_thread(barrier.wait)
        t0 = time.perf_counter()
        out = await replayer(CONVERTER, sandboxed=sandboxed).replay_workflows(
            aiter_of(many), raise_on_replay_failure=False
        )
        return time.perf_counter() - t0, len(out.replay_failures)

    seconds, failures = asyncio.run(go())
    results.put((seconds, failures))


def replay_in_processes(path: Path, n: int, procs: int, sandboxed: bool) -> float:
    """Replay the n histories split over `procs` processes; seconds from the moment all are
    loaded and warm to the last one done."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(procs + 1)
    results = ctx.Queue()
    bounds = [round(i * n / procs) for i in range(procs + 1)]
    children = [
        ctx.Process(
            target=_replay_chunk,
            args=(str(path), bounds[i], bounds[i + 1], sandboxed, barrier, results),
        )
        for i in range(procs)
    ]
    for c in children:
        c.start()
    barrier.wait()
    t0 = time.perf_counter()
    done = [results.get() for _ in children]
    wall = time.perf_counter() - t0
    for c in children:
        c.join()
    failures = sum(f for _, f in done)
    if failures:
        raise SystemExit(f"{failures} histories did not replay in the child processes")
    return wall


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--histories", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=8, help="supplement rounds per step (long)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument(
        "--pyinstrument",
        action="store_true",
        help="profile the batch replay (and, with --end-to-end, the command's own process)",
    )
    parser.add_argument(
        "--end-to-end",
        action="store_true",
        help="record afresh, and time `motcua audit replay --procedure` on the recording\n"
        "stack (listing, fetching from Temporal, replaying) before measuring the cache",
    )
    parser.add_argument(
        "--runners",
        nargs="+",
        choices=sorted(RUNNERS),
        default=sorted(RUNNERS),
        help="workflow runners to measure (default both)",
    )
    parser.add_argument(
        "--processes", type=int, nargs="*", default=[2], help="also replay split over N processes"
    )
    args = parser.parse_args()
    if args.quick:
        args.histories, args.rounds = min(args.histories, 50), 2
    info = common.machine()
    common.print_machine(info)
    common.CACHE.mkdir(exist_ok=True)
    short_path = common.CACHE / f"replay-{args.histories}.pb.gz"
    long_path = common.CACHE / f"replay-long-land-{args.rounds}.json"
    if args.regenerate or args.end_to_end or not short_path.exists() or not long_path.exists():
        common.run_main(record(args, short_path, long_path))
    result = common.run_main(measure(args, short_path, long_path)) | END_TO_END
    result["machine"] = info
    common.write_json(args.json, result)


if __name__ == "__main__":
    main()
