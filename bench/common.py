"""What the benchmarks share: a whole motcua stack on free ports in a temporary folder
(its own Temporal dev server, file-persisted; a read model on SQLite or a throwaway
PostgreSQL database; `motcua worker all` and `motcua api` as separate processes, exactly
as production runs them), real development tokens for the demo officers, the HTTP walk of
a 3.000333 dossier (six steps), process memory and CPU, py-spy profiles, percentiles,
result tables and JSON output.

Every benchmark is `python -m bench.<name>`; run with `--help` for its sizes and
`--quick` for a smoke run. Nothing here is imported by the application.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import itertools
import json
import math
import os
import platform
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psutil
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from bench import BYTECODE_ENV
from domain.catalog import Catalog, load_catalog
from infra.settings import REPO_ROOT, Settings
from infra.temporal import data_converter
from motcua.devserver import DevServer, find_free_port
from store.db import init_db, make_engine

PROCEDURE = "3.000333"  # Phiếu lý lịch tư pháp số 1: the catalog's six-step procedure
CENTRE = "000.00.01.H99"
POLICE = "000.00.20.H99"
PG_URL = os.environ.get("MOTCUA_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
CACHE = Path(__file__).resolve().parent / ".cache"
MOTCUA = Path(sys.executable).parent / "motcua"


# --------------------------------------------------------------------------- the machine


def loadavg() -> str:
    """`/proc/loadavg`'s three averages, e.g. '0.52 0.61 0.70'."""
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


