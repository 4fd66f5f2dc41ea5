"""Node settings: ``config.toml`` in the node home, validated with precise errors.

Every section and key is optional; what is missing takes the default shown by
``config_to_toml(NodeConfig())``. Unknown keys are errors, so a typo never silently
falls back to a default. The sections are the packages' own config types
(``RPCConfig``, ``P2PConfig``, ``MempoolConfig``) inside the node's, read by the
declarative schema of ``configschema``; ``CMNODE_SECTION__KEY`` environment
variables override the file.
"""
from __future__ import annotations

import copy
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from cybermiles_node.configschema import DEFAULT_INTEGER_RANGE, parse_root, render_root
from cybermiles_node.errors import ConfigError
from cybermiles_node.ipfs.client import DEFAULT_API_URL, check_api_url
from cybermiles_node.ipfs.errors import IpfsError
from cybermiles_node.logs import parse_log_levels
from cybermiles_node.mempool.config import MempoolConfig
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
from p2p.config import P2PConfig
from rpc.config import RPCConfig

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
class RPCSection:
    """``[rpc]``: where the JSON-RPC server listens, the node's read limits, and the server's own
    bounds (``rpc.config.RPCConfig``, whose settings sit in the same table)."""

    enabled: bool = True
    addr: Address = Address("127.0.0.1", 8545)
    # eth_call / eth_estimateGas stop after this long (geth's --rpc.evmtimeout)
    call_timeout_ms: int = field(default=5_000, metadata={"range": (100, 600_000)})
    # RPC reads queued or running at once; beyond it -32005 "node busy"
    max_pending_reads: int = field(default=1_024, metadata={"range": (1, 1_000_000)})
    explorer: bool | None = None  # the explorer page at /explorer; None: on for --dev only
    server: RPCConfig = field(default_factory=RPCConfig, metadata={"flatten": True})

    def serves_explorer(self, dev: bool) -> bool:
        """Whether the RPC port serves the explorer: ``explorer`` when set, else only on a development chain."""
        return self.explorer if self.explorer is not None else dev


def _peer_list(value: Any, where: str) -> tuple[str, ...]:
    """A list of ``nodeid@host:port`` peer addresses (40 hex digits of node id)."""
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list of \"nodeid@host:port\" strings")
    for index, item in enumerate(value):
        node_id, at, address = item.partition("@") if isinstance(item, str) else ("", "", "")
        if not at or len(node_id) != 40 or any(c not in "0123456789abcdef" for c in node_id):
            raise ConfigError(f"{where}[{index}]: expected \"nodeid@host:port\" with a 40-hex-digit node id, got {item!r}")
        Address.parse(address, f"{where}[{index}]")
    return tuple(value)


@dataclass(frozen=True)
class P2PSection:
    """``[p2p]``: where to listen and whom to dial, and the p2p layer's own limits
    (``p2p.config.P2PConfig``, whose settings sit in the same table)."""

    addr: Address = Address("0.0.0.0", 26656)
    # "nodeid@host:port", dialed and redialed forever
    persistent_peers: tuple[str, ...] = field(default=(), metadata={"parse": _peer_list})
    # "nodeid@host:port", asked for more peers
    seeds: tuple[str, ...] = field(default=(), metadata={"parse": _peer_list})
    transport: P2PConfig = field(default_factory=P2PConfig, metadata={"flatten": True})

    def __post_init__(self) -> None:
        self.transport.validate()


#: Milliseconds between blocks: ``consensus.block_interval_ms`` and ``cmnode start --block-interval``.
BLOCK_INTERVAL_MS = (50, 600_000)


@dataclass(frozen=True)
class ConsensusSettings:
    """Block production settings (defaults come from the genesis document)."""

    block_interval_ms: int | None = field(default=None, metadata={"range": BLOCK_INTERVAL_MS})
    create_empty_blocks: bool | None = None


SYNC_MODES = ("fast", "full")


@dataclass(frozen=True)
class SyncSettings:
    """How a new node catches up: "fast" (verified blocks and receipts, then the state at a pivot) or "full"."""

    mode: str = field(default="fast", metadata={"choices": SYNC_MODES})


@dataclass(frozen=True)
class MempoolSection:
    """``[mempool]``: the pool's bounds (``cybermiles_node.mempool.config.MempoolConfig``, whose settings
    sit in this table) and the worker processes that decode transactions for it."""

    # processes decoding and recovering senders; 0: one per core but one, at least 1, at most 4
    decode_workers: int = field(default=0, metadata={"range": (0, 256)})
    pool: MempoolConfig = field(default_factory=MempoolConfig, metadata={"flatten": True})


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


