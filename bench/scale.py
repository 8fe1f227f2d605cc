"""Scale: 10,000 open dossiers, each waiting on its statutory timers; worker and server
memory, the time to list them and to compute the index, and actions on dossiers the
worker no longer has in its cache.

    .venv/bin/python -m bench.scale [--dossiers 10000] [--accept 500] [--db sqlite]
    .venv/bin/python -m bench.scale --quick

Dossiers of 3.000333 are submitted at the counter through the service layer
(services.dossiers.DossierService.submit, as the API does: a dossier code allocated in the
read model, the workflow started, its first state queried), `--concurrency` at a time,
against `motcua worker all`; `--accept` of them are then accepted (Form 01, the handoff to
the police, the clock started). Every dossier's workflow then sleeps on a timer: the
intake step's budget, or the appraisal's and the appointment. Once they have settled:

- memory (RSS) of the worker and dev server processes, the dev server's database file;
- over HTTP (median of five): the dossier list (GET /v1/dossiers) for an auditor and
  for the centre's intake officer, with filters and five pages of cursor pagination; the
  worklists (GET /v1/worklist) of the intake officer and the police specialist; the
  month's Decision 766 index (GET /v1/index, JSON and CSV); and a Temporal visibility
  count by search attribute, for comparison;
- the live state and an action (`accept`) on dossiers submitted first, which a worker
  caching 1,000 workflows has evicted long ago: each needs its history replayed.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import statistics
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from bench import common

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


async def timed_get(
    http: Any, url: str, headers: dict[str, str], repeat: int = 5
) -> tuple[float, Any]:
    times, body = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = await http.get(url, headers=headers)
        times.append(time.perf_counter() - t0)
        if r.status_code != 200:
            raise RuntimeError(f"GET {url}: {r.status_code} {r.text[:300]}")
        body = r.json() if "json" in r.headers.get("content-type", "") else r.text
    return statistics.median(times), body


async def run(args: Any) -> dict[str, Any]:
    from api.demo_users import DEMO_USERS
    from domain.catalog import Role
    from domain.dossier import Action, ActionInput, Actor, Applicant, Channel, DocumentRef
    from infra.docstore import open_document_store
    from services.dossiers import DossierService, ServiceError, SubmitRequest

    info = common.machine()
    common.print_machine(info)
    result: dict[str, Any] = {"machine": info, "args": vars(args)}
    async with common.stack(**common.stack_options(args)) as st:
        service = DossierService(st.client, st.engine, st.catalog, st.settings)
        pdf = common.sample_pdf()
        open_document_store(st.settings.resolved_document_store).put(pdf)
        ref = DocumentRef(
            kind="to_khai", filename="to-khai.pdf", sha256=hashlib.sha256(pdf).hexdigest()
        )
        people: dict[str, tuple[str, str | None, str]] = {}
        for role, sub, agency, name in DEMO_USERS:  # the first of each role
            people.setdefault(role, (sub, agency, name))

        def actor(role: str) -> Actor:
            sub, agency, name = people[role]
            code = st.settings.centre_agency if agency == "centre" else agency
            return Actor(id=sub, name=name, role=Role(role), agency=code)

        intake = actor("intake_officer")
        codes: list[str] = []
        # Received, but the first query of the new dossier timed out (a busy worker): the
        # dossier is open all the same (the read model counts it below).
        late: list[str] = []
        sem = asyncio.Semaphore(args.concurrency)

        async def submit(i: int) -> None:
            async with sem:
                req = SubmitRequest(
                    procedure_code="3.000333",
                    channel=Channel.COUNTER,
                    applicant=Applicant(
                        name=f"Trần Văn Quy Mô {i}", id_number=f"{i:012d}", phone="0912345678"
                    ),
                    documents=[ref],
                )
                try:
                    view = await service.submit(req, intake)
                except ServiceError as exc:
                    if exc.code != "unavailable" or "was received" not in str(exc):
                        raise
                    late.append(str(exc))
                    return
                codes.append(view.code)
                if len(codes) % 1000 == 0:
                    rate = len(codes) / (time.perf_counter() - t0)
                    print(
                        f"  {len(codes):,} submitted ({rate:.1f}/s), load {common.loadavg()}",
                        flush=True,
                    )

        print(f"submitting {args.dossiers:,} dossiers ...", flush=True)
        t0 = time.perf_counter()
        await asyncio.gather(*(submit(i) for i in range(args.dossiers)))
        submit_s = time.perf_counter() - t0
        # The worker still owes each dossier its first recording (an activity) and the
        # turn after it: wait until the read model has every one.
        t1 = time.perf_counter()
        await _until(st.engine, "SELECT count(*) FROM dossiers", len(codes) + len(late))
        if late:
            print(
                f"  {len(late):,} submissions answered 503 (received; the first query timed "
                f"out), e.g.: {late[0]}",
                flush=True,
            )
        drain_s = time.perf_counter() - t1
        order = sorted(codes)  # codes are allocated in order: the first submitted first
        to_accept = order[-args.accept :] if args.accept else []
        few = asyncio.Semaphore(10)

        async def accept(code: str) -> None:
            async with few:
                await service.act(code, Action.ACCEPT, ActionInput(actor=intake))

        t1 = time.perf_counter()
        await asyncio.gather(*(accept(c) for c in to_accept))
        accept_s = time.perf_counter() - t1
        print(
            f"submitted {len(codes):,} in {submit_s:.0f} s ({len(codes) / submit_s:.1f}/s), "
            f"recorded {drain_s:.0f} s later; accepted {len(to_accept):,} in {accept_s:.0f} s",
            flush=True,
        )
        # Settle: the accepted ones handed to the police (acknowledged, recorded), every
        # workflow idle on its timers.
        t2 = time.perf_counter()
        acked = "SELECT count(*) FROM dossier_events WHERE kind = 'handoff_acknowledged'"
        await _until(st.engine, acked, len(to_accept))
        await asyncio.sleep(args.settle)
        settle_s = time.perf_counter() - t2
        running = (await st.client.count_workflows("ExecutionStatus = 'Running'")).count
        mem = st.memory()
        db_file = st.server.db_path
        db_mib = sum(p.stat().st_size for p in db_file.parent.glob("temporal.db*")) / 2**20
        print(
            f"settled in {settle_s:.0f} s ({running:,} workflows running): {common.fmt_mem(mem)}; "
            f"Temporal database {db_mib:.0f} MiB",
            flush=True,
        )

        o = common.Officers(st.tokens(), common.pdf_b64(), st.settings)
        period = datetime.now(TZ).strftime("%Y-%m")
        name_q = quote("Quy Mô 77")
        timings: list[list[Any]] = []
        async with common.http_client(st.api_url, 20) as http:
            checks = [
                ("GET /v1/dossiers?limit=50 (auditor: all)", "/v1/dossiers?limit=50", "auditor"),
                (
                    "GET /v1/dossiers?limit=50 (intake officer: the centre's)",
                    "/v1/dossiers?limit=50",
                    "intake_officer",
                ),
                (
                    "... &status=in_progress (auditor)",
                    "/v1/dossiers?limit=50&status=in_progress",
                    "auditor",
                ),
                (
                    "... &procedure=3.000333&overdue=false (auditor)",
                    "/v1/dossiers?limit=50&procedure=3.000333&overdue=false",
                    "auditor",
                ),
                (
                    "... &agency=000.00.20.H99 (auditor)",
                    "/v1/dossiers?limit=50&agency=000.00.20.H99",
                    "auditor",
                ),
                (
                    "... &q=<part of a name> (auditor)",
                    f"/v1/dossiers?limit=50&q={name_q}",
                    "auditor",
                ),
                (
                    f"... &received_from={period}-01 (auditor)",
                    f"/v1/dossiers?limit=50&received_from={period}-01",
                    "auditor",
                ),
                (
                    "GET /v1/worklist?limit=100 (intake officer)",
                    "/v1/worklist?limit=100",
                    "intake_officer",
                ),
                (
                    "GET /v1/worklist?limit=100 (police specialist)",
                    "/v1/worklist?limit=100",
                    "specialist",
                ),
                (f"GET /v1/index?period={period} (leader)", f"/v1/index?period={period}", "leader"),
                (
                    f"GET /v1/index?period={period}&format=csv (leader)",
                    f"/v1/index?period={period}&format=csv",
                    "leader",
                ),
            ]
            load_before = common.loadavg()
            for label, url, role in checks:
                seconds, body = await timed_get(http, url, o.h(role))
                extra = ""
                if isinstance(body, dict) and isinstance(body.get("total"), int):
                    extra = f"{len(body['items'])} items of {body['total']:,}"
                elif isinstance(body, dict) and "items" in body:
                    extra = f"{len(body['items'])} items"
                elif isinstance(body, dict) and "rows" in body:
                    extra = f"{len(body['rows'])} rows"
                timings.append([label, seconds * 1000, extra])
            # Five pages of cursor pagination.
            t = time.perf_counter()
            url, pages = "/v1/dossiers?limit=50", 0
            while pages < 5:
                r = await http.get(url, headers=o.h("auditor"))
                body = r.json()
                pages += 1
                if not body.get("next_cursor"):
                    break
                url = f"/v1/dossiers?limit=50&cursor={quote(body['next_cursor'])}"
            timings.append(
                ["five pages of 50 (cursor), auditor", (time.perf_counter() - t) * 1000, ""]
            )
            t = time.perf_counter()
            c = await st.client.count_workflows("DossierStatus = 'submitted'")
            timings.append(
                [
                    "Temporal visibility: count DossierStatus='submitted'",
                    (time.perf_counter() - t) * 1000,
                    f"{c.count:,}",
                ]
            )
            # Dossiers submitted first: evicted from the worker's cache (1,000 workflows).
            # (not the accepted ones, which are the last; in a full run the 2,000 last are
            # left out, so that every one chosen is long out of the worker's cache)
            pool = (
                order[: len(order) - max(len(to_accept), 2000)]
                or order[: len(order) - len(to_accept)]
            )
            cold = random.Random(7).sample(pool, min(args.cold, len(pool)))
            o.timings.clear()
            for code in cold:
                await o.state(http, code, "intake_officer")
            for code in cold:
                await o.act(http, code, "accept (evicted dossier)", "accept", "intake_officer", {})
            load_after = common.loadavg()
        cold_rows = common.latency_rows(
            {
                "state (evicted dossier)": o.timings["state"],
                "action accept (evicted dossier)": o.timings["action accept (evicted dossier)"],
            }
        )
        mem_end = st.memory()

    print(
        common.table(
            f"{len(codes) + len(late):,} open dossiers ({len(to_accept):,} accepted), "
            f"read model {args.db}, "
            f"load {load_before} -> {load_after}",
            ["", "value"],
            [
                [
                    "submitting them (service layer, concurrency " + str(args.concurrency) + ")",
                    f"{submit_s:.0f} s ({len(codes) / submit_s:.1f}/s)",
                ],
                ["of which answered 503 (received, first query timed out)", f"{len(late):,}"],
                ["recording the last of them (the worker's backlog)", f"{drain_s:.0f} s later"],
                ["accepting " + f"{len(to_accept):,} (10 at a time)", f"{accept_s:.0f} s"],
                ["workflows running (visibility)", f"{running:,}"],
                *[[f"RSS {k}", f"{v:,.0f} MiB"] for k, v in mem.items()],
                ["Temporal dev server database (temporal.db*)", f"{db_mib:,.0f} MiB"],
            ],
        )
    )
    print(
        common.table(
            "Listing and the index (median of 5, at the client)", ["request", "ms", ""], timings
        )
    )
    print(
        common.table(
            "Dossiers the worker had evicted (history replayed on demand)",
            common.LATENCY_HEADER,
            cold_rows,
        )
    )
    print(
        f"\nmemory after those: {common.fmt_mem(mem_end)}; load average at the end: {common.loadavg()}"
    )
    result.update(
        {
            "dossiers": len(codes) + len(late),
            "submit_first_query_timed_out": len(late),
            "accepted": len(to_accept),
            "submit_s": submit_s,
            "accept_s": accept_s,
            "drain_s": drain_s,
            "running": running,
            "memory_mib": mem,
            "memory_mib_end": mem_end,
            "temporal_db_mib": db_mib,
            "timings_ms": {row[0]: row[1] for row in timings},
            "evicted_ms": {
                "state": common.summary_ms(o.timings["state"]),
                "accept": common.summary_ms(o.timings["action accept (evicted dossier)"]),
            },
            "loadavg": f"{load_before} -> {load_after}",
        }
    )
    return result


async def _until(engine: Any, sql: str, n: int) -> None:
    """Poll the read model until the count `sql` returns reaches n."""
    for _ in range(36_000):
        if await asyncio.to_thread(_count, engine, sql) >= n:
            return
        await asyncio.sleep(1)
    raise TimeoutError(sql)


def _count(engine: Any, sql: str) -> int:
    from sqlalchemy import text

    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--dossiers", type=int, default=10_000)
    parser.add_argument(
        "--accept", type=int, default=500, help="of them accepted (Form 01, handoff)"
    )
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--cold", type=int, default=20, help="evicted dossiers to act on")
    parser.add_argument("--settle", type=float, default=10, help="seconds idle before measuring")
    args = parser.parse_args()
    if args.quick:
        args.dossiers, args.accept, args.cold, args.settle = 300, 30, 5, 2
    common.write_json(args.json, common.run_main(run(args)))


if __name__ == "__main__":
    main()
