"""``cmnode config show``: the effective configuration of a node home, and where each setting comes from.

Every setting is printed as a TOML line with its source after it: ``config.toml``,
the environment variable that overrides it (``env CMNODE_RPC__ADDR``), or
``default``. Secrets (webhook and caller HMAC keys) are shown as ``<redacted>``.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click

from cybermiles_node.cli.output import emit, json_option, reporting_errors
from cybermiles_node.config import load_config_sources
from cybermiles_node.configschema import render_root
from cybermiles_node.errors import NodeError
from cybermiles_node.home import HOME_ENV, NodeHome

REDACTED = "<redacted>"
SECRET_KEYS = frozenset({"secret"})
DEFAULT_SOURCE = "default"


def redacted(value: Any) -> Any:
    """``value`` (a TOML value or table) with every secret replaced by ``REDACTED``."""
    if isinstance(value, dict):
        return {key: REDACTED if key in SECRET_KEYS else redacted(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redacted(item) for item in value]
    return value


def inline_toml(value: Any) -> str:
    """``value`` as one line of TOML (strings, numbers, booleans, arrays, inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else f"{'-' if value < 0 else ''}inf")
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(inline_toml(item) for item in value) + "]"
    return "{" + ", ".join(f"{json.dumps(key)} = {inline_toml(item)}" for key, item in value.items()) + "}"


def settings(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every setting (a value that is not a table) of ``table`` with its path, tables after the values."""
    for key, value in table.items():
        if not isinstance(value, dict):
            yield (*prefix, key), value
    for key, value in table.items():
        if isinstance(value, dict):
            yield from settings(value, (*prefix, key))


@click.group("config")
def config_group() -> None:
    """Inspect the node's configuration (config.toml, CMNODE_SECTION__KEY overrides, defaults)."""


@config_group.command("show")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), envvar=HOME_ENV, default=None,
              help="Node home directory (default: $CMNODE_HOME or ~/.cmnode).")
@json_option
def show(home: Path | None, json_output: bool) -> None:
    """Print the effective configuration, each setting with where it comes from."""
    with reporting_errors(json_output, (NodeError, OSError)):
        loaded = load_config_sources(NodeHome.resolve(home).config)
    document = redacted(render_root(loaded.config, every_section=True))
    rows = [(path, value, loaded.sources.get(path, DEFAULT_SOURCE)) for path, value in settings(document)]
    lines: list[str] = []
    table: tuple[str, ...] = ()
    for path, value, source in rows:
        if path[:-1] != table:
            table = path[:-1]
            lines.extend(["", f"[{'.'.join(table)}]"] if lines else [f"[{'.'.join(table)}]"])
        lines.append(f"{path[-1]} = {inline_toml(value)}  # {source}")
    emit(json_output, {".".join(path): {"value": value, "source": source} for path, value, source in rows}, lines)


def add_config_commands(cli: click.Group) -> None:
    """Register ``cmnode config``."""
    cli.add_command(config_group)
