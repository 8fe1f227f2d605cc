"""Rendering and signing PDFs in other processes, outside the worker's GIL.

A worker process runs its activities in threads and its workflow activations in threads,
all sharing one GIL. Laying out a form (fpdf2, pure Python: about 85 ms of CPU for each
of a dossier's three documents) holds it in long stretches, and the short work queues
behind it: a 4 ms read-model write took 90 ms at 0.5 dossier/s, a workflow task 35 ms
(bench/open_loop.py, docs/benchmarks.md). `motcua worker` therefore renders in a small
pool of processes (MOTCUA_RENDER_PROCESSES, default 1: this machine's second core); the
bytes are the same (tests/unit/test_render_pool.py). With 0, or before `configure`, or if
the pool breaks (a child killed), rendering happens in the calling thread, as before.

Signatures go the same way (`call`, from activities/documents.py): pyHanko and asn1crypto
are pure Python too, and a dossier's four signatures were the largest part of what was
left in the worker's activity threads (a py-spy profile under bench/throughput.py).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from activities.pdf import DocumentSpec, render_pdf

log = logging.getLogger(__name__)

T = TypeVar("T")

_lock = threading.Lock()
_processes = 0
_pool: ProcessPoolExecutor | None = None


def configure(processes: int) -> None:
    """Render in `processes` processes from now on (0: in the calling thread)."""
    global _processes
    if processes < 0:
        raise ValueError("processes must be 0 or more")
    shutdown()
    with _lock:
        _processes = processes


def shutdown() -> None:
    """Stop the pool's processes (the next render starts them again, if configured)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


def _exit_with(parent: int) -> None:
    """In each child: leave when the worker that started it is gone (a SIGKILLed worker
    cannot stop its pool, and a child blocked on its queue would live on)."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _get() -> ProcessPoolExecutor | None:
    global _pool
    with _lock:
        if _processes == 0:
            return None
        if _pool is None:
            # spawn, not fork: the worker has Temporal's core threads and a database pool,
            # which a forked child must not inherit.
            _pool = ProcessPoolExecutor(
                max_workers=_processes,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with,
                initargs=(os.getpid(),),
            )
        return _pool


def call(fn: Callable[..., T], *args: Any) -> T:
    """`fn(*args)`, in the pool when there is one: `fn` a module-level function, its
    arguments and result picklable, and the same answer wherever it runs."""
    pool = _get()
    if pool is None:
        return fn(*args)
    try:
        return pool.submit(fn, *args).result()
    except BrokenProcessPool:
        # A child died (killed, out of memory): start a new pool for the next document,
        # and do not fail this one for it.
        log.warning("the PDF pool broke; working in the worker and restarting it")
        with _lock:
            global _pool
            if _pool is pool:
                _pool = None
        pool.shutdown(wait=False, cancel_futures=True)
        return fn(*args)


def render(spec: DocumentSpec) -> bytes:
    """`render_pdf(spec)`, in the pool when there is one."""
    return call(render_pdf, spec)


def in_pool() -> bool:
    """Whether `call` sends work to other processes."""
    return _processes > 0


def processes() -> int:
    """How many processes render (0: in the calling thread)."""
    return _processes
