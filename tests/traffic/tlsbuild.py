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


def h2_exchange(authority: str, requests: list[tuple[str, str, list[tuple[str, str]], bytes]], response_body: bytes = b"") -> tuple[bytes, bytes]:
    """HTTP/2 bytes of a client and a server (the ``h2`` package frames them, RFC 9113).

    ``requests`` are ``(method, path, headers, body)``, sent on streams 1, 3, 5, ... with a
    body split into DATA frames of at most the default 16 KiB frame size. The server answers
    every stream with ``:status 200`` and ``response_body``. Returns ``(client, server)``
    bytes for :func:`tls_exchange`.
    """
    import h2.config
    import h2.connection
    import h2.settings

    client = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    client.initiate_connection()
    client.increment_flow_control_window(1 << 24)
    for number, (method, path, headers, body) in enumerate(requests):
        stream = 1 + 2 * number
        pseudo = [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)]
        client.send_headers(stream, pseudo + list(headers), end_stream=not body)
        for start in range(0, len(body), 16384):
            client.send_data(stream, body[start : start + 16384], end_stream=start + 16384 >= len(body))
    client_bytes = client.data_to_send()
    server = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False, header_encoding="utf-8"))
    server.initiate_connection()
    server.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 24})
    server.receive_data(client_bytes)
    for number in range(len(requests)):
        stream = 1 + 2 * number
        server.send_headers(stream, [(":status", "200"), ("content-type", "application/json")], end_stream=not response_body)
        if response_body:
            server.send_data(stream, response_body, end_stream=True)
    return client_bytes, server.data_to_send()
