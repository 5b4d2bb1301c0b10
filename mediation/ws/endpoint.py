"""GET /ws: accept, run the session's read loop, and always clean up."""

import asyncio
import contextlib
import logging

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from mediation.http.auth import client_address
from mediation.protocol import SUBPROTOCOL
from mediation.protocol.codes import CloseCode, ErrorCode
from mediation.protocol.frames import Error
from mediation.services import Services
from mediation.ws.connection import Connection
from mediation.ws.handshake import handshake_refused
from mediation.ws.session import HelloFailed, Session
from mediation.ws.text_sender import text_sender

log = logging.getLogger(__name__)


async def serve_socket(ws: WebSocket) -> None:
    services: Services = ws.app.state.services
    if await handshake_refused(ws, services):  # a foreign origin, a throttled address
        return
    address = ws.client.host if ws.client is not None else ""
    if services.addresses[address] >= services.settings.max_connections_per_ip:
        services.metrics.refused.labels("per_ip").inc()
        await ws.send_denial_response(TOO_MANY_FROM_HERE)
        return
    services.addresses[address] += 1
    try:
        await _serve(ws, services)
    finally:
        services.addresses[address] -= 1
        if services.addresses[address] <= 0:
            del services.addresses[address]


TOO_MANY_FROM_HERE = JSONResponse(
    {"error": {"code": "unavailable", "message": "too many sockets from this address"}}, 503
)


async def _serve(ws: WebSocket, services: Services) -> None:
    settings = services.settings
    offered = ws.scope.get("subprotocols") or []
    await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
    ws.scope["headers"] = []  # read at the handshake only: not kept for the socket's life
    conn = Connection(ws, services.node, settings.send_queue, services.metrics)
    session = Session(
        services.hub,
        services.tokens,
        settings,
        conn,
        services.metrics.ack_latency,
        services.access_log,
        services.people,
        services.store.contacts,
    )
    services.sockets.add(conn)
    services.metrics.connections.inc()
    started = False
    receiver = text_sender(ws.scope)  # our protocol: it takes most frames at once
    try:
        deadline = asyncio.get_running_loop().time() + settings.hello_timeout
        while session.joined is None:  # the deadline covers waiting, not the replay
            if not await _receive_one(ws, session, deadline):
                return
        conn.start()
        started = True
        await _present(services, session)
        if receiver is not None:
            receiver.on_text = session.receive_now
        while await _receive_one(ws, session):
            pass
    except WebSocketDisconnect:
        pass  # the peer left while we wrote to it (its welcome, its replay): nobody to tell
    except TimeoutError:
        await _close(ws, CloseCode.HELLO_TIMEOUT, "no hello in time")
    except HelloFailed as exc:
        if exc.code is ErrorCode.UNAUTHORIZED:  # a bad token counts against the address
            services.abuse.auth_failures.failed(client_address(ws))
        elif exc.code == ErrorCode.TOO_MANY_CONNECTIONS:
            services.metrics.refused.labels("per_person").inc()
        with contextlib.suppress(WebSocketDisconnect):
            await conn.send_now(Error(exc.code, str(exc)))
        await _close(ws, exc.close_code, str(exc))
    finally:
        if receiver is not None:
            receiver.on_text = None
        if session.joined is not None:
            log.info("left", extra=session.log_fields(session.joined))
            services.notices.left(session.joined.room.id, session.joined.member.user)
        session.left()
        await services.hub.leave(conn)
        services.committer.forget(conn.id)
        services.sockets.discard(conn)
        services.metrics.connections.dec()
        if started:
            with contextlib.suppress(asyncio.CancelledError):
                await conn.finish()
        conn.ended.set()


async def _present(services: Services, session: Session) -> None:
    """Their socket is open: they count as reading the room (for notices to the away)."""
    joined = session.joined
    assert joined is not None
    try:
        await services.notices.joined(joined.room.id, joined.member.user, joined.member.role)
    except Exception as exc:  # the store is away: a notice may come late, nothing worse
        log.warning("presence not saved: %s", exc.__class__.__name__)


async def _receive_one(ws: WebSocket, session: Session, deadline: float | None = None) -> bool:
    """Read and handle one frame; False once the peer has gone."""
    if deadline is None:
        message = await ws.receive()
    else:
        async with asyncio.timeout_at(deadline):
            message = await ws.receive()
    if message["type"] == "websocket.disconnect":
        return False
    text = message.get("text")
    if text is None:
        await session.reply(Error(ErrorCode.INVALID, "binary frames are not part of mediation.v1"))
    else:
        await session.receive(text)
    return True


async def _close(ws: WebSocket, code: int, reason: str) -> None:
    if ws.application_state != WebSocketState.DISCONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await ws.close(code, reason[:120])
