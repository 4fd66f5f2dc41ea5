"""``cmnode ipfs add|cat|cid|convert``: files off chain, their CIDs on chain.

``add`` uploads a file to an IPFS node through its Kubo RPC API and prints the
file's CIDv1 (checked against the one computed here) with the 32-byte digest a
contract's ``bytes32`` field stores; ``cat`` fetches a file and writes it only
once its bytes give the CID asked for; ``cid`` computes a file's CID offline;
``convert`` turns a CID into its digest and a digest (with its codec) back into
the CID. The API URL comes from ``--api``, else ``[ipfs] api`` of the home's
``config.toml``, else ``http://127.0.0.1:5001``.
"""
from __future__ import annotations

import asyncio
import functools
import os
import sys
import tempfile
from pathlib import Path

import click

from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.cli.params import AsciiFloatRange, AsciiIntRange
from cybermiles_node.config import load_config
from cybermiles_node.errors import NodeError
from cybermiles_node.home import HOME_ENV, NodeHome
from cybermiles_node.ipfs.cid import CODECS, Cid, parse_digest
from cybermiles_node.ipfs.client import DEFAULT_API_URL, DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, IpfsApi, add_file, fetch
from cybermiles_node.ipfs.errors import IpfsError
from cybermiles_node.ipfs.unixfs import cid_of_stream

EXPECTED = (IpfsError, NodeError, OSError)

home_option = click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar=HOME_ENV, default=None,
                           help=f"Node home whose config.toml names the IPFS API (default: ${HOME_ENV}, else ~/.cmnode).")
api_option = click.option("--api", "api_url", default=None,
                          help="Kubo RPC API URL (default: [ipfs] api of the home's config, else http://127.0.0.1:5001).")
max_bytes_option = click.option("--max-bytes", type=AsciiIntRange(1, 2**40), default=DEFAULT_MAX_BYTES,
                                show_default=True, help="Largest file added or fetched.")
timeout_option = click.option("--timeout", "timeout_s", type=AsciiFloatRange(min=0.1, max=3600),
                              default=DEFAULT_TIMEOUT_S, show_default=True, help="Seconds the IPFS node may take.")


def _api(home: Path | None, api_url: str | None, timeout_s: float, max_bytes: int) -> IpfsApi:
    """The API given by ``--api``, else the home's ``[ipfs] api``, else the default."""
    if api_url is None:
        node_home = NodeHome.resolve(home)
        api_url = load_config(node_home.config).ipfs.api if node_home.config.exists() else DEFAULT_API_URL
    return IpfsApi(api_url, timeout_s, max_bytes)


def _cid_result(cid: Cid, size: int | None = None) -> tuple[dict[str, object], list[str]]:
    result: dict[str, object] = {"cid": str(cid), "codec": cid.codec_name, "digest": cid.digest_hex()}
    if size is not None:
        result["size"] = size
    return result, [f"cid     {cid}", f"digest  {cid.digest_hex()}  ({cid.codec_name}; the bytes32 a contract stores)"]


@click.group()
def ipfs() -> None:
    """Files off chain, content identifiers (IPFS CIDv1) on chain."""


@ipfs.command("add")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@api_option
@home_option
@max_bytes_option
@timeout_option
@json_option
def add(file: Path, api_url: str | None, home: Path | None, max_bytes: int, timeout_s: float,
        json_output: bool) -> None:
    """Add FILE to the IPFS node and print its CID and digest."""
    with reporting_errors(json_output, EXPECTED):
        api = _api(home, api_url, timeout_s, max_bytes)
        cid = asyncio.run(add_file(api, file))
        result, lines = _cid_result(cid, file.stat().st_size)
    emit(json_output, result, lines)


@ipfs.command("cat")
@click.argument("cid_text", metavar="CID")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the file here (replaced only once the bytes are verified) instead of to stdout.")
@api_option
@home_option
@max_bytes_option
@timeout_option
def cat(cid_text: str, output: Path | None, api_url: str | None, home: Path | None, max_bytes: int,
        timeout_s: float) -> None:
    """Fetch the file of CID from the IPFS node; its bytes are written only if they give that CID."""
    with reporting_errors(False, EXPECTED):
        cid = Cid.parse(cid_text)
        api = _api(home, api_url, timeout_s, max_bytes)
        asyncio.run(_fetch_and_write(api, cid, output))


async def _fetch_and_write(api: IpfsApi, cid: Cid, output: Path | None) -> None:
    """Fetch and verify, then write to ``output`` or stdout.

    The bytes stay inside this coroutine: Python 3.11's ``asyncio.run`` formats its
    main task, result included, when it restores the SIGINT handler, which for a
    large file takes seconds.
    """
    data = await fetch(api, cid)
    await asyncio.to_thread(_write_stdout if output is None else functools.partial(_write_atomically, output), data)


def _write_stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, so it is never half-written."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@ipfs.command("cid")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@max_bytes_option
@json_option
def cid_command(file: Path, max_bytes: int, json_output: bool) -> None:
    """Compute FILE's CID offline, as `cmnode ipfs add` would store it."""
    with reporting_errors(json_output, EXPECTED):
        with file.open("rb") as stream:
            cid = cid_of_stream(stream, max_bytes)
        result, lines = _cid_result(cid, file.stat().st_size)
    emit(json_output, result, lines)


@ipfs.command("convert")
@click.argument("value")
@click.option("--codec", type=click.Choice(sorted(CODECS)), default=None,
              help="With a digest: the codec of its block (raw: a file of one chunk, up to 262,144 bytes; "
                   "dag-pb: a larger file).")
@json_option
def convert(value: str, codec: str | None, json_output: bool) -> None:
    """Turn a CID into its bytes32 digest, or a 0x digest and --codec into the CID."""
    with reporting_errors(json_output, EXPECTED):
        if value[:2] in ("0x", "0X"):
            if codec is None:
                raise click.UsageError("a digest needs --codec raw or --codec dag-pb")
            cid = Cid(CODECS[codec], parse_digest(value))
        else:
            cid = Cid.parse(value)
        result, lines = _cid_result(cid)
    emit(json_output, result, lines)


def add_ipfs_commands(cli: click.Group) -> None:
    """Register ``cmnode ipfs``."""
    cli.add_command(ipfs)
