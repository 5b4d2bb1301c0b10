"""The AsyncAPI 3.0 document of protocol v1 (`GET /asyncapi.json`), from the frame types.

One channel, `/ws`, with the `mediation.v1` subprotocol; one message per frame
type, its payload the frame's JSON Schema as msgspec generates it from the same
Structs the codec decodes and encodes (mediation/protocol/frames.py). The
server receives the client frames and sends the server frames.
"""

import inspect
from typing import Any, get_args

import msgspec

from mediation.protocol import SUBPROTOCOL
from mediation.protocol.codes import CloseCode, ErrorCode
from mediation.protocol.frames import ClientFrame, ServerFrame

REF = "#/components/schemas/{name}"
CHANNEL = "socket"


def _messages(frames: tuple[type[msgspec.Struct], ...]) -> dict[str, Any]:
    out = {}
    for frame in frames:
        tag = frame.__struct_config__.tag
        doc = inspect.getdoc(frame)
        message: dict[str, Any] = {
            "name": tag,
            "title": f"{tag} ({frame.__name__})",
            "payload": {"$ref": REF.format(name=frame.__name__)},
        }
        if doc:
            message["summary"] = doc.split("\n\n")[0].replace("\n", " ")
        out[frame.__name__] = message
    return out


def document(path: str = "/ws", version: str = "1") -> dict[str, Any]:
    client: tuple[type[msgspec.Struct], ...] = get_args(ClientFrame)
    server: tuple[type[msgspec.Struct], ...] = get_args(ServerFrame)
    _, schemas = msgspec.json.schema_components([ClientFrame, ServerFrame], ref_template=REF)
    messages = {**_messages(client), **_messages(server)}
    here = f"#/channels/{CHANNEL}/messages/"
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Mediation rooms: protocol v1",
            "version": version,
            "description": (
                f"The WebSocket protocol `{SUBPROTOCOL}` (docs/protocol.md): one JSON object per "
                "text frame, tagged by `type`; unknown fields are ignored both ways. Error "
                f"codes: {', '.join(c.value for c in ErrorCode)}. Close codes: "
                f"{', '.join(f'{c.value} {c.name.lower()}' for c in CloseCode)}."
            ),
        },
        "defaultContentType": "application/json",
        "channels": {
            CHANNEL: {
                "address": path,
                "title": "A room's socket",
                "description": f"Offer `Sec-WebSocket-Protocol: {SUBPROTOCOL}`; the first "
                "frame is `hello`, with a room token.",
                "messages": {name: {"$ref": f"#/components/messages/{name}"} for name in messages},
                "bindings": {
                    "ws": {
                        "method": "GET",
                        "headers": {
                            "type": "object",
                            "properties": {"Sec-WebSocket-Protocol": {"const": SUBPROTOCOL}},
                        },
                        "bindingVersion": "0.1.0",
                    }
                },
            }
        },
        "operations": {
            "clientFrames": {
                "action": "receive",
                "title": "Frames a client sends",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": here + f.__name__} for f in client],
            },
            "serverFrames": {
                "action": "send",
                "title": "Frames the server sends",
                "channel": {"$ref": f"#/channels/{CHANNEL}"},
                "messages": [{"$ref": here + f.__name__} for f in server],
            },
        },
        "components": {"schemas": schemas, "messages": messages},
    }
