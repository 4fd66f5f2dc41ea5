"""Node settings: ``config.toml`` in the node home, validated with precise errors.

Every section and key is optional; what is missing takes the default shown by
``config_to_toml(NodeConfig())``. Unknown keys are errors, so a typo never silently
falls back to a default.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from cybermiles_node.errors import ConfigError


@dataclass(frozen=True)
class Address:
    """A HOST:PORT listening address."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, where: str = "address") -> "Address":
        """Parse ``HOST:PORT`` (IPv6 hosts in brackets)."""
        host, sep, port = str(text).rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ConfigError(f"{where}: expected HOST:PORT with a port in 1..65535, got {text!r}")
        return cls(host.strip("[]"), int(port))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class RPCSettings:
    """JSON-RPC server settings."""

    enabled: bool = True
    addr: Address = Address("127.0.0.1", 8545)
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_size: int = 100
    max_log_block_range: int = 10_000
    max_ws_connections: int = 100
    cors_origins: tuple[str, ...] = ("*",)


@dataclass(frozen=True)
class P2PSettings:
    """Peer-to-peer settings: where to listen and whom to dial."""

    addr: Address = Address("0.0.0.0", 26656)
    persistent_peers: tuple[str, ...] = ()  # "nodeid@host:port", dialed and redialed forever
    seeds: tuple[str, ...] = ()  # "nodeid@host:port", asked for more peers
    max_inbound_peers: int = 40
    max_outbound_peers: int = 10


@dataclass(frozen=True)
class ConsensusSettings:
    """Block production settings (defaults come from the genesis document)."""

    block_interval_ms: int | None = None
    create_empty_blocks: bool | None = None


@dataclass(frozen=True)
class MempoolSettings:
    """Transaction pool bounds."""

    max_txs: int = 10_000
    max_bytes: int = 32 * 1024 * 1024
    max_per_sender: int = 64


@dataclass(frozen=True)
class NodeConfig:
    """All node settings."""

    moniker: str = "cmnode"
    log_level: str = "info"
    p2p: P2PSettings = field(default_factory=P2PSettings)
    rpc: RPCSettings = field(default_factory=RPCSettings)
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    mempool: MempoolSettings = field(default_factory=MempoolSettings)


LOG_LEVELS = ("debug", "info", "warning", "error")


def _take(section: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    if key not in section:
        return default
    value = section.pop(key)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or value <= 0):
        raise ConfigError(f"{where}.{key}: must be a positive integer, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be true or false, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: must be a string, got {value!r}")
    return value


