"""`motcua dev` after a crash needs nobody: run as a real subprocess on free ports, its
Temporal dev server never outlives it (kill -9 included, start-up included), a dead
Temporal child is started again and the stack serves again, and a dev server that a
crashed run of the same state folder left behind is stopped, while anything else
holding the port is refused."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from motcua.devserver import DevServer, DevServerError, find_free_port, is_port_open
from tests.api.support import Person, submission

pytestmark = [pytest.mark.devserver, pytest.mark.slow]

MOTCUA = Path(sys.executable).parent / "motcua"


def temporal_pids(state: Path) -> list[int]:
    """Live `temporal server start-dev` processes on this state folder's database."""
    db = str((state / "temporal.db").resolve()).encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if b"start-dev" in argv and db in argv and stat and stat[0] not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def eventually(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.1)


def free_ports() -> tuple[int, int, int]:
    """A Temporal port whose UI port (+1000) is free too, an API port, and a port for the
    development CA (by default the API's + 1, which CI once found taken)."""
    while True:
        temporal, api, ca = find_free_port(), find_free_port(), find_free_port()
        taken = {temporal, temporal + 1000}
        if (
            api not in taken
            and ca not in taken | {api}
            and not is_port_open("127.0.0.1", temporal + 1000)
        ):
            return temporal, api, ca


