"""A flood of JSON at the API: how fast a huge body is refused, and what it costs everyone
else meanwhile (issue 21).

    .venv/bin/python -m bench.flood [--sizes 6,36] [--repeat 5] [--db sqlite]
    .venv/bin/python -m bench.flood --quick

Starts a whole stack (bench.common: Temporal dev server, `motcua worker all`, `motcua api`
as separate processes), then sends `POST /v1/dossiers` bodies of `{"k0":0,"k1":0,...}`
(6 MB is the issue's 500,000 keys; 36 MB about 3 million), with an applicant's token and
without one, with Content-Length and (`chunked`) without, while a poller asks
`GET /v1/healthz` every 20 ms. For each case: the answer's status, the time to it, the
health checks' p50/p99/max during the flood, and the API process's RSS (peak growth over
its size before the case).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any

import httpx

from bench import common

POLL_SECONDS = 0.02


def flood(megabytes: float) -> bytes:
    """A JSON object of small keys, `megabytes` MB (1e6 bytes) long."""
    target = int(megabytes * 1_000_000)
    parts: list[bytes] = []
    size, i = 1, 0
    while size < target:
        part = b'"k%d":0' % i
        parts.append(part)
        size += len(part) + 1
        i += 1
    return b"{" + b",".join(parts) + b"}"


def _chunks(body: bytes, size: int = 65_536) -> Iterator[bytes]:
    for i in range(0, len(body), size):
        yield body[i : i + size]


class Poller:
    """GET /v1/healthz every POLL_SECONDS (one at a time), and the API's RSS."""

    def __init__(self, http: httpx.AsyncClient, api: Any) -> None:
        self.http = http
        self.api = api
        self.latencies: list[float] = []
        self.peak_rss = 0.0
        self._stop = False

    async def _health(self) -> None:
        while not self._stop:
            t0 = time.perf_counter()
            with contextlib.suppress(httpx.HTTPError):
                await self.http.get("/v1/healthz")
            self.latencies.append(time.perf_counter() - t0)
            await asyncio.sleep(POLL_SECONDS)

    async def _memory(self) -> None:
        while not self._stop:
            self.peak_rss = max(self.peak_rss, self.api.rss_mib())
            await asyncio.sleep(0.05)

    async def __aenter__(self) -> Poller:
        self.peak_rss = self.api.rss_mib()
        self._tasks = [asyncio.create_task(self._health()), asyncio.create_task(self._memory())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop = True
        await asyncio.gather(*self._tasks)


def one(url: str, body: bytes, headers: dict[str, str], chunked: bool) -> tuple[str, float]:
    """Send the body on a connection of its own, from a thread (the poller's event loop
    is not the one writing megabytes): (status or error, seconds to the answer)."""
    with httpx.Client(base_url=url, timeout=300) as http:
        t0 = time.perf_counter()
        try:
            r = http.post(
                "/v1/dossiers", content=_chunks(body) if chunked else body, headers=headers
            )
            status = str(r.status_code)
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        return status, time.perf_counter() - t0


async def run(args: Any) -> dict[str, Any]:
    sizes = [float(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes, args.repeat = [6.0], 1
    info = common.machine()
    common.print_machine(info)
    results: list[dict[str, Any]] = []
    async with common.stack(**common.stack_options(args)) as st:
        citizen = {"Authorization": f"Bearer {st.tokens()['applicant']}"}
        api = st.procs["api"]
        async with httpx.AsyncClient(base_url=st.api_url, timeout=30) as http:
            # The health checks with no flood: what the rows below compare with.
            before = api.rss_mib()
            async with Poller(http, api) as poller:
                await asyncio.sleep(3)
            results.append(
                {
                    "body": "none",
                    "keys": 0,
                    "caller": "-",
                    "length": "-",
                    "status": "-",
                    "refused_s": 0.0,
                    "healthz_ms": common.summary_ms(poller.latencies),
                    "rss_before_mib": before,
                    "rss_growth_mib": poller.peak_rss - before,
                }
            )
            for mb in sizes:
                body = flood(mb)
                for who, auth in (("applicant token", citizen), ("no token", {})):
                    for chunked in (False, True):
                        headers = {**auth, "Content-Type": "application/json"}
                        await asyncio.sleep(1)  # let the previous case settle
                        before = api.rss_mib()
                        statuses, times = [], []
                        async with Poller(http, api) as poller:
                            await asyncio.sleep(0.2)
                            for _ in range(args.repeat):
                                status, seconds = await asyncio.to_thread(
                                    one, st.api_url, body, headers, chunked
                                )
                                statuses.append(status)
                                times.append(seconds)
                            await asyncio.sleep(0.2)
                        health = common.summary_ms(poller.latencies)
                        results.append(
                            {
                                "body": f"{len(body) / 1e6:.1f} MB",
                                "keys": body.count(b":"),
                                "caller": who,
                                "length": "chunked" if chunked else "declared",
                                "status": "/".join(sorted(set(statuses))),
                                "refused_s": max(times),
                                "healthz_ms": health,
                                "rss_before_mib": before,
                                "rss_growth_mib": poller.peak_rss - before,
                            }
                        )
                        r = results[-1]
                        print(
                            f"{r['body']} {who}, {r['length']}: {r['status']} in "
                            f"{r['refused_s']:.3f} s; healthz p99 {health['p99']:.1f} ms; "
                            f"RSS +{r['rss_growth_mib']:.0f} MiB",
                            flush=True,
                        )
    rows = [
        [
            r["body"],
            r["caller"],
            r["length"],
            r["status"],
            f"{r['refused_s']:.3f}",
            f"{r['healthz_ms']['p50']:.1f}",
            f"{r['healthz_ms']['p99']:.1f}",
            f"{r['healthz_ms']['max']:.1f}",
            f"{r['rss_before_mib']:.0f} +{r['rss_growth_mib']:.0f}",
        ]
        for r in results
    ]
    print(
        common.table(
            f"POST /v1/dossiers floods ({args.repeat} each), GET /v1/healthz every 20 ms "
            f"(load {common.loadavg()})",
            [
                "body",
                "caller",
                "length",
                "status",
                "refused (s, max)",
                "healthz p50",
                "p99",
                "max (ms)",
                "API RSS MiB",
            ],
            rows,
        )
    )
    return {"machine": info, "results": results}


def main() -> None:
    parser = common.base_parser(__doc__)
    parser.add_argument("--sizes", default="6,36", help="body sizes in MB, comma-separated")
    parser.add_argument("--repeat", type=int, default=5, help="requests per case")
    args = parser.parse_args()
    data = common.run_main(run(args))
    common.write_json(args.json, data)


if __name__ == "__main__":
    main()