def machine() -> dict[str, Any]:
    import temporalio

    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    server = subprocess.run(
        [str(Path(sys.executable).parent / "temporal"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": psutil.cpu_count(),
        "cpu": cpu,
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporalio": temporalio.__version__,
        "temporal_cli": server,
        "sqlite": sqlite3.sqlite_version,
        "loadavg": loadavg(),
    }


def print_machine(info: dict[str, Any]) -> None:
    print(
        f"# {info['date']}  {info['cpus']} CPU ({info['cpu']}), {info['ram_gib']} GiB, "
        f"Python {info['python']}, temporalio {info['temporalio']}, {info['temporal_cli']}"
    )
    print(f"# load average at start: {info['loadavg']}", flush=True)


# --------------------------------------------------------------------------- statistics


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank on the sorted values); NaN when empty."""
    if not values:
        return math.nan
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100 * len(s)) - 1))
    return s[k]


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """n, p50, p95, p99, mean and max in milliseconds."""
    return {
        "n": len(seconds),
        "p50": percentile(seconds, 50) * 1000,
        "p95": percentile(seconds, 95) * 1000,
        "p99": percentile(seconds, 99) * 1000,
        "mean": (statistics.fmean(seconds) * 1000) if seconds else math.nan,
        "max": (max(seconds) * 1000) if seconds else math.nan,
    }


def table(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A Markdown table (what docs/benchmarks.md pastes)."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            if math.isnan(v):
                return "—"
            return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.2f}" if abs(v) >= 1 else f"{v:.3f}"
        return str(v)

    lines = [f"\n{title}\n", "| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def latency_rows(samples: dict[str, list[float]]) -> list[list[Any]]:
    out = []
    for name, values in samples.items():
        s = summary_ms(values)
        out.append([name, s["n"], s["p50"], s["p95"], s["p99"], s["max"]])
    return out


LATENCY_HEADER = ["operation", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"]


def write_json(path: str | None, data: dict[str, Any]) -> None:
    if path:
        Path(path).write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
        print(f"\nJSON: {path}")


def base_parser(doc: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=(doc or "").split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="postgresql",
        help="the read model (default: a throwaway PostgreSQL database, as in production)",
    )
    parser.add_argument("--pg", default=PG_URL, help="PostgreSQL server for --db postgresql")
    parser.add_argument(
        "--workers",
        choices=["all", "split"],
        default="all",
        help="all: one `motcua worker all` process (as `motcua dev`); split: `motcua worker\n"
        "centre` and `motcua worker agencies`, two processes (as the compose file's topology)",
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary folder (logs, databases)"
    )
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="py-spy the worker and API processes while measuring (collapsed stacks in DIR)",
    )
    parser.add_argument(
        "--server-config",
        metavar="KEY=JSON",
        action="append",
        default=[],
        type=_dynamic_config_value,
        help="a dynamic config value for the dev server, over motcua's defaults (repeatable),\n"
        "e.g. system.enableActivityEagerExecution=false",
    )
    parser.add_argument(
        "--setting",
        metavar="MOTCUA_NAME=VALUE",
        action="append",
        default=[],
        type=_setting,
        help="a motcua setting for the stack's processes (repeatable),\n"
        "e.g. MOTCUA_RENDER_PROCESSES=2",
    )
    return parser


def _setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.startswith("MOTCUA_"):
        raise argparse.ArgumentTypeError(f"{text!r} is not MOTCUA_NAME=VALUE")
    return key, value


def _dynamic_config_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"{text!r} is not KEY=JSON")
    try:
        return key, json.loads(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not JSON (strings need quotes)") from None


def stack_options(args: argparse.Namespace) -> dict[str, Any]:
    """`stack()`'s keyword arguments from the options `base_parser` defines."""
    return {
        "db": args.db,
        "pg": args.pg,
        "keep": args.keep,
        "workers": args.workers,
        "server_config": dict(args.server_config),
        "env": dict(args.setting),
    }


# --------------------------------------------------------------------------- processes


class Proc:
    """A child process of the benchmark (own session), its log in a file."""

    def __init__(self, name: str, cmd: Sequence[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.log = log
        self._fh = log.open("ab")
        self.popen = subprocess.Popen(
            list(cmd),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.popen.pid)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def thread_cpu(self) -> dict[str, float]:
        """CPU seconds of the main thread (the event loop: workflow code, the SDK's
        callbacks, the API's handlers) and of all other threads together."""
        main = 0.0
        rest = 0.0
        for t in self.ps.threads():
            if t.id == self.pid:
                main += t.user_time + t.system_time
            else:
                rest += t.user_time + t.system_time
        return {"main thread": main, "other threads": rest}

    def rss_mib(self) -> float:
        return self.ps.memory_info().rss / 2**20

    def cpu_seconds(self) -> float:
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def stop(self, grace: float = 20.0) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()
        self._fh.close()

    def tail(self, n: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        return ""


class CpuMeter:
    """CPU seconds used by each watched process (and this one) between start and stop."""

    def __init__(
        self, procs: dict[str, psutil.Process], threads: dict[str, Proc] | None = None
    ) -> None:
        self.procs = {**procs, "bench driver": psutil.Process()}
        self.threads = threads or {}
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self.wall = 0.0

    def _all(self) -> dict[str, float]:
        out = {k: self._cpu(p) for k, p in self.procs.items()}
        for k, p in self.procs.items():
            if k != "bench driver":
                kids = self._children(p)
                if kids or f"{k} (its child processes)" in self.before:
                    out[f"{k} (its child processes)"] = kids
        for name, proc in self.threads.items():
            for part, v in proc.thread_cpu().items():
                out[f"{name}: {part}"] = v
        return out

    @staticmethod
    def _cpu(p: psutil.Process) -> float:
        # Own time only: this process's children are the profilers and the other
        # processes, counted on their own.
        t = p.cpu_times()
        return float(t.user + t.system)

    @staticmethod
    def _children(p: psutil.Process) -> float:
        """CPU of a process's children: a worker's PDF render pool (activities/
        render_pool.py), alive or ended and reaped."""
        total = 0.0
        try:
            t = p.cpu_times()
            total += float(t.children_user + t.children_system)
            for child in p.children(recursive=True):
                with contextlib.suppress(psutil.Error):
                    c = child.cpu_times()
                    total += float(c.user + c.system)
        except psutil.Error:
            pass
        return total

    def start(self) -> None:
        self.before = {}
        self.before = self._all()
        self._t0 = time.perf_counter()

    def stop(self) -> dict[str, float]:
        self.wall = time.perf_counter() - self._t0
        self.used = {k: v - self.before.get(k, 0.0) for k, v in self._all().items()}
        return self.used

    def rows(self, per: int = 0) -> list[list[Any]]:
        out = []
        for k, v in self.used.items():
            row: list[Any] = [k, v, 100 * v / self.wall if self.wall else math.nan]
            if per:
                row.append(1000 * v / per)
            out.append(row)
        return out


# --------------------------------------------------------------------------- py-spy


class Profiler:
    """py-spy attached to running processes for the measured window only; collapsed
    stacks (`--format raw`) written to DIR/<name>.txt, summarised by `top_frames`."""

    def __init__(self, directory: str | None, targets: dict[str, int], rate: int = 97) -> None:
        self.directory = Path(directory) if directory else None
        self.targets = targets
        self.rate = rate
        self._spies: dict[str, subprocess.Popen[bytes]] = {}

    def start(self) -> None:
        if self.directory is None:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).parent / "py-spy"
        for name, pid in self.targets.items():
            out = self.directory / f"{name}.txt"
            self._spies[name] = subprocess.Popen(
                [
                    str(spy),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "--rate",
                    str(self.rate),
                    "--nonblocking",
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=(self.directory / f"{name}.py-spy.log").open("wb"),
            )

    def stop(self) -> None:
        for spy in self._spies.values():
            if spy.poll() is None:
                spy.send_signal(signal.SIGINT)
        for spy in self._spies.values():
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
        if self.directory is not None:
            for name in self._spies:
                path = self.directory / f"{name}.txt"
                if path.exists():
                    print(top_frames_report(name, path))


def _short(frame: str) -> str:
    """'fn (path/to/module.py:12)' -> 'fn (module.py)'."""
    fn, _, where = frame.partition(" (")
    where = where.rstrip(")")
    path = where.split(":")[0]
    parts = Path(path).parts
    if "site-packages" in parts:
        i = parts.index("site-packages")
        mod = "/".join(parts[i + 1 : i + 3])
    elif str(REPO_ROOT) in path:
        mod = str(Path(path).relative_to(REPO_ROOT))
    else:
        mod = Path(path).name
    return f"{fn} ({mod})"


def top_frames(path: Path, n: int = 15) -> tuple[int, list[tuple[str, int]], list[tuple[str, int]]]:
    """From py-spy's collapsed stacks: total samples, the top frames by inclusive samples
    (a frame counted once per stack) and by own (leaf) samples."""
    total = 0
    inclusive: Counter[str] = Counter()
    own: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        c = int(count)
        total += c
        frames = [_short(f) for f in stack.split(";") if f and not f.startswith("process ")]
        frames = [f for f in frames if not f.startswith("thread ")]
        for f in set(frames):
            inclusive[f] += c
        if frames:
            own[frames[-1]] += c
    return total, inclusive.most_common(n), own.most_common(n)


def top_frames_report(name: str, path: Path, n: int = 15) -> str:
    total, inc, own = top_frames(path, n)
    if not total:
        return f"\n[{name}] no samples"
    lines = [f"\n[{name}] py-spy: {total} samples ({path})", "  inclusive:"]
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in inc]
    lines.append("  own (leaf):")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in own]
    return "\n".join(lines)


# --------------------------------------------------------------------------- the stack


@dataclass
class Stack:
    """A running stack: dev server, read model, worker and API processes."""

    tmp: Path
    server: DevServer
    settings: Settings
    env: dict[str, str]
    db_url: str
    engine: Engine
    catalog: Catalog
    client: Client
    procs: dict[str, Proc] = field(default_factory=dict)
    api_url: str = ""

    def server_process(self) -> psutil.Process:
        assert self.server.pid is not None
        return psutil.Process(self.server.pid)

    def watched(self) -> dict[str, psutil.Process]:
        out = {"temporal dev server": self.server_process()}
        out.update({name: p.ps for name, p in self.procs.items()})
        return out

    def start_process(
        self, name: str, cmd: Sequence[str], env: dict[str, str] | None = None
    ) -> Proc:
        proc = Proc(name, cmd, {**self.env, **(env or {})}, self.tmp / f"{name}.log")
        self.procs[name] = proc
        return proc

    def stop_process(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None:
            proc.stop()

    def app_procs(self) -> dict[str, Proc]:
        """The application's processes: worker(s) and API."""
        return {k: p for k, p in self.procs.items() if k in ("worker", "agency worker", "api")}

    def app_pids(self) -> dict[str, int]:
        return {k.replace(" ", "-"): p.pid for k, p in self.app_procs().items()}

    def tokens(self) -> dict[str, str]:
        """One development token per demo role (motcua.stack.development_tokens)."""
        from motcua.stack import development_tokens

        first: dict[str, str] = {}  # the first demo user of each role, as `motcua dev`'s
        for role, _agency, token in development_tokens(self.settings):
            first.setdefault(role, token)
        return first

    def memory(self) -> dict[str, float]:
        out = {"temporal dev server": self.server_process().memory_info().rss / 2**20}
        for name, p in self.procs.items():
            out[name] = p.rss_mib()
        return out


@contextlib.contextmanager
def _database(kind: str, pg: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'motcua.db'}"
        return
    admin = make_engine(pg, isolation_level="AUTOCOMMIT")
    name = f"bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


async def _wait_http(url: str, proc: Proc, patience: float = 120) -> None:
    deadline = time.monotonic() + patience
    async with httpx.AsyncClient(timeout=5) as http:
        while True:
            if not proc.alive():
                raise RuntimeError(f"{proc.name} exited during start-up:\n{proc.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                r = await http.get(url)
                if r.status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} not ready after {patience:.0f} s:\n{proc.tail()}")
            await asyncio.sleep(0.2)


def _save_logs_with_errors(tmp: Path) -> None:
    """Copy the processes' logs to bench/.cache/logs/ when one holds a traceback."""
    import shutil

    logs = [p for p in tmp.glob("*.log") if "Traceback" in p.read_text(errors="replace")]
    if logs:
        dest = CACHE / "logs" / datetime.now().strftime("%Y%m%d-%H%M%S")
        dest.mkdir(parents=True, exist_ok=True)
        for p in tmp.glob("*.log"):
            shutil.copy(p, dest / p.name)
        print(f"(a process logged a traceback: logs copied to {dest})")


async def _watch(st: Stack, main: asyncio.Task[Any] | None) -> None:
    """Stop the benchmark (cancel its task) if a process of the stack dies under it."""
    while True:
        await asyncio.sleep(2)
        dead = [p for p in st.procs.values() if not p.alive()]
        if not st.server.running:
            print("\nthe Temporal dev server died", flush=True)
        elif dead:
            for p in dead:
                print(f"\n{p.name} died (exit {p.popen.returncode}):\n{p.tail()}", flush=True)
        else:
            continue
        if main is not None:
            main.cancel()
        return


def run_main(coro: Any) -> Any:
    """asyncio.run, with SIGTERM and SIGINT cancelling the benchmark, so that its stack is
    torn down (processes stopped, throwaway database dropped) rather than orphaned."""

    async def main() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)  # type: ignore[union-attr]
        return await coro

    return asyncio.run(main())


def _serve_ca(settings: Any, ready: Any, stop: Any) -> None:
    """In a child process: the development CA's CRL, OCSP and TSA until `stop` is set."""
    from motcua.stack import dev_ca_serving

    with dev_ca_serving(settings) as tsa_url:
        ready.put(tsa_url)
        stop.wait()


@contextlib.contextmanager
def ca_in_its_own_process(settings: Any) -> Iterator[str]:
    """The development CA served by a process of its own, as a province's CA is another
    machine: served from the benchmark's driver (as it was until 07/12/2026) it answered
    each signature's six requests from a process busy driving the load, under its GIL.
    Yields the TSA's address."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    ready, stop = spawn.Queue(), spawn.Event()
    child = spawn.Process(target=_serve_ca, args=(settings, ready, stop), daemon=True)
    child.start()
    try:
        yield ready.get(timeout=60)
    finally:
        stop.set()
        child.join(timeout=10)
        if child.is_alive():
            child.kill()


@contextlib.asynccontextmanager
async def stack(
    *,
    db: str = "postgresql",
    pg: str = PG_URL,
    workers: str | None = "all",
    api: bool = True,
    env: dict[str, str] | None = None,
    keep: bool = False,
    server_config: dict[str, Any] | None = None,
) -> AsyncIterator[Stack]:
    """A whole stack in a temporary folder, torn down on exit (`keep`: leave the folder)."""
    from motcua.stack import ensure_dev_pki

    tmp = Path(tempfile.mkdtemp(prefix="motcua-bench-"))
    with _database(db, pg, tmp) as db_url, contextlib.ExitStack() as dev_ca:
        port, api_port, ca_port = find_free_port(), find_free_port(), find_free_port()
        ui_port = find_free_port()
        server = DevServer(
            tmp / "temporal", port=port, ui_port=ui_port, ui=False, dynamic_config=server_config
        )
        await asyncio.to_thread(server.start)
        engine = None
        st: Stack | None = None
        try:
            child_env = {
                **{
                    k: v
                    for k, v in os.environ.items()
                    if not k.startswith("MOTCUA_") and k != "PYTHONDONTWRITEBYTECODE"
                },
                **BYTECODE_ENV,
                "MOTCUA_STATE_DIR": str(tmp / "state"),
                "MOTCUA_TEMPORAL_ADDRESS": server.address,
                "DATABASE_URL": db_url,
                "MOTCUA_API_PORT": str(api_port),
                "MOTCUA_DEV_CA_PORT": str(ca_port),
                # One token per simulated role drives hundreds of requests a minute: the
                # in-process limiter (120/min per caller) would turn them into 429s.
                "MOTCUA_RATE_LIMIT_PER_MINUTE": "0",
                "MOTCUA_RATE_LIMIT_SUBMIT_PER_MINUTE": "0",
                "MOTCUA_RATE_LIMIT_TRACK_PER_MINUTE": "0",
                **(env or {}),
            }
            settings = Settings(
                state_dir=tmp / "state",
                temporal_address=server.address,
                database_url=db_url,
                api_port=api_port,
                dev_ca_port=ca_port,
                rate_limit_per_minute=0,
                rate_limit_submit_per_minute=0,
                rate_limit_track_per_minute=0,
            )
            catalog = load_catalog(settings.catalog_dir)
            settings.state_dir.mkdir(parents=True, exist_ok=True)
            await asyncio.to_thread(ensure_dev_pki, settings, catalog)
            # As `motcua dev`: the development CA's CRL, OCSP and TSA served (its
            # certificates name them, and a signer's certificate is checked before it
            # signs), results signed PAdES B-LTA with its timestamps.
            tsa_url = dev_ca.enter_context(ca_in_its_own_process(settings))
            child_env.setdefault("MOTCUA_TSA_URL", tsa_url)
            engine = make_engine(db_url)
            await asyncio.to_thread(init_db, engine)
            client = await Client.connect(server.address, data_converter=data_converter(settings))
            st = Stack(
                tmp=tmp,
                server=server,
                settings=settings,
                env=child_env,
                db_url=db_url,
                engine=engine,
                catalog=catalog,
                client=client,
            )
            if workers == "all":
                st.start_process("worker", [str(MOTCUA), "worker", "all"])
            elif workers == "split":
                st.start_process("worker", [str(MOTCUA), "worker", "centre"])
                st.start_process("agency worker", [str(MOTCUA), "worker", "agencies"])
            if api:
                proc = st.start_process("api", [str(MOTCUA), "api", "--port", str(api_port)])
                st.api_url = f"http://127.0.0.1:{api_port}"
                await _wait_http(f"{st.api_url}/v1/readyz", proc)
            watchdog = asyncio.create_task(_watch(st, asyncio.current_task()))
            try:
                yield st
            finally:
                watchdog.cancel()
        finally:
            if st is not None:
                for name in list(st.procs):
                    st.stop_process(name)
                _save_logs_with_errors(tmp)
            if engine is not None:
                engine.dispose()
            await asyncio.to_thread(server.stop)
            if not keep:
                import shutil

                shutil.rmtree(tmp, ignore_errors=True)
            else:
                print(f"(kept {tmp})")


# --------------------------------------------------------------------------- a dossier over HTTP


def sample_pdf() -> bytes:
    """A real applicant's declaration (the demo's), about 20 KB."""
    from activities.pdf import DocumentMetadata, DocumentSpec, render_pdf

    return render_pdf(
        DocumentSpec(
            issuer="",
            title="TỜ KHAI YÊU CẦU CẤP PHIẾU LÝ LỊCH TƯ PHÁP",
            created_at=datetime(2026, 11, 2, 8, 0, tzinfo=UTC),
            metadata=DocumentMetadata(title="Tờ khai yêu cầu cấp Phiếu lý lịch tư pháp"),
            fields=[("Họ và tên", "Nguyễn Văn An"), ("Yêu cầu", "Phiếu lý lịch tư pháp số 1")],
        )
    )


_counter = itertools.count(1)


def submission(pdf_b64: str, n: int | None = None) -> dict[str, Any]:
    n = next(_counter) if n is None else n
    return {
        "procedure_code": PROCEDURE,
        "channel": "counter",
        "applicant": {
            "name": f"Nguyễn Văn Thử {n}",
            "id_number": f"{(uuid.uuid4().int % 10**6):06d}{n % 10**6:06d}",
            "phone": "0912345678",
            "address": "Phường Hồng Gai, tỉnh Quảng Ninh",
        },
        "documents": [
            {"kind": "to_khai", "filename": "to-khai.pdf", "content_base64": pdf_b64},
            {"kind": "giay_to_tuy_than", "filename": "can-cuoc.pdf", "content_base64": pdf_b64},
        ],
    }


def _fee_at_intake(code: str = "3.000333") -> int:
    """The fee the counter collects before it accepts (the catalog's, no exemption)."""
    from domain.fees import fees_due

    catalog = load_catalog(Settings().catalog_dir)
    return fees_due(catalog.procedure(code), "intake").total_vnd


# (step label, action, role, data) of 3.000333 after submission; the handoff is automatic.
# The counter collects the fee first, as it does (issue 25): no return without it.
STEPS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("pay", "pay", "intake_officer", {"amount_vnd": _fee_at_intake(), "method": "cash"}),
    ("accept", "accept", "intake_officer", {}),
    (
        "appraise",
        "appraise",
        "specialist",
        {"opinion": "Không có án tích", "recommendation": "grant"},
    ),
    ("approve", "approve", "leader", {}),
    ("sign", "sign", "signer", {}),
    ("return", "return", "return_officer", {"channel": "counter"}),
]


class HttpError(RuntimeError):
    pass


@dataclass
class Officers:
    """The demo users' tokens (motcua.stack.development_tokens), by role."""

    tokens: dict[str, str]
    pdf_b64: str
    settings: Settings | None = None
    timings: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)

    def h(self, role: str, agency: str | None = None) -> dict[str, str]:
        """The demo user's token for `role`, or (with `agency`) a development token of an
        officer of that agency (api.auth.issue_token)."""
        if agency is None:
            return {"Authorization": f"Bearer {self.tokens[role]}"}
        key = f"{role}@{agency}"
        if key not in self.tokens:
            from api.auth import issue_token

            assert self.settings is not None
            self.tokens[key] = issue_token(
                self.settings,
                sub=f"bench-{role}-{agency}",
                roles=[role],
                agency=agency,
                name=f"Cán bộ {role} {agency}",
            )
        return {"Authorization": f"Bearer {self.tokens[key]}"}

    async def post(
        self,
        http: httpx.AsyncClient,
        kind: str,
        url: str,
        body: dict[str, Any],
        role: str,
        agency: str | None = None,
    ) -> dict[str, Any]:
        r = await self._call(http, kind, "POST", url, json=body, headers=self.h(role, agency))
        out: dict[str, Any] = r.json()
        return out

    async def _call(
        self, http: httpx.AsyncClient, kind: str, method: str, url: str, **kw: Any
    ) -> httpx.Response:
        t0 = time.perf_counter()
        r = await http.request(method, url, **kw)
        self.timings[kind].append(time.perf_counter() - t0)
        if r.status_code >= 400:
            self.errors[f"{kind} {r.status_code}"] += 1
            raise HttpError(f"{method} {url}: {r.status_code} {r.text[:300]}")
        return r

    async def submit(self, http: httpx.AsyncClient) -> str:
        r = await self._call(
            http,
            "submit",
            "POST",
            "/v1/dossiers",
            json=submission(self.pdf_b64),
            headers={**self.h("intake_officer"), "Idempotency-Key": uuid.uuid4().hex},
        )
        code: str = r.json()["code"]
        return code

    async def state(
        self,
        http: httpx.AsyncClient,
        code: str,
        role: str,
        agency: str | None = None,
        *,
        label: str = "state",
    ) -> dict[str, Any]:
        r = await self._call(
            http,
            label,
            "GET",
            f"/v1/dossiers/{quote(code, safe='')}",
            headers=self.h(role, agency),
        )
        body: dict[str, Any] = r.json()
        return body

    async def act(
        self,
        http: httpx.AsyncClient,
        code: str,
        label: str,
        action: str,
        role: str,
        data: dict[str, Any],
    ) -> dict[str, Any]:
        r = await self._call(
            http,
            f"action {label}",
            "POST",
            f"/v1/dossiers/{quote(code, safe='')}/actions",
            json={"action": action, "data": data},
            headers=self.h(role),
        )
        body: dict[str, Any] = r.json()
        if r.status_code == 202:  # still signing: wait as an officer would
            while body.get("issuing"):
                await asyncio.sleep(0.2)
                body = await self.state(http, code, role)
        return body

    async def walk(self, http: httpx.AsyncClient, *, look_first: bool = False) -> str:
        """Submit one dossier and take every step to the returned result. `look_first`:
        each officer opens the dossier (GET its live state) before acting."""
        code = await self.submit(http)
        for label, action, role, data in STEPS:
            if look_first:
                await self.state(http, code, role)
            await self.act(http, code, label, action, role, data)
        return code


