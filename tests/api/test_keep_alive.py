"""The API keeps an idle connection open longer than its clients do.

A request sent on a keep-alive connection at the moment the server closes it is lost
with a reset: the authorization matrix once failed on an `httpx.ReadError` when uvicorn's
5 s idle timeout equalled httpx's 5 s pool expiry; behind a proxy it is a 502. So the
client must be the one to close (motcua/stack.py: KEEP_ALIVE_SECONDS).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

import pytest

from motcua.stack import KEEP_ALIVE_SECONDS
from tests.api.support import Api

# Longer than httpx's pool expiry (5 s) and uvicorn's default idle timeout (5 s).
IDLE = 7.0


async def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> bytes:
    writer.write(f"GET /v1/healthz HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    await asyncio.wait_for(reader.readexactly(length), timeout=10)
    return head


@pytest.mark.parametrize("api", ["sqlite"], indirect=True)
async def test_an_idle_connection_still_serves_after_a_client_s_pool_would_have_dropped_it(
    api: Api,
) -> None:
    assert KEEP_ALIVE_SECONDS > 60  # a proxy's idle upstream connections (nginx: 60 s)
    url = urlsplit(api.url)
    assert url.hostname is not None and url.port is not None
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    try:
        first = await _get(reader, writer, url.netloc)
        assert first.startswith(b"HTTP/1.1 200"), first
        await asyncio.sleep(IDLE)
        # The same connection, not a new one: the server has not closed it.
        assert not reader.at_eof()
        second = await _get(reader, writer, url.netloc)
        assert second.startswith(b"HTTP/1.1 200"), second
    finally:
        writer.close()
