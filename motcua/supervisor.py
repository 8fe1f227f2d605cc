"""Keeping the parts of `motcua dev` running: its Temporal dev server child and its
in-process workers are restarted, with backoff, when they die, and every restart is
logged (a Vietnamese line for people; ``fields`` for the JSON log: ``event``,
``component``, ``attempt``, ``delay_s``, ``exit_code`` or ``error``).

Workers of `motcua dev` run in its process, as asyncio tasks: "a worker dies" is
``Worker.run()`` raising (a fatal worker error) or returning when nobody asked it to
stop. A worker survives a Temporal outage by itself (it retries its polls), so the
dev server's death is the dev server supervisor's business, not the workers'.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

from temporalio.worker import Worker

from motcua.devserver import DevServer, DevServerError

__all__ = ["Backoff", "SupervisedWorker", "keep_dev_server_running"]

log = logging.getLogger("motcua.supervisor")


@dataclass
class Backoff:
    """Delays before restarts: doubling from ``initial`` up to ``maximum``; back to
    ``initial`` once a run lasted ``healthy_after`` seconds."""

    initial: float = 1.0
    maximum: float = 30.0
    healthy_after: float = 60.0
    attempt: int = field(default=0, init=False)

    def next(self, ran_for: float) -> float:
        """The delay before the next restart of something that ran ``ran_for`` seconds."""
        if ran_for >= self.healthy_after:
            self.attempt = 0
        self.attempt += 1
        return float(min(self.maximum, self.initial * 2 ** (self.attempt - 1)))


async def keep_dev_server_running(
    server: DevServer, *, check_every: float = 0.5, backoff: Backoff | None = None
) -> None:
    """Watch the dev server child and start it again (same port, same database) when it
    exits, until cancelled. Cancel this before stopping the server."""
    backoff = backoff or Backoff()
    up_since = time.monotonic()
    while True:
        await asyncio.sleep(check_every)
        code = server.exit_code()
        if code is None:
            continue
        delay = backoff.next(time.monotonic() - up_since)
        log.warning(
            "Máy chủ Temporal (dev) đã dừng (mã thoát %s); khởi động lại sau %.0f giây (lần %d)",
            code,
            delay,
            backoff.attempt,
            extra={
                "fields": {
                    "event": "restart_scheduled",
                    "component": "temporal",
                    "exit_code": code,
                    "attempt": backoff.attempt,
                    "delay_s": delay,
                }
            },
        )
        while True:
            await asyncio.sleep(delay)
            try:
                await server.astart()
            except DevServerError as exc:
                delay = backoff.next(0)
                log.error(
                    "Không khởi động lại được máy chủ Temporal (dev): %s; thử lại sau %.0f giây "
                    "(lần %d)",
                    str(exc).splitlines()[0],
                    delay,
                    backoff.attempt,
                    extra={
                        "fields": {
                            "event": "restart_failed",
                            "component": "temporal",
                            "error": str(exc).splitlines()[0],
                            "attempt": backoff.attempt,
                            "delay_s": delay,
                        }
                    },
                )
                continue
            break
        up_since = time.monotonic()
        log.warning(
            "Đã khởi động lại máy chủ Temporal (dev) tại %s (pid %s, lần %d)",
            server.address,
            server.pid,
            backoff.attempt,
            extra={
                "fields": {
                    "event": "restarted",
                    "component": "temporal",
                    "pid": server.pid,
                    "attempt": backoff.attempt,
                }
            },
        )


class SupervisedWorker:
    """``async with SupervisedWorker(name, factory):`` runs ``factory()``'s worker; when it
    dies (``run()`` raises, or returns unasked), a new one from ``factory`` is started
    after a backoff. Leaving the block shuts the current one down gracefully."""

    def __init__(
        self, name: str, factory: Callable[[], Worker], backoff: Backoff | None = None
    ) -> None:
        self.name = name
        self.factory = factory
        self.backoff = backoff or Backoff()
        self.restarts = 0
        self._worker: Worker | None = None
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._run(), name=f"worker {self.name}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping = True
        task, worker = self._task, self._worker
        if task is None:
            return
        if worker is not None and not worker.is_shutdown:
            await worker.shutdown()  # run() returns; the loop sees _stopping
        if not task.done():
            task.cancel()  # waiting out a backoff
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise

    def _stop_requested(self) -> bool:
        return self._stopping

    async def _run(self) -> None:
        while not self._stop_requested():
            started = time.monotonic()
            error: str
            try:
                self._worker = self.factory()
                await self._worker.run()
                if self._stop_requested():
                    return
                error = "dừng mà không ai yêu cầu"
            except Exception as exc:  # a fatal worker error: restart it
                await _release(self._worker)
                if self._stop_requested():
                    return
                error = f"{type(exc).__name__}: {exc}".splitlines()[0]
            delay = self.backoff.next(time.monotonic() - started)
            self.restarts += 1
            log.warning(
                "Worker %s đã dừng (%s); khởi động lại sau %.0f giây (lần %d)",
                self.name,
                error,
                delay,
                self.backoff.attempt,
                extra={
                    "fields": {
                        "event": "restart_scheduled",
                        "component": "worker",
                        "worker": self.name,
                        "error": error,
                        "attempt": self.backoff.attempt,
                        "delay_s": delay,
                    }
                },
            )
            await asyncio.sleep(delay)


async def _release(worker: Worker | None) -> None:
    """Let go of a worker that died before it started polling (its validation failed,
    e.g. an unknown namespace). temporalio (1.35) leaves such a worker registered in the
    client's core, which then refuses a new worker on the same task queue ("Registration
    of multiple workers with overlapping worker task types ... not allowed"); a started
    worker that dies is shut down by the SDK itself."""
    bridge = getattr(worker, "_bridge_worker", None)
    if worker is None or bridge is None or getattr(worker, "_started", True):
        return
    try:
        bridge.initiate_shutdown()
        await bridge.finalize_shutdown()
    except Exception:  # already released, or never registered
        log.debug("releasing a dead worker's core worker failed", exc_info=True)
