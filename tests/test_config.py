"""Tests of config.toml: defaults, every validation error, unknown keys, and the TOML round trip."""
from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from cybermiles_node.config import (
    Address,
    ConsensusSettings,
    MempoolSection,
    NodeConfig,
    P2PSection,
    RPCSection,
    config_to_toml,
    load_config,
    parse_config,
)
from cybermiles_node.errors import ConfigError
from cybermiles_node.mempool.config import MempoolConfig
from p2p.config import P2PConfig
from rpc.config import RPCConfig


def test_empty_file_gives_the_defaults() -> None:
    config = parse_config({})
    assert config == NodeConfig()
    assert config.moniker == "cmnode" and config.log_level == "info"
    assert config.rpc.enabled and config.rpc.addr == Address("127.0.0.1", 8545)
    assert config.rpc.server.max_body_bytes == 5 * 1024 * 1024 and config.rpc.server.max_batch_size == 1000
    assert config.rpc.server.max_log_block_range == 100_000 and config.rpc.server.cors_origins == ("*",)
    assert config.p2p.addr == Address("0.0.0.0", 26656)
    assert config.p2p.persistent_peers == () and config.p2p.seeds == ()
    assert config.consensus == ConsensusSettings(None, None)  # genesis decides
    assert config.mempool == MempoolSection(0, MempoolConfig(20_000, 32 * 1024 * 1024, 128, 10_000))


