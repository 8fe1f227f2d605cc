"""PDFs laid out in the worker's render pool (other processes, outside its GIL) are the
same bytes as in the calling thread; a pool whose child dies recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities import render_pool
from activities.pdf import render_pdf
from motcua.settings import REPO_ROOT
from tests.unit.test_pdf import simple_spec


@pytest.fixture
def pool() -> Iterator[None]:
    render_pool.configure(1)
    yield
    render_pool.configure(0)


def children() -> list[int]:
    current = render_pool._pool
    assert current is not None, "no pool"
    return list(current._processes or {})


def test_in_the_pool_the_same_bytes(pool: None) -> None:
    spec = simple_spec()
    rendered = render_pool.render(spec)
    assert rendered == render_pdf(spec)
    (child,) = children()
    assert child != os.getpid()


def test_a_child_killed_does_not_fail_a_document(pool: None) -> None:
    spec = simple_spec(title="Giấy biên nhận")
    expected = render_pdf(spec)
    assert render_pool.render(spec) == expected
    (child,) = children()
    os.kill(child, signal.SIGKILL)
    # The next document finds the pool broken: rendered in this thread, not lost.
    assert render_pool.render(spec) == expected
    # ... and the one after it in a new pool, with a new child.
    assert render_pool.render(spec) == expected
    assert children() and children()[0] != child


def test_zero_processes_renders_in_the_thread() -> None:
    render_pool.configure(0)
    assert render_pool.render(simple_spec()) == render_pdf(simple_spec())
    assert render_pool._pool is None and render_pool.processes() == 0
    with pytest.raises(ValueError):
        render_pool.configure(-1)


def test_a_child_leaves_when_its_worker_is_killed(tmp_path: Path) -> None:
    """A worker SIGKILLed (the fault tests do it) leaves no rendering process behind."""
    script = tmp_path / "worker.py"
    script.write_text(
        "import os, signal, sys\n"
        f"sys.path.insert(0, {str(REPO_ROOT)!r})\n"
        "from activities import render_pool\n"
        "from tests.unit.test_pdf import simple_spec\n"
        "if __name__ == '__main__':\n"
        "    render_pool.configure(1)\n"
        "    render_pool.render(simple_spec())\n"
        "    print(*render_pool._pool._processes, flush=True)\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=30)
    assert done.returncode == -signal.SIGKILL, done.stderr
    child = int(done.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and alive(child):
        time.sleep(0.2)
    assert not alive(child), f"render process {child} outlived its worker"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")
