"""PDFs laid out in the worker's render pool (other processes, outside its GIL) are the
same bytes as in the calling thread; signatures made there are the same signatures; a pool
whose child dies recovers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from activities import documents, render_pool
from activities.documents import SEAL_FIELD, Key
from activities.pdf import render_pdf
from infra.settings import REPO_ROOT
from signatures.signing import verify_pdf
from tests.harness import documents_for_tests
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


def test_signatures_are_made_in_the_pool(pool: None, monkeypatch: pytest.MonkeyPatch) -> None:
    docs = documents_for_tests()
    assert docs.keys is not None
    pdf = render_pdf(simple_spec())

    def not_here(*args: object, **kw: object) -> bytes:
        raise AssertionError("signed in the worker's own process")

    # The child is a fresh process (spawned): this replacement is the worker's only.
    monkeypatch.setattr(documents, "sign_pdf", not_here)
    sealed, signers = docs.seal(pdf, "000.00.20.H99", reason="Đóng dấu")
    assert signers == ["seal:000.00.20.H99"]
    report = verify_pdf(sealed, docs.keys.trust_roots)
    assert report.ok, report
    (signature,) = report.signatures
    assert signature.field_name == SEAL_FIELD
    # A key the development store has not issued yet: issued by the worker's store (its
    # manifest gains it), then found by the child's.
    agency = f"000.00.{uuid.uuid4().int % 90 + 10}.T{os.getpid() % 90 + 10}"
    assert docs.keys.seal_identity(agency) is None
    sealed = docs.sign(docs.keys, Key(agency, "Cơ quan mới"), pdf, SEAL_FIELD, "Đóng dấu")
    assert docs.keys.seal_identity(agency) is not None
    report = verify_pdf(sealed, docs.keys.trust_roots)
    assert report.ok, report
    assert report.signatures[0].agency_code == agency, report.signatures[0]


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