def test_every_setting_is_read() -> None:
    config = parse_config({
        "node": {"moniker": "shop-1", "log_level": "debug"},
        "rpc": {"enabled": False, "addr": "0.0.0.0:9545", "max_body_bytes": 1024, "max_batch_size": 5,
                "max_log_block_range": 50, "max_ws_connections": 3, "cors_origins": ["https://a.example"]},
        "p2p": {"addr": "10.0.0.1:26000", "persistent_peers": ["ab" * 20 + "@10.0.0.2:26656"],
                "max_inbound_peers": 7, "max_outbound_peers": 3},
        "consensus": {"block_interval_ms": 250, "create_empty_blocks": False},
        "mempool": {"max_txs": 10, "max_bytes": 262_144, "max_per_sender": 2, "max_queued": 5, "decode_workers": 3},
    })
    assert config == NodeConfig(
        moniker="shop-1",
        log_level="debug",
        p2p=P2PSection(addr=Address("10.0.0.1", 26000), persistent_peers=("ab" * 20 + "@10.0.0.2:26656",),
                       transport=P2PConfig(max_inbound_peers=7, max_outbound_peers=3)),
        rpc=RPCSection(False, Address("0.0.0.0", 9545), server=RPCConfig(
            max_body_bytes=1024, max_batch_size=5, max_log_block_range=50, max_ws_connections=3,
            cors_origins=("https://a.example",))),
        consensus=ConsensusSettings(250, False),
        mempool=MempoolSection(3, MempoolConfig(max_txs=10, max_bytes=262_144, max_queued_per_sender=2, max_queued=5)),
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"node": {"moniker": 5}}, "config.toml: node.moniker: must be a string, got 5"),
        ({"node": {"log_level": "loud"}}, "config.toml: node.log_level: one of debug, info, warning, error, got 'loud'"),
        ({"rpc": {"enabled": "yes"}}, "config.toml: rpc.enabled: must be true or false, got 'yes'"),
        ({"rpc": {"addr": "localhost"}}, "config.toml: rpc.addr: expected HOST:PORT with a port in 1..65535, got 'localhost'"),
        ({"rpc": {"addr": "localhost:0"}}, "config.toml: rpc.addr: expected HOST:PORT with a port in 1..65535, got 'localhost:0'"),
        ({"rpc": {"addr": "localhost:65536"}}, "config.toml: rpc.addr: expected HOST:PORT with a port in 1..65535, got 'localhost:65536'"),
        ({"rpc": {"addr": ":8545"}}, "config.toml: rpc.addr: expected HOST:PORT with a port in 1..65535, got ':8545'"),
        ({"rpc": {"addr": "host:http"}}, "config.toml: rpc.addr: expected HOST:PORT with a port in 1..65535, got 'host:http'"),
        ({"rpc": {"addr": 8545}}, "config.toml: rpc.addr: must be a string, got 8545"),
        ({"rpc": {"max_body_bytes": 0}}, "config.toml: rpc.max_body_bytes: must be an integer in 1..268435456, got 0"),
        ({"rpc": {"max_batch_size": -1}}, "config.toml: rpc.max_batch_size: must be an integer in 1..10000, got -1"),
        ({"rpc": {"max_log_block_range": True}}, "config.toml: rpc.max_log_block_range: must be an integer in 1..1000000, got True"),
        ({"rpc": {"max_ws_connections": 1.5}}, "config.toml: rpc.max_ws_connections: must be an integer in 1..10000, got 1.5"),
        ({"rpc": {"cors_origins": "*"}}, "config.toml: rpc.cors_origins: must be a list of strings"),
        ({"rpc": {"cors_origins": ["*", 1]}}, "config.toml: rpc.cors_origins: must be a list of strings"),
        ({"p2p": {"addr": "nowhere"}}, "config.toml: p2p.addr: expected HOST:PORT with a port in 1..65535, got 'nowhere'"),
        ({"p2p": {"seeds": "x"}}, 'config.toml: p2p.seeds: must be a list of "nodeid@host:port" strings'),
        ({"p2p": {"persistent_peers": ["abc@1.2.3.4:5"]}},
         "config.toml: p2p.persistent_peers[0]: expected \"nodeid@host:port\" with a 40-hex-digit node id, got 'abc@1.2.3.4:5'"),
        ({"p2p": {"persistent_peers": ["ab" * 20 + "@host"]}},
         "config.toml: p2p.persistent_peers[0]: expected HOST:PORT with a port in 1..65535, got 'host'"),
        ({"consensus": {"block_interval_ms": 0}}, "config.toml: consensus.block_interval_ms: must be an integer in 50..600000, got 0"),
        ({"consensus": {"create_empty_blocks": 1}}, "config.toml: consensus.create_empty_blocks: must be true or false, got 1"),
        ({"mempool": {"max_txs": "many"}}, "config.toml: mempool.max_txs: must be an integer in 1..1000000, got 'many'"),
        ({"mempool": {"max_bytes": 0}}, "config.toml: mempool.max_bytes: must be an integer in 1..4294967296, got 0"),
        ({"mempool": {"max_per_sender": 0}}, "config.toml: mempool.max_per_sender: must be an integer in 1..100000, got 0"),
        ({"mempool": {"decode_workers": -1}}, "config.toml: mempool.decode_workers: must be an integer in 0..256, got -1"),
        ({"rpc": "on"}, "config.toml: [rpc] must be a table"),
        ({"rpc": {"filter_timeout_seconds": 0}}, "config.toml: rpc.filter_timeout_seconds: must be a number in 1..86400, got 0"),
        ({"p2p": {"handshake_timeout": "5"}}, "config.toml: p2p.handshake_timeout: must be a number in 0..1e+09, got '5'"),
        ({"p2p": {"ping_interval": 50.0}}, "config.toml: p2p: p2p setting idle_timeout must exceed ping_interval"),
        ({"mempool": {"max_bytes": 10}}, "config.toml: mempool: mempool.max_tx_bytes: 131072 exceeds mempool.max_bytes 10"),
    ],
)
def test_invalid_values_are_named_precisely(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert str(raised.value) == message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rcp": {}}, "config.toml: unknown setting 'rcp'"),
        ({"node": {"monikor": "x"}}, "config.toml: node: unknown setting 'monikor'"),
        ({"rpc": {"adr": "127.0.0.1:1"}}, "config.toml: rpc: unknown setting 'adr'"),
        ({"p2p": {"peers": []}}, "config.toml: p2p: unknown setting 'peers'"),
        ({"consensus": {"timeout_commit": 1}}, "config.toml: consensus: unknown setting 'timeout_commit'"),
        ({"mempool": {"size": 1}}, "config.toml: mempool: unknown setting 'size'"),
    ],
)
def test_unknown_keys_are_errors(data: dict, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(data)
    assert str(raised.value) == message


def test_parsing_does_not_consume_the_callers_data() -> None:
    data = {"rpc": {"max_batch_size": 7}}
    parse_config(data)
    assert data == {"rpc": {"max_batch_size": 7}}


def test_ipv6_addresses() -> None:
    address = Address.parse("[::1]:8545")
    assert address == Address("::1", 8545)
    assert Address.parse(str(address)) == address
    assert str(address) == "[::1]:8545"
    assert str(Address("127.0.0.1", 1)) == "127.0.0.1:1"


@pytest.mark.parametrize(
    "config",
    [
        NodeConfig(),
        NodeConfig(
            moniker="shop \"1\"",
            log_level="warning",
            p2p=P2PSection(addr=Address("::", 26656)),
            rpc=RPCSection(False, Address("::1", 8545), server=RPCConfig(
                max_body_bytes=10, max_batch_size=2, max_log_block_range=3, max_ws_connections=4,
                cors_origins=("https://a.example", "http://b.example"))),
            consensus=ConsensusSettings(500, False),
            mempool=MempoolSection(pool=MempoolConfig(max_txs=1, max_bytes=200_000, max_queued_per_sender=3)),
        ),
        NodeConfig(consensus=ConsensusSettings(None, True), rpc=RPCSection(server=RPCConfig(cors_origins=()))),
    ],
    ids=["defaults", "everything-changed", "partial-consensus"],
)
def test_toml_round_trip(config: NodeConfig, tmp_path: Path) -> None:
    text = config_to_toml(config)
    assert parse_config(tomllib.loads(text)) == config
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert load_config(path) == config


def test_written_defaults_spell_out_every_setting() -> None:
    data = tomllib.loads(config_to_toml(NodeConfig()))
    assert set(data) == {"node", "rpc", "p2p", "consensus", "mempool", "metrics"}
    assert set(data["node"]) == {"moniker", "log_level", "log_format", "log_file_max_bytes", "log_file_backups"}
    assert data["metrics"] == {"enabled": False, "addr": "127.0.0.1:26660"}
    assert set(data["rpc"]) == {"enabled", "addr", "max_body_bytes", "max_batch_size", "max_log_block_range",
                                "max_ws_connections", "cors_origins", "call_timeout_ms", "max_pending_reads",
                                # every bound of the RPC server can be set
                                "max_batch_response_bytes", "max_subscriptions_per_connection", "max_ws_queue",
                                "max_log_results", "max_fee_history_blocks", "max_fee_history_percentiles",
                                "max_filters", "filter_timeout_seconds", "max_filter_blocks",
                                "pending_filter_capacity", "decoded_block_cache"}
    assert data["consensus"] == {}  # the genesis document decides unless set here


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config.toml: not found \(run `cmnode init` first\)"):
        load_config(tmp_path / "config.toml")


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[rpc\naddr = ")
    with pytest.raises(ConfigError, match=r"^config.toml: invalid TOML: "):
        load_config(path)


def test_errors_name_the_file_they_come_from(tmp_path: Path) -> None:
    path = tmp_path / "node.toml"
    path.write_text("[rpc]\nmax_batch_size = 0\n")
    with pytest.raises(ConfigError, match=r"^node.toml: rpc.max_batch_size: must be an integer in 1..10000, got 0$"):
        load_config(path)


def test_unreadable_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path)  # a directory


def test_rpc_read_limits_are_read_and_range_checked(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("[rpc]\ncall_timeout_ms = 2500\nmax_pending_reads = 64\n")
    config = load_config(path)
    assert (config.rpc.call_timeout_ms, config.rpc.max_pending_reads) == (2500, 64)
    path.write_text("[rpc]\ncall_timeout_ms = 0\n")
    with pytest.raises(ConfigError, match=r"rpc.call_timeout_ms: must be an integer in 100..600000, got 0"):
        load_config(path)


def test_ipfs_api_is_read_checked_and_written_back(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[ipfs]\napi = "http://10.0.0.7:5001/"\n')
    config = load_config(path)
    assert config.ipfs.api == "http://10.0.0.7:5001"
    assert parse_config(tomllib.loads(config_to_toml(config))) == config
    assert "ipfs" not in tomllib.loads(config_to_toml(NodeConfig()))  # the default is not written
    for bad in ('"ftp://10.0.0.7"', '"http://:5001"', '"http://host:70000"', "5001"):
        path.write_text(f"[ipfs]\napi = {bad}\n")
        with pytest.raises(ConfigError, match=r"^config.toml: ipfs.api: "):
            load_config(path)


def test_environment_variables_override_the_file_and_are_named_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[rpc]\nmax_batch_size = 7\naddr = "127.0.0.1:9000"\n')
    environ = {"CMNODE_RPC__MAX_BATCH_SIZE": "50", "CMNODE_RPC__CORS_ORIGINS": '["https://a.example"]',
               "CMNODE_P2P__MAX_INBOUND_PEERS": "9", "CMNODE_HOME": "/elsewhere"}
    config = load_config(path, environ)
    assert config.rpc.server.max_batch_size == 50 and config.rpc.server.cors_origins == ("https://a.example",)
    assert config.rpc.addr == Address("127.0.0.1", 9000) and config.p2p.transport.max_inbound_peers == 9
    assert load_config(path, {"CMNODE_RPC__ADDR": "0.0.0.0:8600"}).rpc.addr == Address("0.0.0.0", 8600)
    with pytest.raises(ConfigError) as raised:
        load_config(path, {"CMNODE_RPC__MAX_BATCH_SIZE": "0"})
    assert str(raised.value) == "CMNODE_RPC__MAX_BATCH_SIZE: rpc.max_batch_size: must be an integer in 1..10000, got 0"
    with pytest.raises(ConfigError) as raised:
        load_config(path, {"CMNODE_RPC__MAX_BATCHSIZE": "5"})
    assert str(raised.value) == "CMNODE_RPC__MAX_BATCHSIZE: rpc: unknown setting 'max_batchsize'"
    with pytest.raises(ConfigError) as raised:
        load_config(path, {"CMNODE_RCP__ADDR": "0.0.0.0:1"})
    assert str(raised.value) == "CMNODE_RCP__ADDR: unknown setting 'rcp'"
    with pytest.raises(ConfigError, match=r"^CMNODE_RPC__CORS_ORIGINS:1: arrays and tables nested deeper than 16"):
        load_config(path, {"CMNODE_RPC__CORS_ORIGINS": "[" * 100_000})


def test_config_show_prints_every_setting_with_its_source(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from cybermiles_node.cli.main import cli

    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        '[rpc]\naddr = "127.0.0.1:9000"\n[webhooks]\n[[webhooks.subscriptions]]\nid = "orders"\n'
        'url = "https://hooks.example/orders"\nsecret = "0123456789abcdef0123456789abcdef"\n')
    runner = CliRunner()
    result = runner.invoke(cli, ["config", "show", "--home", str(home)], env={"CMNODE_RPC__MAX_BATCH_SIZE": "64"})
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert 'addr = "127.0.0.1:9000"  # config.toml' in lines
    assert "max_batch_size = 64  # env CMNODE_RPC__MAX_BATCH_SIZE" in lines
    assert "max_ws_connections = 100  # default" in lines and "[p2p]" in lines and "[mempool]" in lines
    assert "0123456789abcdef" not in result.output and "<redacted>" in result.output
    shown = runner.invoke(cli, ["config", "show", "--home", str(home), "--json"], env={})
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["rpc.addr"] == {"value": "127.0.0.1:9000", "source": "config.toml"}
    broken = runner.invoke(cli, ["config", "show", "--home", str(home)], env={"CMNODE_RPC__ADDR": "nowhere"})
    assert broken.exit_code == 1 and "Traceback" not in broken.output
    assert "CMNODE_RPC__ADDR: rpc.addr: expected HOST:PORT" in broken.output
