"""The ``IOracle`` native contract: m-of-n attested answers (interface: ``IOracle.sol``).

A contract defines an *oracle set*: explicit accounts with a threshold ``m``
(``defineSet``), or the elected validators' owner accounts with ``m`` as a fraction
(``defineValidatorSet``: ``m = ceil(n * numerator / denominator)``, resolved when a
request is made and recorded with it). ``request`` asks the set a question (topic,
payload) with a deadline in block time and a bound on the answer's size, and emits
``OracleRequested`` with the members asked. Each member answers with ``attest``, a
transaction of its own account: one attestation per member; the value is accepted
(``Resolved``) once ``m`` members attested the same bytes; other values are recorded
as they come (``Attested`` carries each value's hash). After the deadline the request
is timed out: ``attest`` is refused, views report ``TIMED_OUT`` at once, and anyone
may record it with ``expire`` (emitting ``RequestTimedOut``). A requesting contract
reads ``result(id)``: ``(status, value)``.

Gas: each method's base cost below plus the framework's storage and event schedule;
``benchmarks/oracle_gas.py`` measures every call (``benchmarks/README.md``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

from eth_hash.auto import keccak

from middleware.oracle.records import (
    EXPLICIT,
    PENDING,
    REQUEST_COUNT_SLOT,
    RESOLVED,
    SET_COUNT_SLOT,
    TIMED_OUT,
    VALIDATORS,
    OracleRequest,
    OracleSet,
    OracleStore,
)
from vm.errors import NativeContractError
from vm.native.addresses import ORACLE_ADDRESS
from vm.native.framework import CallContext, NativeContract, method

MAX_MEMBERS = 32
MAX_TOPIC_BYTES = 64
MAX_PAYLOAD_BYTES = 4_096
MAX_RESPONSE_BYTES = 1_024
MAX_WINDOW_SECONDS = 7 * 24 * 3600
DEFINE_GAS = 10_000
REQUEST_GAS = 10_000
ATTEST_GAS = 5_000
EXPIRE_GAS = 2_000
VIEW_GAS = 200

SET_DEFINED = "OracleSetDefined(uint256,address,bool,uint256,uint256,uint256)"
REQUESTED = "OracleRequested(uint256,uint256,address,string,bytes,uint64,uint32,uint256,address[])"
ATTESTED = "Attested(uint256,address,bytes32,bytes)"
RESOLVED_EVENT = "Resolved(uint256,bytes32,bytes,address[])"
TIMED_OUT_EVENT = "RequestTimedOut(uint256,uint64)"
REQUESTED_TOPIC = keccak(REQUESTED.encode())

#: The owner accounts of the elected validators, read from the staking contract (given by the node).
ValidatorOwners = Callable[[CallContext], Sequence[bytes]]


def _fail(message: str) -> NativeContractError:
    return NativeContractError(f"Oracle: {message}")


def _hex(address: bytes) -> str:
    return "0x" + address.hex()


def fraction_threshold(members: int, numerator: int, denominator: int) -> int:
    """``ceil(members * numerator / denominator)``, at least 1: the agreeing members a validator set needs."""
    return max(1, -(-members * numerator // denominator))


class OracleContract(NativeContract):
    """Oracle sets, requests and attestations (interface: ``IOracle.sol``)."""

    address = ORACLE_ADDRESS
    name = "Oracle"

    def __init__(self, validator_owners: ValidatorOwners) -> None:
        self._validator_owners = validator_owners

    # -- oracle sets -------------------------------------------------------------------

    @method("defineSet(address[],uint256)", returns=["uint256"], gas=DEFINE_GAS)
    def define_set(self, ctx: CallContext, members: Sequence[str], threshold: int) -> int:
        """Define a set of explicit oracle accounts of which ``threshold`` must agree; returns its id."""
        accounts = [bytes.fromhex(member[2:]) for member in members]
        if not 0 < len(accounts) <= MAX_MEMBERS:
            raise _fail(f"a set has 1 to {MAX_MEMBERS} members, got {len(accounts)}")
        for index, account in enumerate(accounts):
            if account == b"\x00" * 20:
                raise _fail(f"member {index} is the zero address")
            if account in accounts[:index]:
                raise _fail(f"member {index} ({_hex(account)}) is listed twice")
        if not 0 < threshold <= len(accounts):
            raise _fail(f"threshold must be 1 to {len(accounts)} (the number of members), got {threshold}")
        return self._define(ctx, OracleSet(ctx.sender, EXPLICIT, tuple(accounts), threshold, 0, 0))

    @method("defineValidatorSet(uint256,uint256)", returns=["uint256"], gas=DEFINE_GAS)
    def define_validator_set(self, ctx: CallContext, numerator: int, denominator: int) -> int:
        """Define the elected validators as a set: ``ceil(n * numerator / denominator)`` must agree."""
        if not 0 < denominator <= 10_000 or not 0 < numerator <= denominator:
            raise _fail(f"fraction must satisfy 0 < numerator <= denominator <= 10000, got {numerator}/{denominator}")
        return self._define(ctx, OracleSet(ctx.sender, VALIDATORS, (), 0, numerator, denominator))

    def _define(self, ctx: CallContext, oracle_set: OracleSet) -> int:
        store = OracleStore(ctx)
        set_id = store.next_id(SET_COUNT_SLOT)
        store.put_set(set_id, oracle_set)
        ctx.emit(SET_DEFINED, indexed=[("uint256", set_id), ("address", ctx.sender)], data=[
            ("bool", oracle_set.kind == VALIDATORS), ("uint256", oracle_set.threshold),
            ("uint256", oracle_set.numerator), ("uint256", oracle_set.denominator),
        ])
        return set_id

    @method("getSet(uint256)", returns=["address", "bool", "address[]", "uint256", "uint256", "uint256"],
            gas=VIEW_GAS, view=True)
    def get_set(self, ctx: CallContext, set_id: int) -> tuple[str, bool, list[str], int, int, int]:
        """Owner, whether it is the elected validators, members and threshold (explicit) or the fraction."""
        oracle_set = self._set(OracleStore(ctx), set_id)
        return (_hex(oracle_set.owner), oracle_set.kind == VALIDATORS, [_hex(m) for m in oracle_set.members],
                oracle_set.threshold, oracle_set.numerator, oracle_set.denominator)

    @method("setCount()", returns=["uint256"], gas=VIEW_GAS, view=True)
    def set_count(self, ctx: CallContext) -> int:
        """Number of oracle sets defined so far."""
        return OracleStore(ctx).count(SET_COUNT_SLOT)

    @staticmethod
    def _set(store: OracleStore, set_id: int) -> OracleSet:
        oracle_set = store.get_set(set_id)
        if oracle_set is None:
            raise _fail(f"no oracle set {set_id}")
        return oracle_set

    # -- requests ----------------------------------------------------------------------

    @method("request(uint256,string,bytes,uint64,uint32)", returns=["uint256"], gas=REQUEST_GAS)
    def request(self, ctx: CallContext, set_id: int, topic: str, payload: bytes, deadline: int,
                max_response_bytes: int) -> int:
        """Ask the set ``set_id`` for an answer by block time ``deadline``; returns the request id."""
        encoded = topic.encode()
        if not 0 < len(encoded) <= MAX_TOPIC_BYTES or not all(32 < byte < 127 for byte in encoded):
            raise _fail(f"topic must be 1 to {MAX_TOPIC_BYTES} printable ASCII characters without spaces")
        if len(payload) > MAX_PAYLOAD_BYTES:
            raise _fail(f"payload too large ({len(payload)} bytes, limit {MAX_PAYLOAD_BYTES})")
        if not ctx.timestamp < deadline <= ctx.timestamp + MAX_WINDOW_SECONDS:
            raise _fail(f"deadline {deadline} must be after block time {ctx.timestamp} "
                        f"and at most {MAX_WINDOW_SECONDS} s later")
        if not 0 < max_response_bytes <= MAX_RESPONSE_BYTES:
            raise _fail(f"maxResponseBytes must be 1 to {MAX_RESPONSE_BYTES}, got {max_response_bytes}")
        store = OracleStore(ctx)
        oracle_set = self._set(store, set_id)
        members, threshold = oracle_set.members, oracle_set.threshold
        if oracle_set.kind == VALIDATORS:
            members = tuple(self._validator_owners(ctx))[:MAX_MEMBERS]
            if not members:
                raise _fail("there are no elected validators")
            threshold = fraction_threshold(len(members), oracle_set.numerator, oracle_set.denominator)
        request_id = store.next_id(REQUEST_COUNT_SLOT)
        store.put_request(request_id, OracleRequest(set_id, ctx.sender, members, threshold, deadline,
                                                    max_response_bytes))
        ctx.emit(REQUESTED, indexed=[("uint256", request_id), ("uint256", set_id), ("address", ctx.sender)], data=[
            ("string", topic), ("bytes", payload), ("uint64", deadline), ("uint32", max_response_bytes),
            ("uint256", threshold), ("address[]", [_hex(m) for m in members]),
        ])
        return request_id

    @method("attest(uint256,bytes)", returns=["bool"], gas=ATTEST_GAS)
    def attest(self, ctx: CallContext, request_id: int, value: bytes) -> bool:
        """Attest ``value`` as the answer to a request (members only, once each); returns whether it resolved."""
        store = OracleStore(ctx)
        request = self._request(store, request_id)
        status = store.status(request_id)
        if status == RESOLVED:
            raise _fail(f"request {request_id} is already resolved")
        if status == TIMED_OUT or ctx.timestamp > request.deadline:
            raise _fail(f"request {request_id} closed at its deadline {request.deadline} (block time {ctx.timestamp})")
        if ctx.sender not in request.members:
            raise _fail(f"{_hex(ctx.sender)} is not an oracle of request {request_id}")
        if store.attestation(request_id, ctx.sender) is not None:
            raise _fail(f"{_hex(ctx.sender)} already attested request {request_id}")
        if not 0 < len(value) <= request.max_response_bytes:
            raise _fail(f"answer of {len(value)} bytes; request {request_id} takes 1 to "
                        f"{request.max_response_bytes} bytes")
        value_hash = keccak(value)
        agreeing = store.add_attestation(request_id, ctx.sender, value_hash)
        ctx.emit(ATTESTED, indexed=[("uint256", request_id), ("address", ctx.sender)],
                 data=[("bytes32", value_hash), ("bytes", value)])
        if agreeing < request.threshold:
            return False
        store.set_status(request_id, RESOLVED)
        store.put_value(request_id, value)
        attesters = [m for m in store.attesters(request_id) if store.attestation(request_id, m) == value_hash]
        ctx.emit(RESOLVED_EVENT, indexed=[("uint256", request_id)],
                 data=[("bytes32", value_hash), ("bytes", value), ("address[]", [_hex(m) for m in attesters])])
        return True

    @method("expire(uint256)", returns=["bool"], gas=EXPIRE_GAS)
    def expire(self, ctx: CallContext, request_id: int) -> bool:
        """Record that a pending request passed its deadline unresolved (anyone may call it)."""
        store = OracleStore(ctx)
        request = self._request(store, request_id)
        status = store.status(request_id)
        if status != PENDING:
            raise _fail(f"request {request_id} is already {'resolved' if status == RESOLVED else 'timed out'}")
        if ctx.timestamp <= request.deadline:
            raise _fail(f"request {request_id} is open until {request.deadline} (block time {ctx.timestamp})")
        store.set_status(request_id, TIMED_OUT)
        ctx.emit(TIMED_OUT_EVENT, indexed=[("uint256", request_id)], data=[("uint64", request.deadline)])
        return True

    @method("result(uint256)", returns=["uint8", "bytes"], gas=VIEW_GAS, view=True)
    def result(self, ctx: CallContext, request_id: int) -> tuple[int, bytes]:
        """Status (1 pending, 2 resolved, 3 timed out) and the resolved value (empty unless resolved)."""
        store = OracleStore(ctx)
        status = self._status(store, self._request(store, request_id), request_id)
        return status, store.value(request_id) if status == RESOLVED else b""

    @method("getRequest(uint256)",
            returns=["(uint256,address,uint8,uint256,uint64,uint32,address[],bytes,address[],bytes32[])"],
            gas=VIEW_GAS, view=True)
    def get_request(self, ctx: CallContext, request_id: int) -> tuple[object, ...]:
        """Everything about a request: set, requester, status, threshold, deadline, bound, members, value and
        every attestation (attesters with the hash of what each attested)."""
        store = OracleStore(ctx)
        request = self._request(store, request_id)
        status = self._status(store, request, request_id)
        attesters = store.attesters(request_id)
        hashes = [store.attestation(request_id, a) or b"" for a in attesters]
        return (request.set_id, _hex(request.requester), status, request.threshold, request.deadline,
                request.max_response_bytes, [_hex(m) for m in request.members],
                store.value(request_id) if status == RESOLVED else b"", [_hex(a) for a in attesters], hashes)

    @method("requestCount()", returns=["uint256"], gas=VIEW_GAS, view=True)
    def request_count(self, ctx: CallContext) -> int:
        """Number of requests made so far."""
        return OracleStore(ctx).count(REQUEST_COUNT_SLOT)

    @staticmethod
    def _request(store: OracleStore, request_id: int) -> OracleRequest:
        request = store.get_request(request_id)
        if request is None:
            raise _fail(f"no request {request_id}")
        return request

    @staticmethod
    def _status(store: OracleStore, request: OracleRequest, request_id: int) -> int:
        """The stored status, with a pending request past its deadline reported as timed out."""
        status = store.status(request_id)
        return TIMED_OUT if status == PENDING and store.context.timestamp > request.deadline else status
