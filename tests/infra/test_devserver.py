"""The real Temporal dev server: start, search attributes, restart on the same SQLite file."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from motcua.devserver import (
    DEFAULT_SEARCH_ATTRIBUTES,
    SEARCH_ATTRIBUTE_TYPES,
    DevServer,
    DevServerError,
    find_free_port,
    is_port_open,
)

pytestmark = pytest.mark.devserver


async def _custom_search_attributes(server: DevServer) -> dict[str, str]:
    """Custom search attributes as the SDK sees them, as name -> CLI type name."""
    client = await Client.connect(server.address, namespace=server.namespace)
    response = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=server.namespace)
    )
    by_enum = {enum: name for name, enum in SEARCH_ATTRIBUTE_TYPES.items()}
    return {
        name: by_enum[IndexedValueType.Name(value)]
        for name, value in response.custom_attributes.items()
    }


def test_dev_server_persists_and_registers_search_attributes(tmp_path: Path) -> None:
    port = find_free_port()
    first = {"DossierStatus": "Keyword"}

    # First start creates the database with one attribute.
    with DevServer(tmp_path, port=port, ui=False, search_attributes=first) as server:
        assert server.running
        assert is_port_open("127.0.0.1", port)
        assert asyncio.run(_custom_search_attributes(server)) == first
        # A second server on the same port is refused with a clear message...
        with pytest.raises(DevServerError, match="đã có chương trình khác nghe"):
            DevServer(tmp_path / "other", port=port, ui=False).start()
        # ...unless it attaches, in which case stopping it leaves the owner running.
        attached = DevServer(
            tmp_path, port=port, ui=False, search_attributes=first, reuse_existing=True
        )
        attached.start()
        assert attached.running
        assert attached.pid is None
        attached.stop()
        assert server.running
    assert not is_port_open("127.0.0.1", port)
    assert (tmp_path / "temporal.db").is_file()
    assert (tmp_path / "temporal.log").is_file()

    # Restart on the same file with the full set: the CLI ignores --search-attribute for an
    # existing database, so the keys added since must come from DevServer's reconciliation.
    with DevServer(tmp_path, port=port, ui=False) as server:
        assert asyncio.run(_custom_search_attributes(server)) == dict(DEFAULT_SEARCH_ATTRIBUTES)
        assert server.list_search_attributes() == dict(DEFAULT_SEARCH_ATTRIBUTES)

    # A type change cannot be applied to an existing database: say so, and leave nothing running.
    with pytest.raises(DevServerError, match="xung đột kiểu"):
        DevServer(tmp_path, port=port, ui=False, search_attributes={"Escalated": "Keyword"}).start()
    assert not is_port_open("127.0.0.1", port)


def test_motcua_dev_with_its_api_port_taken_fails_and_stops_the_dev_server(
    tmp_path: Path,
) -> None:
    """An API port in use: `motcua dev` exits 1 saying so, and takes its Temporal dev
    server down with it (uvicorn's SystemExit used to escape the loop and orphan it)."""
    import socket
    import subprocess
    import sys

    temporal_port = find_free_port()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        api_port = busy.getsockname()[1]
        motcua = Path(sys.executable).parent / "motcua"
        proc = subprocess.run(
            [str(motcua), "dev", "--state-dir", str(tmp_path), "--temporal-port",
             str(temporal_port), "--api-port", str(api_port), "--exit-after-demo"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"API không nghe được tại 127.0.0.1:{api_port}" in proc.stderr
    assert not is_port_open("127.0.0.1", temporal_port)

    proc = subprocess.run(
        [str(motcua), "dev", "--state-dir", str(tmp_path), "--temporal-port", "7300",
         "--api-port", "8300"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "cổng giao diện web" in proc.stderr
