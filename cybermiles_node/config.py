"""Node settings: ``config.toml`` in the node home, validated with precise errors.

Every section and key is optional; what is missing takes the default shown by
``config_to_toml(NodeConfig())``. Unknown keys are errors, so a typo never silently
falls back to a default.
"""
from __future__ import annotations

import ipaddress
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from cybermiles_node.errors import ConfigError
from cybermiles_node.ipfs.client import DEFAULT_API_URL, check_api_url
from cybermiles_node.ipfs.errors import IpfsError
from cybermiles_node.logs import parse_log_levels
from cybermiles_node.tomlbounds import check_toml_bounds
from middleware.webhooks.abiargs import ArgumentError, method_types
from middleware.webhooks.errors import SubscriptionError
from middleware.webhooks.retry import RetryPolicy
from middleware.webhooks.settings import (
    AllowedCall,
    Caller,
    DeliverySettings,
    InboundSettings,
    WebhookSettings,
)
from middleware.webhooks.subscription import (
    ID_PATTERN,
    WILDCARD_TOPIC,
    Subscription,
    parse_secret,
    parse_subscription,
)

_HOST_PORT = re.compile(r"(?:(?P<name>[A-Za-z0-9._-]{1,253})|\[(?P<ipv6>[0-9A-Fa-f:.]{2,45})\]):(?P<port>[0-9]{1,5})")


@dataclass(frozen=True)
class Address:
    """A HOST:PORT listening address."""

    host: str
    port: int

    @classmethod
    def parse(cls, text: str, where: str = "address") -> Address:
        """Parse ``HOST:PORT``: a host name or IPv4 address, or an IPv6 address in brackets;
        a port of ASCII digits in 1..65535."""
        match = _HOST_PORT.fullmatch(text) if isinstance(text, str) else None
        if match is None or not 0 < int(match["port"]) < 65536:
            raise ConfigError(f"{where}: expected HOST:PORT with a port in 1..65535, got {text!r}")
        host = match["name"]
        if host is None:
            host = match["ipv6"]
            try:
                ipaddress.IPv6Address(host)
            except ValueError:
                raise ConfigError(f"{where}: {host!r} in brackets is not an IPv6 address") from None
        return cls(host, int(match["port"]))

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass(frozen=True)
class RPCSettings:
    """JSON-RPC server settings."""

    enabled: bool = True
    addr: Address = Address("127.0.0.1", 8545)
    max_body_bytes: int = 5 * 1024 * 1024
    max_batch_size: int = 1000  # requests in one JSON-RPC batch (geth: 1000)
    max_log_block_range: int = 100_000  # blocks one eth_getLogs may span (results are bounded too)
    max_ws_connections: int = 100
    cors_origins: tuple[str, ...] = ("*",)
    call_timeout_ms: int = 5_000  # eth_call / eth_estimateGas stop after this long (geth's --rpc.evmtimeout)
    max_pending_reads: int = 1_024  # RPC reads queued or running at once; beyond it -32005 "node busy"
    explorer: bool | None = None  # the explorer page at /explorer; None: on for --dev only

    def serves_explorer(self, dev: bool) -> bool:
        """Whether the RPC port serves the explorer: ``explorer`` when set, else only on a development chain."""
        return self.explorer if self.explorer is not None else dev


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


SYNC_MODES = ("fast", "full")


@dataclass(frozen=True)
class SyncSettings:
    """How a new node catches up: "fast" (verified blocks and receipts, then the state at a pivot) or "full"."""

    mode: str = "fast"


@dataclass(frozen=True)
class MempoolSettings:
    """Transaction pool bounds, and the worker processes that decode transactions for it.

    Sized so that a burst of 10,000 transfers from 100 senders, spread over the
    validators, is accepted whole (see docs/operations.md, "Pool sizing").
    """

    max_txs: int = 20_000
    max_bytes: int = 32 * 1024 * 1024
    max_per_sender: int = 128  # queued (future-nonce) transactions a sender may hold beyond its pending run
    max_queued: int = 10_000  # queued transactions of all senders together
    decode_workers: int = 0  # processes decoding and recovering senders; 0: one per core but one, at most 4


