"""Running the app under uvicorn, with a shutdown that drains instead of dropping.

On SIGTERM uvicorn would close every socket with 1012 at once, losing acks
for messages still being committed. `DrainingServer` first stops accepting
connections, then commits and acknowledges what was accepted, then closes
each socket with 1001 (going away) after its queue is written, so clients
resume elsewhere with nothing lost. Only then does uvicorn finish.
"""

import socket

import uvicorn
from starlette.applications import Starlette

from mediation import gc_tuning, logs
from mediation.abuse import Throttled
from mediation.app import SocketsFirst
from mediation.config import Settings
from mediation.guard import Refused, Throttle, guarded_http
from mediation.lean_protocol import LeanSansIOProtocol
from mediation.services import Services


def uvicorn_config(
    app: Starlette, settings: Settings, refused: Refused, throttle: Throttle
) -> uvicorn.Config:
    logs.uvicorn_hygiene()
    return uvicorn.Config(
        SocketsFirst(app),  # a socket skips Starlette's layers: less held per socket
        interface="asgi3",  # SocketsFirst is a plain callable returning a coroutine
        host=settings.host,
        port=settings.port,
        # websockets-sansio (the legacy mode costs ~40% throughput), writing text frames
        # without ASGI, closing failed connections so that their close frame (1009:
        # message too big) arrives, and holding less per open socket
        ws=LeanSansIOProtocol,
        loop="uvloop",
        # httptools, with a deadline for headers, a cap on open connections, and an
        # early 429 for a throttled peer address
        http=guarded_http(settings.header_timeout, settings.max_connections, refused, throttle),
        ws_max_size=settings.max_frame_bytes,
        ws_per_message_deflate=settings.ws_compression,
        proxy_headers=True,  # from FORWARDED_ALLOW_IPS only (uvicorn's default: 127.0.0.1)
        log_config=None,  # mediation.logs configured the handlers (JSON in production)
        access_log=False,  # ours has no query strings: mediation.http.request_log
        log_level="info",
    )


class DrainingServer(uvicorn.Server):
    def __init__(self, app: Starlette, settings: Settings) -> None:
        super().__init__(uvicorn_config(app, settings, self._refused, self._throttled))
        self.app = app
        self.settings = settings

    def _throttled(self, address: str) -> Throttled | None:
        services: Services | None = getattr(self.app.state, "services", None)
        return None if services is None else services.abuse.auth_failures.throttled(address)

    def _refused(self, reason: str) -> None:
        services: Services | None = getattr(self.app.state, "services", None)
        if services is not None:
            services.metrics.refused.labels(reason).inc()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)  # the lifespan started the services
        if self.settings.gc_tuning and self.started:
            gc_tuning.after_startup()  # the started app leaves the collector's walks

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections while we drain
        services: Services | None = getattr(self.app.state, "services", None)
        if services is not None:
            await services.drain()
        await super().shutdown(sockets)