class Dev:
    """One `motcua dev` process; its output in files of the test's folder."""

    def __init__(
        self, tmp: Path, state: Path, temporal_port: int, api_port: int, ca_port: int
    ) -> None:
        self.tmp, self.state = tmp, state
        self.temporal_port, self.api_port, self.ca_port = temporal_port, api_port, ca_port
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self, *, demo: bool = False) -> None:
        self.runs += 1
        self.out_path = self.tmp / f"dev-{self.runs}.out"
        self.err_path = self.tmp / f"dev-{self.runs}.err"
        cmd = [
            str(MOTCUA), "dev", "--state-dir", str(self.state),
            "--temporal-port", str(self.temporal_port), "--api-port", str(self.api_port),
            "--demo" if demo else "--no-demo",
        ]  # fmt: skip
        with self.out_path.open("wb") as out, self.err_path.open("wb") as err:
            self.proc = subprocess.Popen(
                cmd,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "MOTCUA_DEV_CA_PORT": str(self.ca_port)},
            )

    @property
    def out(self) -> str:
        return self.out_path.read_text(errors="replace")

    @property
    def err(self) -> str:
        return self.err_path.read_text(errors="replace")

    def ready(self) -> bool:
        assert self.proc is not None and self.proc.poll() is None, self.out + self.err
        try:
            r = httpx.get(f"http://127.0.0.1:{self.api_port}/v1/readyz", timeout=5)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def token(self, role: str) -> str:
        match = re.search(rf"^\s+{role}\s+\S+\s+(\S+)$", self.out, re.MULTILINE)
        assert match, self.out
        return match.group(1)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def wait(self, seconds: float = 60) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout=seconds)

    def kill_everything(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for pid in temporal_pids(self.state):  # what the code under test left behind
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    d = Dev(tmp_path, tmp_path / "state", *free_ports())
    try:
        yield d
    finally:
        d.kill_everything()


def test_kill_9_of_motcua_dev_takes_its_temporal_server_down_and_it_starts_again(
    dev: Dev,
) -> None:
    dev.start()
    eventually(dev.ready, 120, "motcua dev ready")
    assert len(temporal_pids(dev.state)) == 1

    dev.signal(signal.SIGKILL)
    dev.wait()
    eventually(lambda: not temporal_pids(dev.state), 5, "no Temporal server of the folder left")
    eventually(lambda: not is_port_open("127.0.0.1", dev.temporal_port), 5, "port free")

    # Same folder, same ports, nothing touched in between.
    dev.start()
    eventually(dev.ready, 120, "motcua dev ready again")
    dev.signal(signal.SIGTERM)
    assert dev.wait() == 0, dev.out + dev.err
    assert not temporal_pids(dev.state)
    assert not (dev.state / "temporal.pid").exists()


@pytest.mark.parametrize(
    "when",
    ["Đang khởi động máy chủ Temporal (dev)", "=== Minh họa"],
    ids=["temporal-start", "demo"],
)
def test_sigterm_during_start_up_stops_everything(dev: Dev, when: str) -> None:
    dev.start(demo=True)
    eventually(lambda: when in dev.out, 120, f"{when!r} printed")
    if when.startswith("Đang khởi động"):
        eventually(lambda: bool(temporal_pids(dev.state)), 30, "the Temporal server started")
    dev.signal(signal.SIGTERM)
    assert dev.wait() == 0, dev.out + dev.err
    assert "Đã dừng trong lúc khởi động" in dev.out, dev.out
    assert not temporal_pids(dev.state)
    assert not is_port_open("127.0.0.1", dev.temporal_port)
    assert not is_port_open("127.0.0.1", dev.api_port)


def test_a_dead_temporal_child_is_started_again_and_the_stack_serves_again(dev: Dev) -> None:
    dev.start()
    eventually(dev.ready, 120, "motcua dev ready")
    [first] = temporal_pids(dev.state)

    os.kill(first, signal.SIGKILL)
    eventually(lambda: "Đã khởi động lại máy chủ Temporal" in dev.err, 60, "restart logged")
    assert "Máy chủ Temporal (dev) đã dừng (mã thoát -9)" in dev.err, dev.err
    [second] = temporal_pids(dev.state)
    assert second != first
    eventually(dev.ready, 60, "motcua dev ready after the restart")

    # It serves: a dossier is submitted and acted on.
    base = f"http://127.0.0.1:{dev.api_port}/v1"
    intake = {"Authorization": f"Bearer {dev.token('intake_officer')}"}
    person = Person(sub="citizen-restart", id_number="001090012345", name="Nguyễn Văn Khởi")
    with httpx.Client(base_url=base, timeout=60) as http:
        r = http.post("/dossiers", json=submission(person), headers=intake)
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        r = http.post(f"/dossiers/{code}/actions", json={"action": "accept"}, headers=intake)
        assert r.status_code == 200, r.text
    dev.signal(signal.SIGTERM)
    assert dev.wait() == 0, dev.out + dev.err
    assert not temporal_pids(dev.state)


# --------------------------------------------------------------------------- left behind

ORPHAN = """
import sys, time
from motcua.devserver import DevServer
server = DevServer(sys.argv[1], port=int(sys.argv[2]), ui=False, die_with_parent=False)
server.start()
print(server.pid, flush=True)
time.sleep(600)
"""


def test_a_server_left_by_a_crashed_run_of_the_folder_is_stopped_anything_else_refused(
    tmp_path: Path,
) -> None:
    port = find_free_port()
    crashed = subprocess.Popen(
        [sys.executable, "-c", ORPHAN, str(tmp_path / "a"), str(port)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": os.getcwd()},
    )
    assert crashed.stdout is not None
    orphan = int(crashed.stdout.readline())
    crashed.kill()
    crashed.wait()
    try:
        assert temporal_pids(tmp_path / "a") == [orphan]  # it outlived its parent
        # Another folder's server does not stop it: the port is refused.
        with pytest.raises(DevServerError, match="đã có chương trình khác nghe"):
            DevServer(tmp_path / "b", port=port, ui=False).start()
        assert temporal_pids(tmp_path / "a") == [orphan]
        # The same folder's: the orphan is stopped and a new server starts.
        with DevServer(tmp_path / "a", port=port, ui=False) as server:
            assert server.pid != orphan
            assert temporal_pids(tmp_path / "a") == [server.pid]
            # A live owner's server is not stopped, whatever the folder.
            with pytest.raises(DevServerError, match="thuộc về một tiến trình đang chạy"):
                DevServer(tmp_path / "a", port=find_free_port(), ui=False).start()
            assert server.running
        assert not temporal_pids(tmp_path / "a")
    finally:
        for pid in temporal_pids(tmp_path / "a"):
            os.kill(pid, signal.SIGKILL)
