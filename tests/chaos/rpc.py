"""JSON-RPC calls of the chaos harness: short time-outs, and an unreachable node is an answer, not an error."""
from __future__ import annotations

import json

import aiohttp

TIMEOUT_S = 3.0


class RpcFailure(Exception):
    """A call gave no result."""


class Unreachable(RpcFailure):
    """The node did not answer: stopped, paused, starting, or cut off."""


class Refused(RpcFailure):
    """The node answered with an error."""


async def call(session: aiohttp.ClientSession, url: str, method: str, *params: object,
               timeout: float = TIMEOUT_S) -> object:
    """The result of one call; ``Unreachable`` or ``Refused`` otherwise."""
    replies = await batch(session, url, [(method, list(params))], timeout)
    return replies[0]


async def batch(session: aiohttp.ClientSession, url: str, calls: list[tuple[str, list[object]]],
                timeout: float = TIMEOUT_S) -> list[object]:
    """The results of a batch of calls in order; ``Unreachable`` or ``Refused`` if the batch or any call failed."""
    body = [{"jsonrpc": "2.0", "id": index, "method": method, "params": params}
            for index, (method, params) in enumerate(calls)]
    try:
        async with session.post(url, json=body, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            replies = json.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
        raise Unreachable(f"{url}: {type(exc).__name__}: {exc}") from None
    if not isinstance(replies, list) or len(replies) != len(calls):
        raise Unreachable(f"{url}: unexpected answer {str(replies)[:200]}")
    by_id = {reply.get("id"): reply for reply in replies if isinstance(reply, dict)}
    results = []
    for index in range(len(calls)):
        reply = by_id.get(index, {})
        if "result" not in reply:
            raise Refused(f"{url}: {calls[index][0]}: {reply.get('error')}")
        results.append(reply["result"])
    return results
