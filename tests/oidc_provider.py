"""A real OpenID Provider for tests: the certified `oidc-provider` (npm) under Node.js.

tests/oidc/ holds its package.json and package-lock.json (the version is pinned there)
and provider.mjs, which configures it from a JSON file. `ensure_installed()` runs
`npm ci` into tests/oidc/node_modules (gitignored) when it is missing; `make test` does
the same first. Without node or npm the tests that need the provider are skipped, or
fail when the CI variable is set (like the Chromium tests).

`LocalProvider` runs one provider process on a free loopback port; the test holds its
private signing keys (made here), so it can rotate them (`restart(keys=...)`) and sign a
token with the provider's real key (an expired one, say).
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from motcua.devserver import find_free_port
from tests.conftest import in_ci

NODE_DIR = Path(__file__).resolve().parent / "oidc"
SCRIPT = NODE_DIR / "provider.mjs"
# npm writes it last, when the install is complete (the Makefile waits for it too).
INSTALLED = NODE_DIR / "node_modules" / ".package-lock.json"


def _unavailable(reason: str) -> None:
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def ensure_installed() -> str:
    """The node executable, with tests/oidc's packages installed (npm ci) if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable("no node/npm: the OpenID Provider of the sign-in tests needs Node.js 20+")
    assert node is not None and npm is not None
    if INSTALLED.is_file():
        return node
    # One npm ci at a time (test processes may all start here); the others wait for it.
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if INSTALLED.is_file():
            return node
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    if done.returncode != 0 or not INSTALLED.is_file():
        _unavailable(f"npm ci in {NODE_DIR} failed: {done.stderr.strip()[-500:]}")
    return node


def new_key(kid: str) -> dict[str, Any]:
    """A private RSA signing key as a JWK (the provider signs with it)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk: dict[str, Any] = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    jwk.pop("key_ops")  # ["sign"] only: the provider would not verify its own tokens with it
    return jwk | {"kid": kid, "alg": "RS256", "use": "sig"}


def sign_as(key: dict[str, Any], claims: dict[str, Any]) -> str:
    """A token signed with the provider's private key (what only the provider can make)."""
    private = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": key["kid"]})  # type: ignore[arg-type]


class LocalProvider:
    """One oidc-provider process on 127.0.0.1 (start, restart with other keys, stop)."""

    def __init__(
        self,
        workdir: Path,
        *,
        clients: list[dict[str, Any]],
        accounts: dict[str, dict[str, Any]],
        keys: list[dict[str, Any]],
    ) -> None:
        self.port = find_free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.workdir = workdir
        self.clients = clients
        self.accounts = accounts
        self.keys = keys
        self._process: asyncio.subprocess.Process | None = None
        self.log = workdir / "provider.log"

    async def start(self) -> None:
        node = ensure_installed()
        config = self.workdir / "provider.json"
        config.write_text(
            json.dumps(
                {
                    "port": self.port,
                    "issuer": self.issuer,
                    "keys": self.keys,
                    "clients": self.clients,
                    "accounts": self.accounts,
                }
            ),
            encoding="utf-8",
        )
        log = self.log.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            node,
            str(SCRIPT),
            str(config),
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            env={**os.environ, "NODE_ENV": "test"},
        )
        log.close()
        assert self._process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(self._process.stdout.readline(), 30)
            except TimeoutError:
                break
            if line.startswith(b"ready"):
                return
            if not line:  # exited
                break
        raise RuntimeError(f"the OpenID Provider did not start: {self.log.read_text()[-2000:]}")

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.terminate()
            try:
                await asyncio.wait_for(self._process.wait(), 10)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        self._process = None

    async def restart(self, *, keys: list[dict[str, Any]]) -> None:
        """The same provider (issuer, port) with other signing keys: a key rotation."""
        await self.stop()
        self.keys = keys
        await self.start()