@dataclass(frozen=True)
class PrivvalSettings:
    """Where the validator key is: this home's key file, or a remote signer that dials ``laddr``."""

    laddr: Address | None = None  # set from "tcp://HOST:PORT": the node listens there for its signer
    signer_id: str | None = None  # node id of the signer's identity key; no other identity is accepted
    validator_pub_key: bytes | None = None  # the consensus key the signer must hold
    timeout_ms: int = 3000  # longest wait for one answer of the signer


@dataclass(frozen=True)
class MetricsSettings:
    """The Prometheus endpoint (``/metrics``, with ``/health`` and ``/ready``): off unless enabled."""

    enabled: bool = False
    addr: Address = Address("127.0.0.1", 26660)


LOG_FORMATS = ("text", "json")


@dataclass(frozen=True)
class LogSettings:
    """Log line format and an optional log file, rotated by size."""

    format: str = "text"
    file: str | None = None  # a path (relative paths are under the node home)
    file_max_bytes: int = 100 * 1024 * 1024
    file_backups: int = 5


@dataclass(frozen=True)
class IpfsSettings:
    """The IPFS node `cmnode ipfs` adds files to and fetches them from: its Kubo RPC API URL."""

    api: str = DEFAULT_API_URL


@dataclass(frozen=True)
class NodeConfig:
    """All node settings."""

    moniker: str = "cmnode"
    log_level: str = "info"
    p2p: P2PSettings = field(default_factory=P2PSettings)
    rpc: RPCSettings = field(default_factory=RPCSettings)
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    mempool: MempoolSettings = field(default_factory=MempoolSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    sync: SyncSettings = field(default_factory=SyncSettings)
    privval: PrivvalSettings = field(default_factory=PrivvalSettings)
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    logs: LogSettings = field(default_factory=LogSettings)
    ipfs: IpfsSettings = field(default_factory=IpfsSettings)


#: Milliseconds between blocks: ``consensus.block_interval_ms`` and ``cmnode start --block-interval``.
BLOCK_INTERVAL_MS = (50, 600_000)
#: Bounds of the integer settings, by key (the same key has the same bounds in every section).
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "block_interval_ms": BLOCK_INTERVAL_MS,
    "max_body_bytes": (1, 256 * 1024 * 1024),
    "max_batch_size": (1, 10_000),
    "max_log_block_range": (1, 1_000_000),
    "max_ws_connections": (1, 10_000),
    "call_timeout_ms": (100, 600_000),
    "max_pending_reads": (1, 1_000_000),
    "max_inbound_peers": (1, 1_000),
    "max_outbound_peers": (1, 1_000),
    "max_txs": (1, 1_000_000),
    "max_bytes": (1, 4 * 1024 * 1024 * 1024),
    "max_per_sender": (1, 100_000),
    "max_queued": (1, 1_000_000),
    "decode_workers": (0, 256),
    "max_attempts": (1, 100),
    "initial_backoff_ms": (1, 3_600_000),
    "max_backoff_ms": (1, 86_400_000),
    "max_concurrency": (1, 1_000),
    "timeout_seconds": (1, 3_600),
    "max_pending": (1, 10_000_000),
    "max_dead_letters": (1, 10_000_000),
    "window_seconds": (1, 86_400),
    "replay_cache_size": (1, 10_000_000),
    "log_file_max_bytes": (64 * 1024, 2**40),
    "log_file_backups": (0, 1_000),
}
#: Bounds of an integer setting not listed in ``INTEGER_RANGES``.
DEFAULT_INTEGER_RANGE = (1, 2**31 - 1)
#: Largest ``config.toml`` read.
MAX_CONFIG_BYTES = 1024 * 1024


