"""requirements.lock (`make lock`, audited by `make audit`): every runtime dependency of
pyproject.toml pinned to a version its specifier allows, with hashes, and nothing of the
development extras."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, requires

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from infra.settings import REPO_ROOT

LOCK = REPO_ROOT / "requirements.lock"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+?)\s*(\\)?$")


def pyproject() -> dict[str, object]:
    with (REPO_ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)["project"]  # type: ignore[no-any-return]


def runtime_requirements() -> list[Requirement]:
    deps = pyproject()["dependencies"]
    assert isinstance(deps, list)
    return [Requirement(d) for d in deps]


def locked() -> tuple[dict[str, Version], dict[str, int]]:
    """name -> pinned version, and name -> how many hashes it carries."""
    pins: dict[str, Version] = {}
    hashes: dict[str, int] = {}
    current = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        m = PIN.match(line)
        if m:
            current = canonicalize_name(m.group(1))
            assert current not in pins, f"{current} pinned twice"
            pins[current] = Version(m.group(2))
            hashes[current] = 0
        elif line.strip().startswith("--hash=sha256:") and current is not None:
            hashes[current] += 1
        elif line.strip() and not line.lstrip().startswith("#"):
            assert line.startswith("    "), f"unexpected line in the lock: {line!r}"
    return pins, hashes


def extra_requirements(req: Requirement) -> set[str]:
    """What an extra (psycopg[binary], pyjwt[crypto]) pulls in, from the installed
    package's metadata."""
    names: set[str] = set()
    try:
        declared = requires(req.name) or []
    except PackageNotFoundError:
        return names
    for line in declared:
        r = Requirement(line)
        for extra in req.extras:
            if r.marker is not None and Marker(str(r.marker)).evaluate({"extra": extra}):
                names.add(canonicalize_name(r.name))
    return names


def test_every_runtime_dependency_is_pinned_within_its_specifier() -> None:
    pins, hashes = locked()
    for req in runtime_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} (pyproject.toml) is not in requirements.lock: make lock"
        assert req.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {req} of pyproject.toml: "
            "make lock"
        )
        for pulled in extra_requirements(req):
            assert pulled in pins, f"{pulled} (from {req}) is not in requirements.lock"
    assert "psycopg-binary" in pins and "cryptography" in pins  # the two extras in use
    # Every pin is hashed (pip install --require-hashes), every file of it.
    assert all(n >= 1 for n in hashes.values()), [k for k, n in hashes.items() if n == 0]


def test_the_lock_holds_no_development_tool() -> None:
    pins, _ = locked()
    extras = pyproject()["optional-dependencies"]
    assert isinstance(extras, dict)
    runtime = {canonicalize_name(r.name) for r in runtime_requirements()}
    for dev in extras["dev"]:
        name = canonicalize_name(Requirement(dev).name)
        if name not in runtime:
            assert name not in pins, f"{name} is a development tool, yet locked"
    for tool in ("pytest", "mypy", "ruff", "schemathesis", "playwright"):
        assert tool not in pins, tool


def test_the_lock_says_how_it_was_made() -> None:
    head = LOCK.read_text(encoding="utf-8").splitlines()[:6]
    assert any("pip-compile" in line and "--generate-hashes" in line for line in head), head
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")
    assert "pip-audit -r $(LOCK)" in makefile and "--strict" in makefile
