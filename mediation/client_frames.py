"""Where a client's frame lies in the bytes read off its socket (RFC 6455 §5.2), sans I/O.

websockets parses every frame through a generator, a `Frame` object, its
checks and an event list: about 11 µs for a 250-byte text message, where
finding the frame's bounds and unmasking its payload takes about 1.5. The
server's protocol (mediation/ws_protocol.py) reads the frames that make up
nearly all of its traffic, final unmasked-by-us text frames of a bounded
size, with `bounds` and `unmask` here, and hands every other frame (control
frames, fragments, binary, anything malformed or too large) to websockets,
which knows the rest of the protocol and its errors.
"""

from websockets.speedups import apply_mask

FINAL_TEXT = 0x81  # FIN, no reserved bits, opcode 1: a whole text message in one frame
MASKED = 0x80


def bounds(data: bytes, at: int) -> tuple[int, int, int, int] | None:
    """(first byte, second byte, payload start, payload end) of the frame that starts at
    `at` in `data`; None while its header is incomplete. The payload may still be; a
    masked frame's key is the four bytes before its payload."""
    available = len(data) - at
    if available < 2:
        return None
    first, second = data[at], data[at + 1]
    size, start = second & 0x7F, at + 2
    if size == 126:
        if available < 4:
            return None
        size, start = int.from_bytes(data[at + 2 : at + 4], "big"), at + 4
    elif size == 127:
        if available < 10:
            return None
        size, start = int.from_bytes(data[at + 2 : at + 10], "big"), at + 10
    if second & MASKED:
        start += 4
        if len(data) < start:
            return None
    return first, second, start, start + size


def unmask(data: bytes, start: int, end: int) -> bytes:
    """The payload of a masked frame whose bounds are `start`, `end`."""
    return apply_mask(memoryview(data)[start:end], data[start - 4 : start])