def pdf_b64() -> str:
    return base64.b64encode(sample_pdf()).decode()


def http_client(base_url: str, connections: int = 100) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base_url,
        timeout=120,
        # uvicorn closes a connection idle for 5 s; dropping ours after 3 s avoids sending
        # a request on a connection the server is closing (a ReadError, not the API's).
        limits=httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections, keepalive_expiry=3
        ),
    )


# --------------------------------------------------------------------------- histories


SHAPE_EVENTS = {
    "activities": EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    "updates": EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
    "timers": EventType.EVENT_TYPE_TIMER_STARTED,
    "workflow_tasks": EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
    "upserts": EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
}


def shape_of(history: WorkflowHistory) -> dict[str, int]:
    """Activities scheduled, updates accepted, timers started, workflow tasks, search
    attribute upserts and events of one history."""
    kinds = Counter(e.event_type for e in history.events)
    out = {name: kinds.get(t, 0) for name, t in SHAPE_EVENTS.items()}
    out["events"] = len(history.events)
    return out


def fmt_mem(mem: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:,.0f} MiB" for k, v in mem.items())


async def server_side_timings(client: Client, ids: Iterable[str]) -> dict[str, list[float]]:
    """From histories: how long workflow tasks and activities waited in their task queue
    (scheduled -> started: a worker busy or slow to poll) and ran (started -> completed),
    per activity type; and how long updates took from acceptance to completion."""
    out: dict[str, list[float]] = defaultdict(list)
    for wid in ids:
        history = await client.get_workflow_handle(wid).fetch_history()
        scheduled: dict[int, tuple[str, float]] = {}
        started: dict[int, float] = {}
        accepted: dict[int, tuple[str, float]] = {}
        for e in history.events:
            t = e.event_time.ToDatetime().timestamp()
            et = e.event_type
            if et == EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED:
                scheduled[e.event_id] = ("workflow task", t)
            elif et == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
                sid = e.workflow_task_started_event_attributes.scheduled_event_id
                if sid in scheduled:
                    out["workflow task: queued"].append(t - scheduled[sid][1])
                started[e.event_id] = t
            elif et == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                sid = e.workflow_task_completed_event_attributes.started_event_id
                if sid in started:
                    out["workflow task: ran"].append(t - started[sid])
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                a = e.activity_task_scheduled_event_attributes
                scheduled[e.event_id] = (a.activity_type.name, t)
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                sid = e.activity_task_started_event_attributes.scheduled_event_id
                if sid in scheduled:
                    name = scheduled[sid][0]
                    out[f"{name}: queued"].append(t - scheduled[sid][1])
                    started[e.event_id] = t
                    scheduled[e.event_id] = (name, t)
            elif et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
                sid = e.activity_task_completed_event_attributes.started_event_id
                if sid in started:
                    out[f"{scheduled[sid][0]}: ran"].append(t - started[sid])
            elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
                a = e.workflow_execution_update_accepted_event_attributes
                accepted[e.event_id] = (a.accepted_request.input.name, t)
            elif et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                a = e.workflow_execution_update_completed_event_attributes
                if a.accepted_event_id in accepted:
                    name, t0 = accepted[a.accepted_event_id]
                    out[f"update {name}: accepted -> completed"].append(t - t0)
    return out


async def activity_retries(client: Client) -> dict[str, int]:
    """Activity attempts after the first in every dossier of the namespace, from their
    histories, by activity type and the failure that caused them (a benchmark that
    retries is one to look into)."""
    out: Counter[str] = Counter()
    async for execution in client.list_workflows("WorkflowType = 'DossierWorkflow'"):
        history = await client.get_workflow_handle(execution.id).fetch_history()
        scheduled: dict[int, str] = {}
        for e in history.events:
            if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                a = e.activity_task_scheduled_event_attributes
                scheduled[e.event_id] = a.activity_type.name
            elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
                st = e.activity_task_started_event_attributes
                if st.attempt > 1:
                    name = scheduled.get(st.scheduled_event_id, "?")
                    failure = st.last_failure.message.splitlines()[0][:160]
                    out[f"{name}: {failure or '(no failure message)'}"] += st.attempt - 1
    return dict(out)


def server_rows(timings: dict[str, list[float]]) -> list[list[Any]]:
    return latency_rows(dict(sorted(timings.items())))