def _section(data: dict[str, Any], name: str, source: str) -> dict[str, Any]:
    value = data.pop(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{source}: [{name}] must be a table")
    return dict(value)


def _no_leftovers(section: dict[str, Any], where: str) -> None:
    if section:
        raise ConfigError(f"{where}: unknown setting {sorted(section)[0]!r}")


def _peer_list(section: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    """A list of ``nodeid@host:port`` peer addresses (40 hex digits of node id)."""
    value = section.pop(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key}: must be a list of \"nodeid@host:port\" strings")
    for index, item in enumerate(value):
        node_id, at, address = item.partition("@") if isinstance(item, str) else ("", "", "")
        if not at or len(node_id) != 40 or any(c not in "0123456789abcdef" for c in node_id):
            raise ConfigError(f"{where}.{key}[{index}]: expected \"nodeid@host:port\" with a 40-hex-digit node id, got {item!r}")
        Address.parse(address, f"{where}.{key}[{index}]")
    return tuple(value)


def parse_config(data: dict[str, Any], source: str = "config.toml") -> NodeConfig:
    """Build a ``NodeConfig`` from parsed TOML, raising ``ConfigError`` with the offending key."""
    data = dict(data)
    node = _section(data, "node", source)
    rpc = _section(data, "rpc", source)
    p2p = _section(data, "p2p", source)
    consensus = _section(data, "consensus", source)
    mempool = _section(data, "mempool", source)
    _no_leftovers(data, source)
    where = f"{source}: node"
    moniker = _take(node, "moniker", str, where, "cmnode")
    log_level = _take(node, "log_level", str, where, "info")
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"{where}.log_level: one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    _no_leftovers(node, where)
    where = f"{source}: rpc"
    defaults = RPCSettings()
    origins = rpc.pop("cors_origins", list(defaults.cors_origins))
    if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
        raise ConfigError(f"{where}.cors_origins: must be a list of strings")
    rpc_settings = RPCSettings(
        enabled=_take(rpc, "enabled", bool, where, defaults.enabled),
        addr=Address.parse(_take(rpc, "addr", str, where, str(defaults.addr)), f"{where}.addr"),
        max_body_bytes=_take(rpc, "max_body_bytes", int, where, defaults.max_body_bytes),
        max_batch_size=_take(rpc, "max_batch_size", int, where, defaults.max_batch_size),
        max_log_block_range=_take(rpc, "max_log_block_range", int, where, defaults.max_log_block_range),
        max_ws_connections=_take(rpc, "max_ws_connections", int, where, defaults.max_ws_connections),
        cors_origins=tuple(origins),
    )
    _no_leftovers(rpc, where)
    where = f"{source}: p2p"
    p2p_defaults = P2PSettings()
    p2p_settings = P2PSettings(
        addr=Address.parse(_take(p2p, "addr", str, where, str(p2p_defaults.addr)), f"{where}.addr"),
        persistent_peers=_peer_list(p2p, "persistent_peers", where),
        seeds=_peer_list(p2p, "seeds", where),
        max_inbound_peers=_take(p2p, "max_inbound_peers", int, where, p2p_defaults.max_inbound_peers),
        max_outbound_peers=_take(p2p, "max_outbound_peers", int, where, p2p_defaults.max_outbound_peers),
    )
    _no_leftovers(p2p, where)
    where = f"{source}: consensus"
    consensus_settings = ConsensusSettings(
        block_interval_ms=_take(consensus, "block_interval_ms", int, where, None),
        create_empty_blocks=_take(consensus, "create_empty_blocks", bool, where, None),
    )
    _no_leftovers(consensus, where)
    where = f"{source}: mempool"
    mempool_defaults = MempoolSettings()
    mempool_settings = MempoolSettings(
        max_txs=_take(mempool, "max_txs", int, where, mempool_defaults.max_txs),
        max_bytes=_take(mempool, "max_bytes", int, where, mempool_defaults.max_bytes),
        max_per_sender=_take(mempool, "max_per_sender", int, where, mempool_defaults.max_per_sender),
    )
    _no_leftovers(mempool, where)
    return NodeConfig(moniker, log_level, p2p_settings, rpc_settings, consensus_settings, mempool_settings)


def load_config(path: Path) -> NodeConfig:
    """Read and validate ``config.toml``."""
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (run `cmnode init` first)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path.name}: invalid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    return parse_config(data, path.name)


def config_to_toml(config: NodeConfig) -> str:
    """The TOML text of ``config`` (every setting spelled out)."""
    data: dict[str, Any] = {
        "node": {"moniker": config.moniker, "log_level": config.log_level},
        "rpc": {
            "enabled": config.rpc.enabled,
            "addr": str(config.rpc.addr),
            "max_body_bytes": config.rpc.max_body_bytes,
            "max_batch_size": config.rpc.max_batch_size,
            "max_log_block_range": config.rpc.max_log_block_range,
            "max_ws_connections": config.rpc.max_ws_connections,
            "cors_origins": list(config.rpc.cors_origins),
        },
        "p2p": {
            "addr": str(config.p2p.addr),
            "persistent_peers": list(config.p2p.persistent_peers),
            "seeds": list(config.p2p.seeds),
            "max_inbound_peers": config.p2p.max_inbound_peers,
            "max_outbound_peers": config.p2p.max_outbound_peers,
        },
        "consensus": {},
        "mempool": {
            "max_txs": config.mempool.max_txs,
            "max_bytes": config.mempool.max_bytes,
            "max_per_sender": config.mempool.max_per_sender,
        },
    }
    if config.consensus.block_interval_ms is not None:
        data["consensus"]["block_interval_ms"] = config.consensus.block_interval_ms
    if config.consensus.create_empty_blocks is not None:
        data["consensus"]["create_empty_blocks"] = config.consensus.create_empty_blocks
    return tomli_w.dumps(data)
