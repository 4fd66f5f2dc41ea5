"""``GET /health`` (the process serves) and ``GET /ready`` (the node is fit to serve traffic) over HTTP.

The node decides readiness (``ReadinessProbe``); these handlers only turn its answer into
``200`` or ``503`` with a JSON body naming every check, so load balancers and orchestrators
read the status code and people read the body.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from rpc.jsonwire import encode


@dataclass(frozen=True)
class Readiness:
    """The outcome of the readiness checks: each check's name, whether it passed, and a few words why."""

    checks: tuple[tuple[str, bool, str], ...]

    @property
    def ready(self) -> bool:
        """Whether every check passed."""
        return all(passed for _, passed, _ in self.checks)


ReadinessProbe = Callable[[], Readiness]
"""Computes readiness now (cheap: no disk or network work)."""


def _json(payload: dict[str, object], status: int) -> web.Response:
    return web.Response(status=status, body=encode(payload),
                        content_type="application/json", headers={"Cache-Control": "no-store"})


def add_health_routes(app: web.Application, probe: ReadinessProbe) -> None:
    """Serve ``GET /health`` and ``GET /ready`` from ``app``."""

    async def health(request: web.Request) -> web.Response:
        return _json({"status": "ok"}, 200)

    async def ready(request: web.Request) -> web.Response:
        outcome = probe()
        return _json({"ready": outcome.ready,
                      "checks": {name: {"ok": passed, "detail": detail} for name, passed, detail in outcome.checks}},
                     200 if outcome.ready else 503)

    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
