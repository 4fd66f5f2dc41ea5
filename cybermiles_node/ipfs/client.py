"""A client of an IPFS node's Kubo RPC API: add a file, fetch a file, and check both against their CID.

``add_file`` computes the file's CID first, uploads it with
``/api/v0/add?cid-version=1&raw-leaves=true&chunker=size-262144&max-file-links=174&trickle=false``
(every setting of the layout pinned, whatever the node's ``Import`` configuration)
and refuses an answer naming another CID.
``fetch`` reads ``/api/v0/cat?arg=CID`` and returns the bytes only when the CID
computed from them is the one asked for. Both are bounded: the request's total
time, the bytes of a file or a response, and the bytes of an error body.
"""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from cybermiles_node.ipfs.cid import Cid
from cybermiles_node.ipfs.errors import CidError, ContentTooLarge, IpfsApiError
from cybermiles_node.ipfs.unixfs import CHUNK_BYTES, MAX_LINKS, check_content, cid_of_stream

#: The API address of a Kubo node on this machine (Kubo's ``Addresses.API``).
DEFAULT_API_URL = "http://127.0.0.1:5001"
#: Largest file added or fetched unless a caller sets another limit.
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: Seconds one add or fetch may take unless a caller sets another limit.
DEFAULT_TIMEOUT_S = 120.0
#: Largest answer of ``add`` (a line of JSON per file) and of an error body read.
MAX_ANSWER_BYTES = 64 * 1024


def check_api_url(url: str) -> str:
    """``url`` without a trailing slash if it is an ``http(s)://HOST[:PORT][/PATH]`` URL, else ``IpfsApiError``."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname or not port_ok \
            or parts.query or parts.fragment or parts.username or parts.password:
        raise IpfsApiError(f"the IPFS API address must be an http:// or https:// URL "
                           f"such as {DEFAULT_API_URL}, got {url[:200]!r}")
    return url.rstrip("/")


@dataclass(frozen=True)
class IpfsApi:
    """Where the Kubo RPC API is and the bounds of one request."""

    url: str = DEFAULT_API_URL
    timeout_s: float = DEFAULT_TIMEOUT_S
    max_bytes: int = DEFAULT_MAX_BYTES

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", check_api_url(self.url))


async def _error_message(response: aiohttp.ClientResponse) -> str:
    """The ``Message`` of a Kubo error body, else the HTTP status."""
    body = await response.content.read(MAX_ANSWER_BYTES)
    try:
        message = json.loads(body).get("Message")
    except (ValueError, AttributeError):
        message = None
    if isinstance(message, str) and message:
        return message[:500]
    return f"HTTP {response.status} {response.reason or ''}".strip()


@asynccontextmanager
async def _post(api: IpfsApi, command: str, params: dict[str, str], data: aiohttp.FormData | None,
                what: str) -> AsyncIterator[aiohttp.ClientResponse]:
    """POST ``/api/v0/<command>`` and give its answer of status 200; any other answer, a transport
    failure or the timeout (while reading the answer too) is an ``IpfsApiError``."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=api.timeout_s)) as session:
            async with session.post(f"{api.url}/api/v0/{command}", params=params, data=data) as response:
                if response.status != 200:
                    raise IpfsApiError(f"the IPFS node at {api.url} could not {what}: "
                                       f"{await _error_message(response)}")
                yield response
    except TimeoutError:
        raise IpfsApiError(f"the IPFS API at {api.url} did not answer within {api.timeout_s:g} s") from None
    except aiohttp.ClientError as exc:
        raise IpfsApiError(f"cannot reach the IPFS API at {api.url}: {exc}") from None


async def add_file(api: IpfsApi, path: Path) -> Cid:
    """Add the file at ``path`` to the IPFS node and return its CID, checked against the one computed here."""
    def local_cid() -> Cid:
        with path.open("rb") as stream:
            return cid_of_stream(stream, api.max_bytes)

    expected = await asyncio.to_thread(local_cid)
    params = {"cid-version": "1", "raw-leaves": "true", "chunker": f"size-{CHUNK_BYTES}",
              "max-file-links": str(MAX_LINKS), "trickle": "false", "pin": "true"}
    with path.open("rb") as stream:
        form = aiohttp.FormData()
        form.add_field("file", stream, filename=path.name, content_type="application/octet-stream")
        async with _post(api, "add", params, form, f"add {path.name}") as response:
            answer = await response.content.read(MAX_ANSWER_BYTES + 1)
    lines = answer.decode("utf-8", "replace").strip().splitlines()
    try:
        if len(answer) > MAX_ANSWER_BYTES or not lines:
            raise ValueError
        announced = Cid.parse(json.loads(lines[-1])["Hash"])
    except (ValueError, KeyError, TypeError, CidError):
        raise IpfsApiError(f"the IPFS node at {api.url} answered add with no CIDv1 of the file: "
                           f"{answer[:200]!r}") from None
    if announced != expected:
        raise IpfsApiError(f"the IPFS node stored {path.name} as {announced}, but its bytes give {expected} "
                           f"(262,144-byte chunks, raw leaves, balanced with 174 links per node): "
                           f"the node ignored the layout asked for")
    return expected


async def fetch(api: IpfsApi, cid: Cid) -> bytes:
    """The bytes of ``cid`` from the IPFS node: ``ContentMismatch`` unless they give that CID."""
    async with _post(api, "cat", {"arg": str(cid)}, None, f"fetch {cid}") as response:
        if response.content_length is not None and response.content_length > api.max_bytes:
            raise ContentTooLarge(f"{cid} is {response.content_length} bytes, more than the limit of {api.max_bytes}")
        data = bytearray()
        async for piece in response.content.iter_chunked(CHUNK_BYTES):
            data += piece
            if len(data) > api.max_bytes:
                raise ContentTooLarge(f"{cid} is larger than the limit of {api.max_bytes} bytes")
    content = bytes(data)
    await asyncio.to_thread(check_content, cid, content)
    return content
