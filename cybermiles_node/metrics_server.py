"""The ``[metrics] addr`` HTTP endpoint: ``GET /metrics`` (Prometheus text format), ``/health`` and ``/ready``."""
from __future__ import annotations

import logging

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from cybermiles_node.config import Address
from cybermiles_node.errors import NodeError
from cybermiles_node.metrics import NodeMetrics
from rpc.health import ReadinessProbe, add_health_routes

log = logging.getLogger(__name__)


class MetricsServer:
    """Serves one node's metrics and health on their own address."""

    def __init__(self, metrics: NodeMetrics, readiness: ReadinessProbe) -> None:
        self._metrics = metrics
        self.app = web.Application()
        self.app.router.add_get("/metrics", self._scrape)
        add_health_routes(self.app, readiness)
        self._runner: web.AppRunner | None = None

    async def _scrape(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics.exposition())
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    async def start(self, addr: Address) -> None:
        """Listen on ``addr`` (``NodeError`` if it cannot)."""
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, addr.host, addr.port).start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise NodeError(f"[metrics] addr {addr}: cannot listen: {exc.strerror or exc}") from None
        log.info("metrics on http://%s/metrics (health: /health, /ready)", addr)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