def _take(section: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    if key not in section:
        return default
    value = section.pop(key)
    low, high = INTEGER_RANGES.get(key, DEFAULT_INTEGER_RANGE)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
        raise ConfigError(f"{where}.{key}: must be an integer in {low}..{high}, got {value!r}")
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


def _list_of_tables(section: dict[str, Any], key: str, where: str) -> list[Any]:
    value = section.pop(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}.{key}: must be a list of tables")
    return value


def _subsection(section: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = section.pop(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}.{key}: must be a table")
    return dict(value)


def _webhook_callers(inbound: dict[str, Any], where: str) -> tuple[Caller, ...]:
    callers: list[Caller] = []
    for index, item in enumerate(_list_of_tables(inbound, "callers", where)):
        here = f"{where}.callers[{index}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{here}: must be a table")
        item = dict(item)
        name = item.pop("name", None)
        if not isinstance(name, str) or not ID_PATTERN.match(name):
            raise ConfigError(f"{here}.name: expected 1-64 characters of A-Z a-z 0-9 _ . -, got {name!r}")
        if any(caller.name == name for caller in callers):
            raise ConfigError(f"{here}.name: duplicate caller {name!r}")
        try:
            secret = parse_secret(item.pop("secret", None), f"{here}.secret")
        except SubscriptionError as exc:
            raise ConfigError(str(exc)) from None
        allowed: list[AllowedCall] = []
        for j, call in enumerate(_list_of_tables(item, "allowed", here)):
            spot = f"{here}.allowed[{j}]"
            contract = call.get("contract") if isinstance(call, dict) else None
            method = call.get("method") if isinstance(call, dict) else None
            if not isinstance(call, dict) or set(call) != {"contract", "method"}:
                raise ConfigError(f"{spot}: expected {{contract = \"0x...\", method = \"name(types)\"}}")
            if not isinstance(contract, str) or len(contract) != 42 or not contract.startswith("0x"):
                raise ConfigError(f"{spot}.contract: expected a 0x-prefixed 20-byte hex address, got {contract!r}")
            try:
                address = bytes.fromhex(contract[2:])
                method_types(method)
            except ValueError:
                raise ConfigError(f"{spot}.contract: expected a 0x-prefixed 20-byte hex address, got {contract!r}") from None
            except ArgumentError as exc:
                raise ConfigError(f"{spot}.method: {exc}") from None
            allowed.append(AllowedCall(address, method))
        _no_leftovers(item, here)
        callers.append(Caller(name, secret, tuple(allowed)))
    return tuple(callers)


def _webhook_settings(webhooks: dict[str, Any], where: str) -> WebhookSettings:
    """The ``[webhooks]`` section: subscriptions, delivery, ``[webhooks.inbound]`` and ``admin_rpc``."""
    subscriptions = []
    for index, item in enumerate(_list_of_tables(webhooks, "subscriptions", where)):
        try:
            subscription = parse_subscription(item, f"{where}.subscriptions[{index}]")
        except SubscriptionError as exc:
            raise ConfigError(str(exc)) from None
        if any(s.id == subscription.id for s in subscriptions):
            raise ConfigError(f"{where}.subscriptions[{index}].id: duplicate subscription {subscription.id!r}")
        subscriptions.append(subscription)
    delivery_where = f"{where}.delivery"
    delivery = _subsection(webhooks, "delivery", where)
    defaults = DeliverySettings()
    retry_defaults = defaults.retry
    initial = _take(delivery, "initial_backoff_ms", int, delivery_where, retry_defaults.initial_delay_ms)
    maximum = _take(delivery, "max_backoff_ms", int, delivery_where, retry_defaults.max_delay_ms)
    if maximum < initial:
        raise ConfigError(f"{delivery_where}.max_backoff_ms: must be at least initial_backoff_ms ({initial})")
    delivery_settings = DeliverySettings(
        retry=RetryPolicy(_take(delivery, "max_attempts", int, delivery_where, retry_defaults.max_attempts),
                          initial, maximum),
        max_concurrency=_take(delivery, "max_concurrency", int, delivery_where, defaults.max_concurrency),
        timeout_seconds=_take(delivery, "timeout_seconds", int, delivery_where, defaults.timeout_seconds),
        max_pending=_take(delivery, "max_pending", int, delivery_where, defaults.max_pending),
        max_dead_letters=_take(delivery, "max_dead_letters", int, delivery_where, defaults.max_dead_letters),
    )
    _no_leftovers(delivery, delivery_where)
    inbound_where = f"{where}.inbound"
    inbound = _subsection(webhooks, "inbound", where)
    inbound_defaults = InboundSettings()
    addr = Address.parse(_take(inbound, "addr", str, inbound_where,
                               f"{inbound_defaults.host}:{inbound_defaults.port}"), f"{inbound_where}.addr")
    inbound_settings = InboundSettings(
        enabled=_take(inbound, "enabled", bool, inbound_where, inbound_defaults.enabled),
        host=addr.host,
        port=addr.port,
        callers=_webhook_callers(inbound, inbound_where),
        oracle_account=_take(inbound, "oracle_account", str, inbound_where, None),
        password_file=_take(inbound, "password_file", str, inbound_where, None),
        window_seconds=_take(inbound, "window_seconds", int, inbound_where, inbound_defaults.window_seconds),
        replay_cache_size=_take(inbound, "replay_cache_size", int, inbound_where, inbound_defaults.replay_cache_size),
        max_body_bytes=_take(inbound, "max_body_bytes", int, inbound_where, inbound_defaults.max_body_bytes),
    )
    _no_leftovers(inbound, inbound_where)
    oracle = inbound_settings.oracle_account
    if oracle is not None and not re.fullmatch(r"0x[0-9a-fA-F]{40}", oracle):
        raise ConfigError(f"{inbound_where}.oracle_account: expected a 0x-prefixed 20-byte hex address, got {oracle!r}")
    if inbound_settings.enabled and (inbound_settings.oracle_account is None or inbound_settings.password_file is None):
        raise ConfigError(f"{inbound_where}: oracle_account and password_file are required when enabled")
    admin_rpc = _take(webhooks, "admin_rpc", bool, where, False)
    _no_leftovers(webhooks, where)
    return WebhookSettings(tuple(subscriptions), delivery_settings, inbound_settings, admin_rpc)


def _privval_settings(section: dict[str, Any], where: str) -> PrivvalSettings:
    """The ``[privval]`` section: a remote signer's listen address, identity and validator key."""
    laddr = _take(section, "laddr", str, where, None)
    signer_id = _take(section, "signer_id", str, where, None)
    pub_key = _take(section, "validator_pub_key", str, where, None)
    timeout_ms = _take(section, "timeout_ms", int, where, PrivvalSettings().timeout_ms)
    _no_leftovers(section, where)
    if laddr is None:
        if signer_id is not None or pub_key is not None:
            raise ConfigError(f"{where}: signer_id and validator_pub_key need laddr (the remote signer's address)")
        return PrivvalSettings(timeout_ms=timeout_ms)
    scheme, sep, hostport = laddr.partition("://")
    if scheme != "tcp" or not sep:
        raise ConfigError(f"{where}.laddr: expected \"tcp://HOST:PORT\", got {laddr!r}")
    address = Address.parse(hostport, f"{where}.laddr")
    if signer_id is None or not re.fullmatch(r"[0-9a-f]{40}", signer_id):
        raise ConfigError(f"{where}.signer_id: expected the signer's id, 40 lowercase hex digits "
                          f"(`cmnode signer init` prints it), got {signer_id!r}")
    if pub_key is None or not re.fullmatch(r"(0x)?[0-9a-fA-F]{64}", pub_key):
        raise ConfigError(f"{where}.validator_pub_key: expected the validator's 32-byte public key in hex "
                          f"(`cmnode signer init` prints it), got {pub_key!r}")
    return PrivvalSettings(address, signer_id, bytes.fromhex(pub_key.removeprefix("0x")), timeout_ms)


def parse_config(data: dict[str, Any], source: str = "config.toml") -> NodeConfig:
    """Build a ``NodeConfig`` from parsed TOML, raising ``ConfigError`` with the offending key."""
    data = dict(data)
    node = _section(data, "node", source)
    rpc = _section(data, "rpc", source)
    p2p = _section(data, "p2p", source)
    consensus = _section(data, "consensus", source)
    mempool = _section(data, "mempool", source)
    webhooks = _section(data, "webhooks", source)
    sync = _section(data, "sync", source)
    privval = _section(data, "privval", source)
    metrics = _section(data, "metrics", source)
    ipfs = _section(data, "ipfs", source)
    _no_leftovers(data, source)
    where = f"{source}: node"
    moniker = _take(node, "moniker", str, where, "cmnode")
    log_level = _take(node, "log_level", str, where, "info")
    parse_log_levels(log_level, f"{where}.log_level")
    log_defaults = LogSettings()
    log_settings = LogSettings(
        format=_take(node, "log_format", str, where, log_defaults.format),
        file=_take(node, "log_file", str, where, None) or None,
        file_max_bytes=_take(node, "log_file_max_bytes", int, where, log_defaults.file_max_bytes),
        file_backups=_take(node, "log_file_backups", int, where, log_defaults.file_backups),
    )
    if log_settings.format not in LOG_FORMATS:
        raise ConfigError(f"{where}.log_format: one of {', '.join(LOG_FORMATS)}, got {log_settings.format!r}")
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
        call_timeout_ms=_take(rpc, "call_timeout_ms", int, where, defaults.call_timeout_ms),
        max_pending_reads=_take(rpc, "max_pending_reads", int, where, defaults.max_pending_reads),
        explorer=_take(rpc, "explorer", bool, where, defaults.explorer),
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
        max_queued=_take(mempool, "max_queued", int, where, mempool_defaults.max_queued),
        decode_workers=_take(mempool, "decode_workers", int, where, mempool_defaults.decode_workers),
    )
    _no_leftovers(mempool, where)
    webhook_settings = _webhook_settings(webhooks, f"{source}: webhooks")
    where = f"{source}: sync"
    mode = _take(sync, "mode", str, where, SyncSettings().mode)
    if mode not in SYNC_MODES:
        raise ConfigError(f"{where}.mode: one of {', '.join(SYNC_MODES)}, got {mode!r}")
    _no_leftovers(sync, where)
    privval_settings = _privval_settings(privval, f"{source}: privval")
    where = f"{source}: metrics"
    metrics_defaults = MetricsSettings()
    metrics_settings = MetricsSettings(
        enabled=_take(metrics, "enabled", bool, where, metrics_defaults.enabled),
        addr=Address.parse(_take(metrics, "addr", str, where, str(metrics_defaults.addr)), f"{where}.addr"),
    )
    _no_leftovers(metrics, where)
    where = f"{source}: ipfs"
    try:
        ipfs_settings = IpfsSettings(check_api_url(_take(ipfs, "api", str, where, DEFAULT_API_URL)))
    except IpfsError as exc:
        raise ConfigError(f"{where}.api: {exc}") from None
    _no_leftovers(ipfs, where)
    return NodeConfig(moniker, log_level, p2p_settings, rpc_settings, consensus_settings, mempool_settings,
                      webhook_settings, SyncSettings(mode), privval_settings, metrics_settings, log_settings,
                      ipfs_settings)


