"""PDFs laid out in the worker's render pool (other processes, outside its GIL) are the
same bytes as in the calling thread; a pool whose child dies recovers."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from activities import render_pool
from activities.pdf import render_pdf
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
