"""A real TLS session made in memory, for pcap fixtures that tshark decrypts with a key log.

Python's :mod:`ssl` runs both ends over ``MemoryBIO`` pairs (no sockets, no live capture);
the client context writes an NSS key log (``SSLContext.keylog_filename``,
https://docs.python.org/3/library/ssl.html#ssl.SSLContext.keylog_filename). The TLS records
that crossed are returned in order so :mod:`tests.traffic.pcapbuild` can place them in TCP
segments.
"""

from __future__ import annotations

import datetime
import ssl
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def _self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return cert_path, key_path


def tls_exchange(host: str, request: bytes, response: bytes, keylog: Path, alpn: str = "http/1.1") -> list[tuple[bool, bytes]]:
    """Run a TLS 1.3 handshake, send ``request`` and ``response``; return the wire records.

    Returns ``[(from_client, bytes), ...]`` in the order they were sent. The key log of the
    session is appended to ``keylog``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = _self_signed(Path(tmp), host)
        server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server_ctx.load_cert_chain(cert, key)
        client_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client_ctx.check_hostname = False
        client_ctx.verify_mode = ssl.CERT_NONE
        client_ctx.set_alpn_protocols([alpn])
        server_ctx.set_alpn_protocols([alpn])
        client_ctx.keylog_filename = str(keylog)
        c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
        client = client_ctx.wrap_bio(c_in, c_out, server_hostname=host)
        server = server_ctx.wrap_bio(s_in, s_out, server_side=True)
        wire: list[tuple[bool, bytes]] = []

        def pump() -> None:
            for _ in range(20):
                moved = False
                data = c_out.read()
                if data:
                    wire.append((True, data))
                    s_in.write(data)
                    moved = True
                data = s_out.read()
                if data:
                    wire.append((False, data))
                    c_in.write(data)
                    moved = True
                if not moved:
                    return

        done = {"c": False, "s": False}
        for _ in range(10):
            for side, obj in (("c", client), ("s", server)):
                if done[side]:
                    continue
                try:
                    obj.do_handshake()
                    done[side] = True
                except ssl.SSLWantReadError:
                    pass
            pump()
            if all(done.values()):
                break
        client.write(request)
        pump()
        received = b""
        while len(received) < len(request):
            try:
                received += server.read(65536)
            except ssl.SSLWantReadError:
                break
        server.write(response)
        pump()
        try:
            client.read(65536)
        except ssl.SSLWantReadError:
            pass
        pump()
        return wire
