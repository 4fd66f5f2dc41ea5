"""The aiohttp JSON-RPC server: HTTP POST and WebSocket on one port and path ``/``.

``create_app`` builds the application for a ``Backend``; ``RPCServer`` runs
it on a host and port. Request bodies and WebSocket messages are bounded by
``RPCConfig.max_body_bytes``, batches by ``max_batch_size`` requests and
``max_batch_response_bytes`` of results, WebSocket
connections and subscriptions by their own limits. Browsers are served with
CORS headers for the configured origins.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import WSMsgType, web

from rpc.backend import Backend
from rpc.chain import ChainReader
from rpc.cmt import CmtAPI
from rpc.config import RPCConfig
from rpc.debug import DebugAPI
from rpc.dispatch import Dispatcher, RequestObserver, error_response
from rpc.errors import InvalidRequest, LimitExceeded
from rpc.eth import EthAPI
from rpc.eth_state import StateProofAPI
from rpc.explorer import add_explorer_routes
from rpc.fees import FeeAPI
from rpc.filters import FilterAPI
from rpc.health import ReadinessProbe, add_health_routes
from rpc.jsonwire import encode
from rpc.logs import LogQuery
from rpc.net import NetAPI
from rpc.pending_log import PendingLog
from rpc.simulate import SimulateAPI
from rpc.subscriptions import SubscriptionHub, WSConnection
from rpc.trace import TraceAPI
from rpc.txpool import TxPoolAPI
from rpc.web3 import Web3API

log = logging.getLogger(__name__)

DISPATCHER = web.AppKey("dispatcher", Dispatcher)
HUB = web.AppKey("subscription_hub", SubscriptionHub)
CONFIG = web.AppKey("rpc_config", RPCConfig)

WS_CLOSE_TOO_SLOW = 1008
WS_HEARTBEAT_SECONDS = 30.0


def build_dispatcher(backend: Backend, config: RPCConfig, extra_apis: Sequence[Any] = (),
                     observer: RequestObserver | None = None) -> tuple[Dispatcher, SubscriptionHub]:
    """Every namespace's methods (plus ``extra_apis``, e.g. ``admin_``) behind one dispatcher, and the hub."""
    chain = ChainReader(backend, config.decoded_block_cache)
    query = LogQuery(chain, config.max_log_block_range, config.max_log_results)
    pending_log = PendingLog(config.pending_filter_capacity)
    hub = SubscriptionHub(backend, config.max_ws_connections, config.max_subscriptions_per_connection, pending_log)
    methods: dict[str, Any] = {}
    for api in (
        Web3API(backend),
        NetAPI(backend),
        CmtAPI(backend),
        EthAPI(chain),
        StateProofAPI(chain),
        SimulateAPI(chain),
        FeeAPI(chain, config.max_fee_history_blocks, config.max_fee_history_percentiles),
        query,
        FilterAPI(query, config.max_filters, config.filter_timeout_seconds, config.max_filter_blocks, pending_log),
        TxPoolAPI(backend),
        DebugAPI(chain),
        TraceAPI(chain),
        hub,
        *extra_apis,
    ):
        methods.update(api.methods())
    return Dispatcher(methods, config.max_batch_size, config.max_batch_response_bytes, observer), hub


def _origin_allowed(config: RPCConfig, origin: str) -> bool:
    return "*" in config.cors_origins or origin in config.cors_origins


@web.middleware
async def _cors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> web.StreamResponse:
    """Answer preflight requests and add CORS headers for allowed origins."""
    config = request.app[CONFIG]
    origin = request.headers.get("Origin")
    if request.method == "OPTIONS":
        response: web.StreamResponse = web.Response(status=204)
        if origin and _origin_allowed(config, origin):
            response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = request.headers.get(
                "Access-Control-Request-Headers", "Content-Type"
            )
            response.headers["Access-Control-Max-Age"] = "600"
    else:
        response = await handler(request)
    if origin and _origin_allowed(config, origin) and not response.prepared:
        response.headers["Access-Control-Allow-Origin"] = "*" if "*" in config.cors_origins else origin
        response.headers["Vary"] = "Origin"
    return response


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=encode(payload), content_type="application/json"
    )