def _log_file(value: Any, where: str) -> str | None:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string, got {value!r}")
    return value or None


@dataclass(frozen=True)
class LogSettings:
    """Log line format and an optional log file, rotated by size (``[node] log_*``)."""

    format: str = field(default="text", metadata={"toml": "log_format", "choices": LOG_FORMATS})
    # a path (relative paths are under the node home)
    file: str | None = field(default=None, metadata={"toml": "log_file", "parse": _log_file})
    file_max_bytes: int = field(default=100 * 1024 * 1024,
                                metadata={"toml": "log_file_max_bytes", "range": (64 * 1024, 2**40)})
    file_backups: int = field(default=5, metadata={"toml": "log_file_backups", "range": (0, 1_000)})


def _ipfs_api(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string, got {value!r}")
    try:
        return check_api_url(value)
    except IpfsError as exc:
        raise ConfigError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class IpfsSettings:
    """The IPFS node `cmnode ipfs` adds files to and fetches them from: its Kubo RPC API URL."""

    api: str = field(default=DEFAULT_API_URL, metadata={"parse": _ipfs_api})


def _log_level(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{where}: must be a string, got {value!r}")
    parse_log_levels(value, where)
    return value


#: Bounds of the integer settings of ``[webhooks]`` and ``[privval]``, whose shapes are read by hand.
_WEBHOOK_RANGES: dict[str, tuple[int, int]] = {
    "max_attempts": (1, 100),
    "initial_backoff_ms": (1, 3_600_000),
    "max_backoff_ms": (1, 86_400_000),
    "max_concurrency": (1, 1_000),
    "timeout_seconds": (1, 3_600),
    "max_pending": (1, 10_000_000),
    "max_dead_letters": (1, 10_000_000),
    "window_seconds": (1, 86_400),
    "replay_cache_size": (1, 10_000_000),
    "max_body_bytes": (1, 256 * 1024 * 1024),
}


def _take(section: dict[str, Any], key: str, kind: type, where: str, default: Any) -> Any:
    if key not in section:
        return default
    value = section.pop(key)
    low, high = _WEBHOOK_RANGES.get(key, DEFAULT_INTEGER_RANGE)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high):
        raise ConfigError(f"{where}.{key}: must be an integer in {low}..{high}, got {value!r}")
    if kind is bool and not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be true or false, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{where}.{key}: must be a string, got {value!r}")
    return value


def _no_leftovers(section: dict[str, Any], where: str) -> None:
    if section:
        raise ConfigError(f"{where}: unknown setting {sorted(section)[0]!r}")


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


def _privval_to_toml(privval: PrivvalSettings) -> dict[str, Any]:
    """The ``[privval]`` table: the remote signer's address, identity and key, and the answer timeout."""
    table: dict[str, Any] = {"timeout_ms": privval.timeout_ms}
    if privval.laddr is not None and privval.validator_pub_key is not None:
        table.update({"laddr": f"tcp://{privval.laddr}", "signer_id": privval.signer_id,
                      "validator_pub_key": privval.validator_pub_key.hex()})
    return table


@dataclass(frozen=True)
class NodeConfig:
    """All node settings: one field per section of ``config.toml`` (``[node]`` holds three)."""

    moniker: str = field(default="cmnode", metadata={"section": "node"})
    log_level: str = field(default="info", metadata={"section": "node", "parse": _log_level})
    p2p: P2PSection = field(default_factory=P2PSection)
    rpc: RPCSection = field(default_factory=RPCSection)
    consensus: ConsensusSettings = field(default_factory=ConsensusSettings)
    mempool: MempoolSection = field(default_factory=MempoolSection)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings, metadata={
        "parse": _webhook_settings, "render": _webhooks_to_toml, "omit_default": True})
    sync: SyncSettings = field(default_factory=SyncSettings, metadata={"omit_default": True})
    privval: PrivvalSettings = field(default_factory=PrivvalSettings, metadata={
        "parse": _privval_settings, "render": _privval_to_toml, "omit_default": True})
    metrics: MetricsSettings = field(default_factory=MetricsSettings)
    logs: LogSettings = field(default_factory=LogSettings, metadata={"section": "node", "flatten": True})
    ipfs: IpfsSettings = field(default_factory=IpfsSettings, metadata={"omit_default": True})


