"""Latency under a realistic load: open-loop arrivals of 1 dossier/s (about 29,000 in an
8-hour day), officers acting after realistic pauses; p50/p99 of every action.

    .venv/bin/python -m bench.open_loop [--rate 1] [--duration 600] [--pause 20] [--db sqlite]
    .venv/bin/python -m bench.open_loop --quick

Dossiers of 3.000333 arrive at the counter as a Poisson process of `--rate` a second
for `--duration` seconds, whatever the system's state (open loop: a slow answer does not
slow the arrivals). Each dossier is then walked by the officer of each step: after a
pause (exponential, mean `--pause` seconds, at least one second: the officer is busy with
other files), the officer opens the dossier (GET its live state) and takes the action
(accept, appraise, approve, sign, return). Each officer role also refreshes its worklist
(GET /v1/worklist) every `--worklist-every` seconds, as the web console's queue does.
Latencies are measured at the client. Pauses are compressed from hours to seconds: the
request rate is a real day's (about 6 writes and 6 reads a second), the number of
dossiers open at once is not (about rate x 5 x pause; a real centre has tens of
thousands, see bench/scale.py for actions on dossiers the worker no longer caches).
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from bench import common

TARGET_MS = 300.0


async def dossier(
    o: common.Officers, http: Any, rnd: random.Random, pause: float, done: list[str]
) -> None:
    try:
        code = await o.submit(http)
        for label, action, role, data in common.STEPS:
            await asyncio.sleep(max(1.0, rnd.expovariate(1 / pause)))
            await o.state(http, code, role)
            await o.act(http, code, label, action, role, data)
        done.append(code)
    except common.HttpError as exc:
        print(f"  error: {exc}", flush=True)


async def worklists(o: common.Officers, http: Any, every: float, stop: asyncio.Event) -> None:
    roles = ["intake_officer", "specialist", "leader", "signer", "return_officer"]

    async def one(role: str, delay: float) -> None:
        await asyncio.sleep(delay)
        while not stop.is_set():
            try:
                await o._call(http, "worklist", "GET", "/v1/worklist", headers=o.h(role))
            except common.HttpError as exc:
                print(f"  error: {exc}", flush=True)
            await asyncio.sleep(every)

    await asyncio.gather(*(one(r, i * every / len(roles)) for i, r in enumerate(roles)))


async def run(args: Any) -> dict[str, Any]:
    info = common.machine()
    common.print_machine(info)
    rnd = random.Random(args.seed)
    async with common.stack(**common.stack_options(args)) as st:
        o = common.Officers(st.tokens(), common.pdf_b64())
        async with common.http_client(st.api_url, 200) as http:
            warm: list[str] = []
            await asyncio.gather(*(dossier(o, http, rnd, 0.5, warm) for _ in range(5)))
            o.timings.clear()
            o.errors.clear()
            print(
                f"warm-up: {len(warm)} dossiers; arrivals at {args.rate}/s for "
                f"{args.duration:.0f} s, pauses of {args.pause:.0f} s on average ...",
                flush=True,
            )
            meter = common.CpuMeter(st.watched(), st.app_procs())
            spy = common.Profiler(args.profile, st.app_pids())
            load_before = common.loadavg()
            meter.start()
            spy.start()
            stop = asyncio.Event()
            polling = asyncio.create_task(worklists(o, http, args.worklist_every, stop))
            done: list[str] = []
            tasks: list[asyncio.Task[None]] = []
            t0 = time.monotonic()
            next_at = t0
            late = 0.0
            while True:
                next_at += rnd.expovariate(args.rate)
                if next_at - t0 > args.duration:
                    break
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                else:
                    late = max(late, -delay)
                tasks.append(asyncio.create_task(dossier(o, http, rnd, args.pause, done)))
                if len(tasks) % 100 == 0:
                    print(
                        f"  {len(tasks)} arrived, {len(done)} returned, load {common.loadavg()}",
                        flush=True,
                    )
            arrivals = time.monotonic() - t0
            await asyncio.gather(*tasks)
            stop.set()
            await polling
            wall = time.monotonic() - t0
            spy.stop()
            meter.stop()
            load_after = common.loadavg()
            mem = st.memory()
            server = await common.server_side_timings(st.client, done[:: max(1, len(done) // 50)])
            retries = await common.activity_retries(st.client)
    t = o.timings
    actions = {k: v for k, v in sorted(t.items()) if k.startswith("action ")}
    pooled = [x for v in actions.values() for x in v]
    samples = {
        "submit": t["submit"],
        "state (GET live state)": t["state"],
        "worklist": t["worklist"],
        "action (all)": pooled,
        **actions,
    }
    print(
        common.table(
            f"Open loop: {len(tasks)} dossiers arrived in {arrivals:.0f} s "
            f"({len(tasks) / arrivals:.2f}/s), {len(done)} returned; pauses of "
            f"{args.pause:.0f} s on average; {wall:.0f} s in all; load {load_before} -> "
            f"{load_after}; read model {args.db}",
            common.LATENCY_HEADER,
            common.latency_rows(samples),
        )
    )
    print(
        common.table(
            "Inside Temporal (from the histories of up to 50 dossiers)",
            common.LATENCY_HEADER,
            common.server_rows(server),
        )
    )
    print(
        common.table(
            "CPU over the run (s, % of one core)", ["process", "CPU s", "% of a core"], meter.rows()
        )
    )
    worst = max(common.summary_ms(v)["p99"] for v in actions.values())
    p99 = common.summary_ms(pooled)["p99"]
    print(
        f"\ntarget p99 of an officer action <= {TARGET_MS:.0f} ms: all actions pooled "
        f"{p99:.0f} ms, worst action {worst:.0f} ms -> "
        f"{'met' if worst <= TARGET_MS else 'NOT met'}"
    )
    if late > 1:
        print(f"(the arrival loop fell behind by up to {late:.1f} s)")
    print(f"memory at the end: {common.fmt_mem(mem)}; errors: {dict(o.errors) or 'none'}")
    print(f"activity retries (every dossier, warm-up included): {retries or 'none'}")
    return {
        "machine": info,
        "args": vars(args),
        "arrived": len(tasks),
        "returned": len(done),
        "latency_ms": {k: common.summary_ms(v) for k, v in samples.items()},
        "server_ms": {k: common.summary_ms(v) for k, v in server.items()},
        "cpu_s": meter.used,
        "wall_s": wall,
        "loadavg": f"{load_before} -> {load_after}",
        "memory_mib": mem,
        "errors": dict(o.errors),
        "activity_retries": retries,
        "target_met": worst <= TARGET_MS,
    }


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--rate", type=float, default=1.0, help="dossiers arriving a second")
    parser.add_argument("--duration", type=float, default=600, help="seconds of arrivals")
    parser.add_argument("--pause", type=float, default=20, help="mean officer pause (s)")
    parser.add_argument("--worklist-every", type=float, default=15)
    parser.add_argument("--seed", type=int, default=2911)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.pause = 60, 5
    common.write_json(args.json, common.run_main(run(args)))


if __name__ == "__main__":
    main()
