"""End-to-end throughput: dossiers of the six-step procedure 3.000333 through the HTTP API,
against a bare Temporal workflow of the same shape, in the same run on the same server.

    .venv/bin/python -m bench.throughput [-n 200] [--concurrency 20] [--rounds 2] [--db sqlite]
    .venv/bin/python -m bench.throughput --quick

The application side: `motcua worker all` and `motcua api` (separate processes, as in
production) on a fresh file-persisted dev server and read model; simulated officers (the
demo users' development tokens) submit each dossier at the counter and take every step
over HTTP (accept, appraise, approve, sign, return; the handoff to the police is
automatic), `--concurrency` dossiers at a time. A dossier counts when its workflow has
completed (its last events recorded, Form 06 written).

The bare side (bench/bare.py): a workflow with the same number of activities, updates and
timers as the application's histories of the same round (the medians over ten of them),
no-op activities, driven by a Temporal client directly with the same concurrency, its
worker in its own process on the same dev server.

Rounds alternate application and bare, so both see the same machine load; the figures
are the sums over the rounds. CPU seconds of every process (dev server, worker, API, bare
worker, this driver) are reported per dossier: that is where the time goes.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from typing import Any

from temporalio.client import Client

from bench import bare, common

SHAPE_KEYS = ("activities", "updates", "timers", "workflow_tasks", "upserts", "events")


async def app_batch(
    officers: common.Officers, st: common.Stack, n: int, concurrency: int
) -> tuple[float, list[str]]:
    """n dossiers through the API, `concurrency` at a time, each until its workflow ends."""
    sem = asyncio.Semaphore(concurrency)
    codes: list[str] = []
    async with common.http_client(st.api_url, concurrency + 10) as http:

        async def one() -> None:
            async with sem:
                try:
                    code = await officers.walk(http)
                except common.HttpError as exc:  # counted in officers.errors, reported at the end
                    print(f"  error: {exc}", flush=True)
                    return
                codes.append(code)
                await st.client.get_workflow_handle(code).result()

        t0 = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return time.perf_counter() - t0, codes


async def median_shape(client: Client, ids: list[str]) -> dict[str, float]:
    found = [common.shape_of(await client.get_workflow_handle(i).fetch_history()) for i in ids]
    return {k: statistics.median(s[k] for s in found) for k in SHAPE_KEYS}


def sample(ids: list[str], k: int = 10) -> list[str]:
    return ids[:: max(1, len(ids) // k)][:k]


def bare_shape(app: dict[str, float]) -> bare.Shape:
    return bare.Shape(
        activities=round(app["activities"]),
        updates=round(app["updates"]),
        timers=round(app["timers"]),
        in_update=2,  # sign_result and seal_result run inside the `sign` update
        issuing_update=3,
    )


async def run(args: Any) -> dict[str, Any]:
    info = common.machine()
    common.print_machine(info)
    result: dict[str, Any] = {"machine": info, "args": vars(args), "rounds": []}
    async with common.stack(**common.stack_options(args)) as st:
        officers = common.Officers(st.tokens(), common.pdf_b64())
        bare_proc = st.start_process(
            "bare worker",
            [sys.executable, "-m", "bench.bare", "worker", "--address", st.server.address],
        )
        # The bare side has no application code, so no payload codec either: its driver's
        # client has the default data converter, as its worker's has.
        plain = await Client.connect(st.server.address, namespace=st.client.namespace)
        # Warm up both sides (sandbox imports, connection pools, fonts, keys).
        wall, codes = await app_batch(officers, st, args.warmup, args.concurrency)
        shape = bare_shape(await median_shape(st.client, sample(codes)))
        await bare.drive(plain, shape, args.warmup, args.concurrency)
        print(f"warm-up: {args.warmup} dossiers each side ({wall:.1f} s for the application)")
        officers.timings.clear()

        app_profiler = common.Profiler(args.profile, st.app_pids())
        bare_profiler = common.Profiler(args.profile, {"bare-worker": bare_proc.pid})
        walls = {"app": 0.0, "bare": 0.0}
        cpu: dict[str, dict[str, float]] = {"app": {}, "bare": {}}
        shapes: dict[str, list[dict[str, float]]] = {"app": [], "bare": []}
        done = 0  # bare dossiers (every one completes)
        app_done = 0  # application dossiers walked without an error
        for r in range(args.rounds):
            load_before = common.loadavg()
            meter = common.CpuMeter(st.watched(), st.app_procs())
            meter.start()
            app_profiler.start()
            wall_app, codes = await app_batch(officers, st, args.n, args.concurrency)
            app_profiler.stop()
            for k, v in meter.stop().items():
                cpu["app"][k] = cpu["app"].get(k, 0.0) + v
            app_shape = await median_shape(st.client, sample(codes))
            shape = bare_shape(app_shape)
            meter = common.CpuMeter(st.watched())
            meter.start()
            bare_profiler.start()
            before = time.time()
            wall_bare = await bare.drive(plain, shape, args.n, args.concurrency)
            bare_profiler.stop()
            for k, v in meter.stop().items():
                cpu["bare"][k] = cpu["bare"].get(k, 0.0) + v
            bare_ids = [
                e.id
                async for e in st.client.list_workflows(
                    "WorkflowType = 'BareDossier'", limit=args.n + args.warmup
                )
                if e.start_time.timestamp() >= before
            ]
            shapes["app"].append(app_shape)
            shapes["bare"].append(await median_shape(st.client, sample(bare_ids)))
            walls["app"] += wall_app
            walls["bare"] += wall_bare
            done += args.n
            app_done += len(codes)
            row = {
                "round": r + 1,
                "app_per_s": len(codes) / wall_app,
                "bare_per_s": args.n / wall_bare,
                "ratio": (len(codes) / wall_app) / (args.n / wall_bare),
                "loadavg_before": load_before,
                "loadavg_after": common.loadavg(),
                "shape_app": app_shape,
                "shape_bare": shapes["bare"][-1],
            }
            result["rounds"].append(row)
            print(
                f"round {r + 1}: application {row['app_per_s']:.2f}/s, bare "
                f"{row['bare_per_s']:.2f}/s, ratio {row['ratio']:.0%} "
                f"(load {row['loadavg_before']} -> {row['loadavg_after']})",
                flush=True,
            )
        mem = st.memory()
        retries = await common.activity_retries(st.client)

    app_rate, bare_rate = app_done / walls["app"], done / walls["bare"]
    count = {"app": max(app_done, 1), "bare": done}
    per = {side: {k: 1000 * v / count[side] for k, v in cpu[side].items()} for side in cpu}
    result.update(
        {
            "app_dossiers_per_s": app_rate,
            "bare_dossiers_per_s": bare_rate,
            "ratio": app_rate / bare_rate,
            "cpu_ms_per_dossier": per,
            "latency_ms": {k: common.summary_ms(v) for k, v in officers.timings.items()},
            "memory_mib": mem,
            "errors": dict(officers.errors),
            "activity_retries": retries,
            "loadavg_end": common.loadavg(),
        }
    )
    print(
        common.table(
            f"Throughput ({args.rounds} rounds x {args.n} dossiers a side, concurrency "
            f"{args.concurrency}, read model {args.db})",
            ["", "dossiers/s"],
            [
                ["application (HTTP API, 3.000333)", app_rate],
                ["bare workflow, same shape", bare_rate],
                ["ratio", f"{app_rate / bare_rate:.0%}"],
            ],
        )
    )
    print(
        common.table(
            "Shape per round (medians of ten histories)",
            ["round", "side", *SHAPE_KEYS],
            [
                [i + 1, side, *(s[k] for k in SHAPE_KEYS)]
                for i in range(args.rounds)
                for side, s in (("application", shapes["app"][i]), ("bare", shapes["bare"][i]))
            ],
        )
    )
    names = sorted(set(per["app"]) | set(per["bare"]))
    print(
        common.table(
            "CPU per dossier (ms; wall time per dossier: "
            f"application {1000 / app_rate:.0f}, bare {1000 / bare_rate:.0f})",
            ["process", "application", "bare"],
            [[k, per["app"].get(k, 0.0), per["bare"].get(k, 0.0)] for k in names]
            + [
                [
                    "total",
                    sum(v for k, v in per["app"].items() if ":" not in k),
                    sum(v for k, v in per["bare"].items() if ":" not in k),
                ]
            ],
        )
    )
    print(
        common.table(
            "HTTP latency of the application's calls",
            common.LATENCY_HEADER,
            common.latency_rows(officers.timings),
        )
    )
    print(f"\nmemory at the end: {common.fmt_mem(mem)}; errors: {dict(officers.errors) or 'none'}")
    print(f"activity retries (every application dossier, warm-up included): {retries or 'none'}")
    print(f"load average at the end: {common.loadavg()}")
    return result


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("-n", type=int, default=200, help="dossiers per round and side")
    parser.add_argument("--concurrency", type=int, default=20, help="dossiers in flight")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args()
    if args.quick:
        args.n, args.rounds, args.warmup = 20, 1, 5
    common.write_json(args.json, common.run_main(run(args)))


if __name__ == "__main__":
    main()
