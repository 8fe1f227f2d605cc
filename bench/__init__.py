"""Benchmarks, run on demand: `python -m bench.<name> --help`; results in docs/benchmarks.md.

Bytecode: this machine's environment sets PYTHONDONTWRITEBYTECODE=1, so every workflow
sandbox (one per workflow run: on a worker's cache miss, and for every replayed history)
would compile workflows/dossier.py from source again. The production image has compiled
bytecode (pip compiles what it installs), so the benchmarks keep bytecode in
bench/.cache/pycache (outside the source tree), in this process and in the processes they
start (BYTECODE_ENV).
"""

import os
import sys

from temporalio import workflow

# Only string operations on __file__ here: the bare workflow (bench/bare.py) imports this
# package again inside the workflow sandbox, where file system calls are refused.
PYCACHE = os.path.join(os.path.dirname(__file__), ".cache", "pycache")
BYTECODE_ENV = {"PYTHONPYCACHEPREFIX": PYCACHE}
if not workflow.unsafe.in_sandbox():
    sys.dont_write_bytecode = False
    sys.pycache_prefix = PYCACHE
