"""WebSocket framing (RFC 6455) for server-to-client text messages."""

from __future__ import annotations

import struct

_TEXT_FIN = 0x81


def text_frame(payload: bytes) -> bytes:
    """One final, unmasked, uncompressed text frame carrying `payload` (UTF-8)."""
    size = len(payload)
    if size < 126:
        header = bytes((_TEXT_FIN, size))
    elif size < 1 << 16:
        header = struct.pack("!BBH", _TEXT_FIN, 126, size)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, size)
    return header + payload


def frame_payload(frame: bytes) -> bytes:
    """The payload of a frame made by `text_frame` (for a socket that sends text, not frames)."""
    size = frame[1] & 0x7F
    start = 2 if size < 126 else 4 if size == 126 else 10
    return frame[start:]
