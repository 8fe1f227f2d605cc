"""A bare Temporal workflow of a dossier's shape: the same number of activities, updates
and timers as a real 3.000333 dossier's history, with no application code (no-op
activities, updates that only count, timers that are cancelled), driven by a Temporal
client directly. The throughput benchmark (bench/throughput.py) measures it against the
application in the same run, on the same dev server.

    .venv/bin/python -m bench.bare worker --address 127.0.0.1:7233 --task-queue bare
    .venv/bin/python -m bench.bare run --address 127.0.0.1:7233 -n 50 --concurrency 20 \\
        --activities 8 --updates 5 --timers 1 --in-update 2

The shape mirrors DossierWorkflow's: one activity when the dossier starts (recording the
submission), then for each officer's action an update and one activity after it (the loop
recording its events), `--in-update` activities run inside one update's handler (the
signature: sign and seal before the update answers), the rest at the end, one per turn;
the first `--timers` turns also start a timer (the statutory deadline the loop sleeps
towards), cancelled at the next turn. Activities are plain `async def` no-ops on the worker's event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

TASK_QUEUE = "bare-dossier"


@dataclass
class Shape:
    activities: int = 8
    updates: int = 5
    timers: int = 1
    in_update: int = 2  # activities inside the issuing update's handler
    issuing_update: int = 3  # which update (0-based) runs them: the signature


@activity.defn(name="bare_noop")
async def noop(n: int) -> int:
    return n


@workflow.defn(name="BareDossier")
class BareDossier:
    def __init__(self) -> None:
        self.seen = 0
        self.shape: Shape | None = None

    async def _activity(self, n: int) -> None:
        await workflow.execute_activity(noop, n, start_to_close_timeout=timedelta(seconds=30))

    @workflow.run
    async def run(self, shape: Shape) -> int:
        self.shape = shape
        main = shape.activities - shape.in_update
        timers = shape.timers
        # Like the dossier's loop: a turn records (an activity), then sleeps until the
        # next action or deadline. A timer starts in the turn that schedules the
        # activity, so it is in the history whatever the timing, and is cancelled at the
        # next turn (timers beyond one per turn start in the turns of the remaining
        # activities, as the dossier's extra turns do when a handoff is acknowledged).
        timer: asyncio.Task[None] | None = None
        turn = 0
        while turn <= shape.updates or main > 0:
            if 0 < turn <= shape.updates:
                await workflow.wait_condition(lambda t=turn: self.seen >= t)
            if timer is not None:
                timer.cancel()
                timer = None
            if timers > 0:
                timers -= 1
                timer = asyncio.create_task(workflow.sleep(timedelta(days=1)))
            if main > 0:
                main -= 1
                await self._activity(turn)
            turn += 1
        if timer is not None:
            timer.cancel()
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.seen

    @workflow.update
    async def act(self, n: int) -> int:
        await workflow.wait_condition(lambda: self.shape is not None)
        assert self.shape is not None
        if n == self.shape.issuing_update:
            for i in range(self.shape.in_update):
                await self._activity(1000 + i)
        self.seen += 1
        return self.seen


def worker(client: Client, task_queue: str = TASK_QUEUE) -> Worker:
    return Worker(client, task_queue=task_queue, workflows=[BareDossier], activities=[noop])


async def one_dossier(client: Client, shape: Shape, task_queue: str = TASK_QUEUE) -> str:
    handle = await client.start_workflow(
        BareDossier.run, shape, id=f"bare-{uuid.uuid4().hex[:12]}", task_queue=task_queue
    )
    for u in range(shape.updates):
        await handle.execute_update(BareDossier.act, u)
    await handle.result()
    return handle.id


async def drive(
    client: Client, shape: Shape, n: int, concurrency: int, task_queue: str = TASK_QUEUE
) -> float:
    """Run n bare dossiers, `concurrency` at a time, each to completion; the wall time."""
    sem = asyncio.Semaphore(concurrency)

    async def bounded() -> None:
        async with sem:
            await one_dossier(client, shape, task_queue)

    t0 = time.perf_counter()
    await asyncio.gather(*(bounded() for _ in range(n)))
    return time.perf_counter() - t0


async def _serve(address: str, task_queue: str) -> None:
    # The workflow from its module (not __main__), which the sandbox re-imports by name.
    from bench import bare

    client = await Client.connect(address)
    async with bare.worker(client, task_queue):
        await asyncio.Event().wait()


async def _run(args: argparse.Namespace) -> None:
    from bench import bare

    client = await Client.connect(args.address)
    shape = bare.Shape(
        args.activities, args.updates, args.timers, args.in_update, args.issuing_update
    )
    wall = await bare.drive(client, shape, args.n, args.concurrency, args.task_queue)
    print(f"{args.n} bare dossiers in {wall:.1f} s: {args.n / wall:.2f} dossiers/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("worker", help="run the bare worker until killed")
    r = sub.add_parser("run", help="drive bare dossiers against a running bare worker")
    for p in (w, r):
        p.add_argument("--address", default="127.0.0.1:7233")
        p.add_argument("--task-queue", default=TASK_QUEUE)
    r.add_argument("-n", type=int, default=50)
    r.add_argument("--concurrency", type=int, default=20)
    r.add_argument("--activities", type=int, default=8)
    r.add_argument("--updates", type=int, default=5)
    r.add_argument("--timers", type=int, default=1)
    r.add_argument("--in-update", type=int, default=2)
    r.add_argument("--issuing-update", type=int, default=3)
    args = parser.parse_args()
    if args.command == "worker":
        asyncio.run(_serve(args.address, args.task_queue))
    else:
        asyncio.run(_run(args))


if __name__ == "__main__":
    main()