async def _handle(request: web.Request) -> web.StreamResponse:
    """``POST /`` is JSON-RPC over HTTP; ``GET /`` with an upgrade header opens a WebSocket."""
    if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
        return await _websocket(request)
    if request.method != "POST":
        return web.Response(status=405, text="JSON-RPC: use POST, or GET with a WebSocket upgrade\n")
    config = request.app[CONFIG]
    too_large = error_response(InvalidRequest(f"request body too large: at most {config.max_body_bytes} bytes"))
    if request.content_length is not None and request.content_length > config.max_body_bytes:
        return _json_response(too_large, status=413)
    try:
        body = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _json_response(too_large, status=413)
    except ConnectionResetError:
        # The client went away before its body arrived: nothing to answer, nothing to log.
        log.debug("client %s disconnected before its request body arrived", request.remote)
        return web.Response(status=400)
    response = await request.app[DISPATCHER].handle_body(body)
    if response is None:
        return web.Response(status=200)
    return _json_response(response)


async def _websocket(request: web.Request) -> web.StreamResponse:
    config = request.app[CONFIG]
    hub = request.app[HUB]
    origin = request.headers.get("Origin")
    if origin and not _origin_allowed(config, origin):
        return web.Response(status=403, text="origin not allowed\n")
    connection = WSConnection(config.max_ws_queue)
    try:
        hub.attach(connection)
    except LimitExceeded as exc:
        return web.Response(status=503, text=exc.message + "\n")
    ws = web.WebSocketResponse(max_msg_size=config.max_body_bytes, heartbeat=WS_HEARTBEAT_SECONDS)
    writer: asyncio.Task[None] | None = None
    try:
        await ws.prepare(request)
        writer = asyncio.create_task(_write_loop(ws, connection))
        dispatcher = request.app[DISPATCHER]
        async for message in ws:
            if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                response = await dispatcher.handle_body(message.data, connection)
                if response is not None:
                    connection.push(response)
            if connection.closed:
                break
    finally:
        hub.detach(connection)
        if writer is not None:
            await writer
    return ws


async def _write_loop(ws: web.WebSocketResponse, connection: WSConnection) -> None:
    """Send queued messages in order until the close signal, then close the socket."""
    while True:
        text = await connection.queue.get()
        if text is None:
            break
        try:
            await ws.send_str(text)
        except (ConnectionResetError, RuntimeError):
            connection.close()
    if connection.overflowed:
        await ws.close(code=WS_CLOSE_TOO_SLOW, message=b"client too slow: outgoing queue full")
    else:
        await ws.close()


def create_app(backend: Backend, config: RPCConfig | None = None, extra_apis: Sequence[Any] = (),
               observer: RequestObserver | None = None, readiness: ReadinessProbe | None = None) -> web.Application:
    """The aiohttp application serving JSON-RPC for ``backend`` (and the methods of ``extra_apis``);
    with ``readiness``, also ``GET /health`` and ``GET /ready``."""
    config = config or RPCConfig()
    app = web.Application(client_max_size=config.max_body_bytes, middlewares=[_cors])
    dispatcher, hub = build_dispatcher(backend, config, extra_apis, observer)
    app[CONFIG] = config
    app[DISPATCHER] = dispatcher
    app[HUB] = hub

    async def start_hub(app: web.Application) -> None:
        hub.start()

    async def stop_hub(app: web.Application) -> None:
        hub.stop()

    app.on_startup.append(start_hub)
    app.on_shutdown.append(stop_hub)
    app.router.add_route("*", "/", _handle)
    if readiness is not None:
        add_health_routes(app, readiness)
    if config.explorer:
        add_explorer_routes(app)
    return app


class RPCServer:
    """Runs the JSON-RPC application on a TCP host and port."""

    def __init__(self, backend: Backend, config: RPCConfig | None = None, extra_apis: Sequence[Any] = (),
                 observer: RequestObserver | None = None, readiness: ReadinessProbe | None = None) -> None:
        self.app = create_app(backend, config, extra_apis, observer, readiness)
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None

    async def start(self, host: str, port: int) -> None:
        """Listen on ``host:port`` (port 0 picks a free port, see ``port``)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        self._site = web.TCPSite(self._runner, host, port)
        await self._site.start()
        log.info("JSON-RPC listening on http://%s:%d (HTTP and WebSocket)", host, self.port)

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._runner is None or not self._runner.addresses:
            raise RuntimeError("server not started")
        return int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._site = None
