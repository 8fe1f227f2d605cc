"""API latency under 50 concurrent clients: p50/p95/p99 of submit, action and live-state
query, measured at the client (httpx) through the real HTTP API.

    .venv/bin/python -m bench.api_latency [--clients 50] [--duration 120] [--db sqlite]
    .venv/bin/python -m bench.api_latency --quick

Each client is an officer desk working in a closed loop, without pauses: submit a 3.000333
dossier at the counter, then for each step open the dossier (GET /v1/dossiers/{code}, the
live state from the workflow) and take the action (accept, appraise, approve, sign,
return), then start the next dossier. After a warm-up the clients run for `--duration`
seconds; every request completed in that window counts. `sign` answers once the result
is signed and sealed (two activities inside the update), so it is reported on its own as
well as in "action (all)".

Then the dossiers completed in the window, closed, are read back (GET, as the returning
officer; `--closed-reads` rounds over all of them, the same number of clients): what an
auditor or an applicant does with most dossiers, which are closed.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import common


async def client_loop(o: common.Officers, http: Any, stop_at: float, done: list[str]) -> None:
    while time.monotonic() < stop_at:
        try:
            code = await o.submit(http)
            for label, action, role, data in common.STEPS:
                await o.state(http, code, role)
                await o.act(http, code, label, action, role, data)
            done.append(code)
        except common.HttpError as exc:
            print(f"  error: {exc}", flush=True)


async def closed_reads(o: common.Officers, http: Any, codes: list[str], clients: int) -> None:
    role = common.STEPS[-1][2]  # the returning officer's: a closed dossier is at the return step
    queue = asyncio.Queue[str]()
    for code in codes:
        queue.put_nowait(code)

    async def reader() -> None:
        while not queue.empty():
            code = queue.get_nowait()
            try:
                await o.state(http, code, role, label="closed state")
            except common.HttpError as exc:
                print(f"  error: {exc}", flush=True)

    await asyncio.gather(*(reader() for _ in range(clients)))


async def run(args: Any) -> dict[str, Any]:
    info = common.machine()
    common.print_machine(info)
    async with common.stack(**common.stack_options(args)) as st:
        o = common.Officers(st.tokens(), common.pdf_b64())
        async with common.http_client(st.api_url, args.clients + 10) as http:
            # Warm-up: a few dossiers at low concurrency, not counted.
            warm: list[str] = []
            await asyncio.gather(
                *(client_loop(o, http, time.monotonic() + args.warmup, warm) for _ in range(5))
            )
            o.timings.clear()
            o.errors.clear()
            print(f"warm-up: {len(warm)} dossiers; measuring {args.duration:.0f} s ...", flush=True)
            meter = common.CpuMeter(st.watched(), st.app_procs())
            spy = common.Profiler(args.profile, st.app_pids())
            load_before = common.loadavg()
            meter.start()
            spy.start()
            done: list[str] = []
            t0 = time.perf_counter()
            await asyncio.gather(
                *(
                    client_loop(o, http, time.monotonic() + args.duration, done)
                    for _ in range(args.clients)
                )
            )
            wall = time.perf_counter() - t0
            spy.stop()
            meter.stop()
            load_after = common.loadavg()
            mem = st.memory()
            server = await common.server_side_timings(st.client, done[:: max(1, len(done) // 40)])
            await asyncio.sleep(2)  # the last returns recorded in the read model (closed)
            t0 = time.perf_counter()
            await closed_reads(o, http, done * args.closed_reads, args.clients)
            closed_wall = time.perf_counter() - t0
    t = o.timings
    actions = [v for k, v in t.items() if k.startswith("action ")]
    samples = {
        "submit": t["submit"],
        "action (all)": [x for v in actions for x in v],
        "state (GET live state)": t["state"],
        "state (GET closed dossier, after the window)": t["closed state"],
        **{k: v for k, v in sorted(t.items()) if k.startswith("action ")},
    }
    requests = sum(len(v) for k, v in t.items() if k != "closed state")
    print(
        common.table(
            f"Latency under {args.clients} concurrent clients ({requests:,} requests in "
            f"{wall:.0f} s = {requests / wall:.1f} req/s, {len(done)} dossiers completed; "
            f"load {load_before} -> {load_after}; read model {args.db})",
            common.LATENCY_HEADER,
            common.latency_rows(samples),
        )
    )
    print(
        common.table(
            "Inside Temporal (from the histories of up to 40 of these dossiers)",
            common.LATENCY_HEADER,
            common.server_rows(server),
        )
    )
    print(
        common.table(
            "CPU over the window (s, % of one core)",
            ["process", "CPU s", "% of a core"],
            meter.rows(),
        )
    )
    print(
        f"\nclosed dossiers read back: {len(t['closed state'])} reads in {closed_wall:.1f} s"
        f"\nmemory at the end: {common.fmt_mem(mem)}; errors: {dict(o.errors) or 'none'}"
    )
    return {
        "machine": info,
        "args": vars(args),
        "wall_s": wall,
        "closed_reads_wall_s": closed_wall,
        "requests": requests,
        "dossiers": len(done),
        "latency_ms": {k: common.summary_ms(v) for k, v in samples.items()},
        "cpu_s": meter.used,
        "server_ms": {k: common.summary_ms(v) for k, v in server.items()},
        "loadavg": f"{load_before} -> {load_after}",
        "memory_mib": mem,
        "errors": dict(o.errors),
    }


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=15, help="seconds of warm-up")
    parser.add_argument(
        "--closed-reads", type=int, default=2, help="rounds of reading the closed dossiers back"
    )
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup = 20, 5
    common.write_json(args.json, common.run_main(run(args)))


if __name__ == "__main__":
    main()