#: Largest ``config.toml`` read.
MAX_CONFIG_BYTES = 1024 * 1024
#: Environment variables ``CMNODE_<SECTION>__<KEY>`` (``__`` between levels) override ``config.toml``.
ENV_PREFIX = "CMNODE_"
ENV_SEPARATOR = "__"


def parse_config(data: dict[str, Any], source: str = "config.toml") -> NodeConfig:
    """Build a ``NodeConfig`` from parsed TOML, raising ``ConfigError`` with the offending key."""
    config: NodeConfig = parse_root(NodeConfig, data, source)
    return config


@dataclass(frozen=True)
class Override:
    """One environment variable that overrides a setting: its name, the setting's path and the value."""

    variable: str
    path: tuple[str, ...]
    value: Any


def environment_overrides(environ: Mapping[str, str]) -> list[Override]:
    """The ``CMNODE_SECTION__KEY`` variables of ``environ``, values read as TOML (else as plain strings)."""
    overrides = []
    for variable in sorted(environ):
        if not variable.startswith(ENV_PREFIX) or ENV_SEPARATOR not in variable:
            continue
        path = tuple(part.lower() for part in variable[len(ENV_PREFIX):].split(ENV_SEPARATOR))
        if not all(path):
            raise ConfigError(f"{variable}: expected CMNODE_SECTION__KEY")
        text = environ[variable]
        if len(text) > MAX_CONFIG_BYTES:
            raise ConfigError(f"{variable}: longer than {MAX_CONFIG_BYTES} characters")
        document = f"value = {text}"
        check_toml_bounds(document, variable)
        try:
            value = tomllib.loads(document)["value"]
        except tomllib.TOMLDecodeError:
            value = text
        overrides.append(Override(variable, path, value))
    return overrides


def _with_overrides(data: dict[str, Any], overrides: list[Override]) -> dict[str, Any]:
    """A copy of ``data`` with each override's value set at its path."""
    merged = copy.deepcopy(data)
    for override in overrides:
        table = merged
        for part in override.path[:-1]:
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                raise ConfigError(f"{override.variable}: {'.'.join(override.path[:-1])} is not a table")
        table[override.path[-1]] = override.value
    return merged


def _blame(error: ConfigError, source: str, overrides: list[Override]) -> ConfigError:
    """``error`` re-worded to name the environment variable it comes from, when it does."""
    message = str(error)
    for override in overrides:
        dotted = ".".join(override.path)
        parent, key = ".".join(override.path[:-1]), override.path[-1]
        if (message.startswith(f"{source}: {dotted}:") or message.startswith(f"{source}: {dotted}[")
                or message == f"{source}: {parent}: unknown setting {key!r}"
                or message == f"{source}: unknown setting {override.path[0]!r}"):
            return ConfigError(f"{override.variable}: {message.removeprefix(f'{source}: ')}")
    return error


def setting_paths(table: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The paths of the settings (non-table values) in a TOML table."""
    paths: set[tuple[str, ...]] = set()
    for key, value in table.items():
        if isinstance(value, dict):
            paths |= setting_paths(value, (*prefix, key))
        else:
            paths.add((*prefix, key))
    return paths


@dataclass(frozen=True)
class LoadedConfig:
    """The effective configuration and where each setting it was given comes from."""

    config: NodeConfig
    sources: dict[tuple[str, ...], str]  # setting path -> "config.toml" or "env CMNODE_..."; absent: default


def load_config_sources(path: Path, environ: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read and validate ``config.toml`` (at most ``MAX_CONFIG_BYTES`` of UTF-8 TOML), then apply the
    ``CMNODE_SECTION__KEY`` variables of ``environ`` (default: this process's environment)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: not found (run `cmnode init` first)") from exc
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    data = parse_toml(raw, path.name)
    overrides = environment_overrides(os.environ if environ is None else environ)
    sources = {setting: path.name for setting in setting_paths(data)}
    sources.update({override.path: f"env {override.variable}" for override in overrides})
    try:
        config = parse_config(_with_overrides(data, overrides), path.name)
    except ConfigError as exc:
        raise _blame(exc, path.name, overrides) from None
    return LoadedConfig(config, sources)


def load_config(path: Path, environ: Mapping[str, str] | None = None) -> NodeConfig:
    """The configuration of ``config.toml`` with the environment's overrides (see ``load_config_sources``)."""
    return load_config_sources(path, environ).config


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


def config_to_toml(config: NodeConfig) -> str:
    """The TOML text of ``config`` (every setting spelled out; optional sections only when set)."""
    return tomli_w.dumps(render_root(config))
