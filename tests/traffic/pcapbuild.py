"""Write pcap files of TCP conversations by hand (libpcap format, LINKTYPE_ETHERNET).

Format: https://wiki.wireshark.org/Development/LibpcapFileFormat — a 24-byte global
header, then per packet a 16-byte record header and the frame bytes. Frames are
Ethernet II / IPv4 / TCP with correct IPv4 and TCP checksums, so tshark reassembles
streams exactly as from a live capture.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass, field

MSS = 1400


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _frame(src: str, dst: str, sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes) -> bytes:
    tcp_header = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp_header) + len(payload))
    tcp_sum = _checksum(pseudo + tcp_header + payload)
    tcp_header = tcp_header[:16] + struct.pack("!H", tcp_sum) + tcp_header[18:]
    total = 20 + len(tcp_header) + len(payload)
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, 1, 0x4000, 64, 6, 0, socket.inet_aton(src), socket.inet_aton(dst))
    ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
    ether = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return ether + ip_header + tcp_header + payload


@dataclass
class TcpConversation:
    """One TCP connection; call :meth:`send` in the order bytes flowed."""

    client: str
    server: str
    client_port: int
    server_port: int
    frames: list[bytes] = field(default_factory=list)
    _seq: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        c_isn, s_isn = 1000, 5000
        self._seq = {"c": c_isn + 1, "s": s_isn + 1}
        self.frames.append(_frame(self.client, self.server, self.client_port, self.server_port, c_isn, 0, 0x02, b""))
        self.frames.append(_frame(self.server, self.client, self.server_port, self.client_port, s_isn, c_isn + 1, 0x12, b""))
        self.frames.append(_frame(self.client, self.server, self.client_port, self.server_port, c_isn + 1, s_isn + 1, 0x10, b""))

    def send(self, from_client: bool, data: bytes) -> None:
        side, other = ("c", "s") if from_client else ("s", "c")
        src, dst, sport, dport = (
            (self.client, self.server, self.client_port, self.server_port)
            if from_client
            else (self.server, self.client, self.server_port, self.client_port)
        )
        for start in range(0, len(data), MSS):
            chunk = data[start : start + MSS]
            self.frames.append(_frame(src, dst, sport, dport, self._seq[side], self._seq[other], 0x18, chunk))
            self._seq[side] += len(chunk)


def write_pcap(path, conversations: list[TcpConversation], *, truncate_last: int = 0) -> None:
    """Write all frames (conversation by conversation) with 1 ms apart timestamps.

    ``truncate_last`` > 0 cuts that many bytes off the end of the file (a truncated capture).
    """
    out = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    tick = 0
    for conversation in conversations:
        for frame in conversation.frames:
            tick += 1
            out += struct.pack("<IIII", 1_700_000_000 + tick // 1000, (tick % 1000) * 1000, len(frame), len(frame))
            out += frame
    if truncate_last:
        out = out[:-truncate_last]
    with open(path, "wb") as handle:
        handle.write(bytes(out))