def load_config(path: Path) -> NodeConfig:
    """Read and validate ``config.toml`` (at most ``MAX_CONFIG_BYTES`` of UTF-8 TOML)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (run `cmnode init` first)") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return parse_config(parse_toml(raw, path.name), path.name)


def parse_toml(raw: bytes, source: str = "config.toml") -> dict[str, Any]:
    """The TOML document in ``raw``, bounded in size, nesting and key length; ``ConfigError`` naming ``source``."""
    if len(raw) > MAX_CONFIG_BYTES:
        raise ConfigError(f"{source}: larger than {MAX_CONFIG_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    check_toml_bounds(text, source)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source}: invalid TOML: {exc}") from None


def _subscription_to_toml(subscription: Subscription) -> dict[str, Any]:
    """A ``[[webhooks.subscriptions]]`` table (``"*"`` marks a wildcard topic position)."""
    table: dict[str, Any] = {"id": subscription.id, "url": subscription.url, "secret": subscription.secret.decode()}
    if subscription.addresses:
        table["addresses"] = ["0x" + a.hex() for a in subscription.addresses]
    if subscription.topics:
        table["topics"] = [WILDCARD_TOPIC if t is None else ["0x" + x.hex() for x in t] for t in subscription.topics]
    return table


def _webhooks_to_toml(webhooks: WebhookSettings) -> dict[str, Any]:
    """The ``[webhooks]`` table of ``webhooks``."""
    delivery, inbound = webhooks.delivery, webhooks.inbound
    inbound_table: dict[str, Any] = {
        "enabled": inbound.enabled,
        "addr": str(Address(inbound.host, inbound.port)),
        "window_seconds": inbound.window_seconds,
        "replay_cache_size": inbound.replay_cache_size,
        "max_body_bytes": inbound.max_body_bytes,
        "callers": [
            {"name": caller.name, "secret": caller.secret.decode(),
             "allowed": [{"contract": "0x" + a.contract.hex(), "method": a.method} for a in caller.allowed]}
            for caller in inbound.callers
        ],
    }
    if inbound.oracle_account is not None:
        inbound_table["oracle_account"] = inbound.oracle_account
    if inbound.password_file is not None:
        inbound_table["password_file"] = inbound.password_file
    return {
        "admin_rpc": webhooks.admin_rpc,
        "subscriptions": [_subscription_to_toml(s) for s in webhooks.subscriptions],
        "delivery": {
            "max_attempts": delivery.retry.max_attempts,
            "initial_backoff_ms": delivery.retry.initial_delay_ms,
            "max_backoff_ms": delivery.retry.max_delay_ms,
            "max_concurrency": delivery.max_concurrency,
            "timeout_seconds": delivery.timeout_seconds,
            "max_pending": delivery.max_pending,
            "max_dead_letters": delivery.max_dead_letters,
        },
        "inbound": inbound_table,
    }


def config_to_toml(config: NodeConfig) -> str:
    """The TOML text of ``config`` (every setting spelled out)."""
    data: dict[str, Any] = {
        "node": {"moniker": config.moniker, "log_level": config.log_level, "log_format": config.logs.format,
                 **({"log_file": config.logs.file} if config.logs.file else {}),
                 "log_file_max_bytes": config.logs.file_max_bytes, "log_file_backups": config.logs.file_backups},
        "rpc": {
            "enabled": config.rpc.enabled,
            "addr": str(config.rpc.addr),
            "max_body_bytes": config.rpc.max_body_bytes,
            "max_batch_size": config.rpc.max_batch_size,
            "max_log_block_range": config.rpc.max_log_block_range,
            "max_ws_connections": config.rpc.max_ws_connections,
            "cors_origins": list(config.rpc.cors_origins),
            "call_timeout_ms": config.rpc.call_timeout_ms,
            "max_pending_reads": config.rpc.max_pending_reads,
            **({"explorer": config.rpc.explorer} if config.rpc.explorer is not None else {}),
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
            "max_queued": config.mempool.max_queued,
            "decode_workers": config.mempool.decode_workers,
        },
        "metrics": {"enabled": config.metrics.enabled, "addr": str(config.metrics.addr)},
    }
    if config.sync != SyncSettings():  # written only when it differs from the default (fast)
        data["sync"] = {"mode": config.sync.mode}
    if config.ipfs != IpfsSettings():  # written only when it differs from the local Kubo API
        data["ipfs"] = {"api": config.ipfs.api}
    if config.privval.laddr is not None and config.privval.validator_pub_key is not None:  # a remote signer
        data["privval"] = {"laddr": f"tcp://{config.privval.laddr}", "signer_id": config.privval.signer_id,
                           "validator_pub_key": config.privval.validator_pub_key.hex(),
                           "timeout_ms": config.privval.timeout_ms}
    if config.webhooks != WebhookSettings():  # off by default: written only when configured
        data["webhooks"] = _webhooks_to_toml(config.webhooks)
    if config.consensus.block_interval_ms is not None:
        data["consensus"]["block_interval_ms"] = config.consensus.block_interval_ms
    if config.consensus.create_empty_blocks is not None:
        data["consensus"]["create_empty_blocks"] = config.consensus.create_empty_blocks
    return tomli_w.dumps(data)
