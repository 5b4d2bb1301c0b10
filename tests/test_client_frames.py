"""Where a client's frame lies in the bytes (mediation/client_frames.py), against the frames
websockets' own client writes: no socket, no server."""

import pytest
from websockets.client import ClientProtocol
from websockets.protocol import State
from websockets.uri import parse_uri

from mediation.client_frames import FINAL_TEXT, MASKED, bounds, unmask


def framed(payload: bytes) -> bytes:
    client = ClientProtocol(parse_uri("ws://127.0.0.1/ws"), state=State.OPEN)
    client.send_text(payload)
    return b"".join(client.data_to_send())


@pytest.mark.parametrize("size", [0, 1, 125, 126, 65535, 65536])
def test_bounds_and_payload_of_each_length_form(size: int) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    data = b"junk" + framed(payload)
    frame = bounds(data, 4)
    assert frame is not None
    first, second, start, end = frame
    assert first == FINAL_TEXT and second & MASKED
    assert end == len(data)
    assert unmask(data, start, end) == payload


def test_a_header_in_pieces_is_none_until_whole() -> None:
    data = framed(b"x" * 70_000)  # 2 + 8 + 4 bytes of header
    for cut in range(14):
        assert bounds(data[:cut], 0) is None
    frame = bounds(data[:14], 0)
    assert frame is not None and frame[2:] == (14, 14 + 70_000)  # the payload may still come
