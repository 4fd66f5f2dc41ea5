"""Fuzzing ``config.toml`` (text, bytes, values) and the ``cmnode start`` arguments.

Contract: a ``NodeConfig`` whose every number is within its bounds, or a
``ConfigError``; on the command line, a one-line error and exit code 1 or 2,
never a traceback. No node is started: the home given to ``cmnode start`` is
never initialised, so a value that parses stops at "not initialised".
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from cybermiles_node.cli.main import cli
from cybermiles_node.config import (
    NodeConfig,
    config_to_toml,
    parse_config,
    parse_toml,
)
from cybermiles_node.configschema import integer_range, settings_of
from cybermiles_node.errors import ConfigError
from tests.fuzz.conftest import FUZZ, FUZZ_LONG, corpus_inputs
from tests.fuzz.mutations import edited_text

FRAGMENTS = [
    "[", "]", "[[", "]]", "{", "}", "=", ".", ",", "\n", " ", "\t", '"', "'", '"""', "'''", "#", "\\",
    "a", "rpc", "addr", "p2p", "node", "consensus", "mempool", "webhooks", "sync", "inbound", "callers",
    "block_interval_ms", "max_body_bytes", "max_txs", "mode", "moniker", "log_level",
    "1", "0", "-1", "50", "600001", "100000000000000000000", "1.5", "1e400", "nan", "inf", "true", "false",
    "1979-05-27T07:32:00Z", "0x10", "0o7", "0b1", "1_000", '"127.0.0.1:8545"', '"127.0.0.1:²"', '"[::1]:1"',
    "\x00", "\x7f", "é", "²", "٣",
]
DEFAULT_TEXT = config_to_toml(NodeConfig())
SECTIONS = {
    "node": ["moniker", "log_level"],
    "rpc": ["enabled", "addr", "max_body_bytes", "max_batch_size", "max_log_block_range", "max_ws_connections",
            "cors_origins"],
    "p2p": ["addr", "persistent_peers", "seeds", "max_inbound_peers", "max_outbound_peers"],
    "consensus": ["block_interval_ms", "create_empty_blocks"],
    "mempool": ["max_txs", "max_bytes", "max_per_sender"],
    "sync": ["mode"],
}

toml_like = st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=4), max_size=60).map("".join)


edited_default = edited_text(DEFAULT_TEXT, FRAGMENTS)


toml_values = st.recursive(
    st.integers() | st.booleans() | st.text(max_size=20) | st.floats() | st.sampled_from(FRAGMENTS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def config_data(draw: st.DrawFn) -> dict[str, object]:
    """Parsed TOML whose keys are mostly the real ones and whose values are anything."""
    data: dict[str, object] = {}
    for section in draw(st.lists(st.sampled_from(sorted(SECTIONS)), unique=True)):
        keys = draw(st.lists(st.sampled_from(SECTIONS[section]), unique=True))
        data[section] = {key: draw(toml_values) for key in keys}
    return data


def _config_contract(raw: bytes) -> None:
    try:
        config = parse_config(parse_toml(raw))
    except ConfigError as exc:
        assert str(exc).startswith("config.toml")
        return
    _assert_in_bounds(config)


def _assert_in_bounds(config: NodeConfig) -> None:
    for section in (config.rpc, config.p2p, config.consensus, config.mempool):
        _assert_settings_in_bounds(section)


def _assert_settings_in_bounds(settings_value: Any) -> None:
    for spec, _kind in settings_of(type(settings_value)):
        value = getattr(settings_value, spec.name)
        if dataclasses.is_dataclass(value):
            _assert_settings_in_bounds(value)
        elif isinstance(value, int) and not isinstance(value, bool):
            low, high = integer_range(spec)
            assert low <= value <= high, (spec.name, value)


@FUZZ
@given(st.binary(max_size=200) | toml_like.map(str.encode) | edited_default.map(str.encode))
def test_config_toml_is_a_config_or_a_config_error(raw: bytes) -> None:
    _config_contract(raw)


@FUZZ
@given(config_data())
def test_config_values_are_in_bounds_or_refused(data: dict[str, object]) -> None:
    try:
        config = parse_config(data)
    except ConfigError:
        return
    _assert_in_bounds(config)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("config"), ids=lambda value: str(value)[:40])
def test_config_corpus(name: str, raw: bytes) -> None:
    _config_contract(raw)


def _start_contract(home: Path, args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["start", "--home", str(home), *args])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (1, 2), result.output
    assert "Error:" in result.output and "Traceback" not in result.output


cli_values = st.text(max_size=30) | st.lists(st.sampled_from([*FRAGMENTS, ":", "8545", "[", "]"]), max_size=8).map("".join)
cli_options = st.sampled_from(["--rpc-addr", "--p2p-addr", "--block-interval"])


def _start_value_contract(home: Path, option: str, value: str) -> None:
    if value.startswith("-") or "\x00" in value:
        value = "x" + value.replace("\x00", "")  # an option name or NUL is not a value a shell can pass
    _start_contract(home, [option, value])


@settings(FUZZ, max_examples=100)
@given(option=cli_options, value=cli_values)
def test_start_arguments_are_refused_in_one_line(tmp_path: Path, option: str, value: str) -> None:
    _start_value_contract(tmp_path / "uninitialised", option, value)


@pytest.mark.parametrize(("name", "raw"), corpus_inputs("cli_args"), ids=lambda value: str(value)[:40])
def test_cli_args_corpus(tmp_path: Path, name: str, raw: bytes) -> None:
    """Each file is one line per argument, e.g. ``--rpc-addr`` then ``127.0.0.1:²``."""
    _start_contract(tmp_path / "uninitialised", raw.decode("utf-8").splitlines())


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(st.binary(max_size=2000) | toml_like.map(str.encode) | edited_default.map(str.encode))
def test_config_toml_long(raw: bytes) -> None:
    _config_contract(raw)


@pytest.mark.fuzz_long
@settings(FUZZ_LONG)
@given(option=cli_options, value=cli_values)
def test_start_arguments_long(tmp_path: Path, option: str, value: str) -> None:
    _start_value_contract(tmp_path / "uninitialised", option, value)
