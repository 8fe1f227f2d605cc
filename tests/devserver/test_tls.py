"""The Temporal TLS settings against a real TLS endpoint: a mutual-TLS terminating proxy
(Python's ssl, ALPN h2) in front of the dev server, which speaks plain gRPC. motcua's
`connect` with the CA, client certificate and key from settings reaches the server
through it; without the client certificate, or trusting another CA, it does not."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from ipaddress import IPv4Address
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest

from infra.settings import Settings
from infra.temporal import connect
from motcua.devserver import DevServer


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.with_suffix(".key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def make_pki(directory: Path, ca_name: str) -> None:
    """A CA, a server certificate for 127.0.0.1 / temporal.test, a client certificate."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(directory / "ca", ca, ca_key)
    for role, usage, san in (
        (
            "server",
            ExtendedKeyUsageOID.SERVER_AUTH,
            [x509.DNSName("temporal.test"), x509.IPAddress(IPv4Address("127.0.0.1"))],
        ),
        ("client", ExtendedKeyUsageOID.CLIENT_AUTH, [x509.DNSName("motcua-worker")]),
    ):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(_name(f"{ca_name} {role}"))
            .issuer_name(ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(san), critical=False)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )
        _write(directory / role, cert, key)


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()


@pytest.fixture
async def tls_proxy(devserver: DevServer, tmp_path: Path) -> AsyncIterator[tuple[str, Path]]:
    """host:port of a mutual-TLS proxy to the dev server, and the folder of its PKI."""
    make_pki(tmp_path, "motcua test CA")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=tmp_path / "ca.pem")
    context.load_cert_chain(tmp_path / "server.pem", tmp_path / "server.key")
    context.verify_mode = ssl.CERT_REQUIRED  # mutual TLS: a client certificate from our CA
    context.set_alpn_protocols(["h2"])  # gRPC
    host, port = devserver.address.rsplit(":", 1)

    async def forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    server = await asyncio.start_server(forward, "127.0.0.1", 0, ssl=context)
    address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
    try:
        yield address, tmp_path
    finally:
        server.close()


async def _reachable(settings: Settings) -> bool:
    try:
        client = await asyncio.wait_for(connect(settings), timeout=10)
        await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=timedelta(seconds=5)
        )
    except Exception:
        return False
    return True


async def test_connect_uses_the_tls_settings(
    tls_proxy: tuple[str, Path], devserver: DevServer, tmp_path: Path
) -> None:
    address, pki = tls_proxy
    base = {"temporal_address": address, "temporal_namespace": devserver.namespace}
    mutual = Settings(
        **base,
        temporal_tls_ca_file=pki / "ca.pem",
        temporal_tls_cert_file=pki / "client.pem",
        temporal_tls_key_file=pki / "client.key",
    )
    assert await _reachable(mutual)
    # The certificate's other name, checked against the frontend's certificate (SNI).
    named = mutual.model_copy(update={"temporal_tls_server_name": "temporal.test"})
    assert await _reachable(named)
    wrong_name = mutual.model_copy(update={"temporal_tls_server_name": "elsewhere.test"})
    assert not await _reachable(wrong_name)
    # No client certificate: the proxy refuses the handshake.
    assert not await _reachable(Settings(**base, temporal_tls_ca_file=pki / "ca.pem"))
    # Plain gRPC to a TLS endpoint fails; so does trusting another CA.
    assert not await _reachable(Settings(**base))
    other = tmp_path / "other"
    other.mkdir()
    make_pki(other, "another CA")
    assert not await _reachable(
        mutual.model_copy(update={"temporal_tls_ca_file": other / "ca.pem"})
    )
