"""The oracle contract's storage: oracle sets, requests, attestations and tallies.

Layout (all in the contract's own account storage):

* slot 0: number of oracle sets defined; slot 1: number of requests made;
* record ``set/<id>`` (RLP): owner, kind (explicit or validators), members, threshold,
  numerator, denominator;
* record ``request/<id>`` (RLP, written once): set id, requester, members, threshold,
  deadline, largest answer in bytes;
* slot ``status[id]``: ``PENDING``, ``RESOLVED`` or ``TIMED_OUT`` (0: no such request);
* slot ``attestation[id][oracle]``: keccak256 of the value the oracle attested (0: none);
* slot ``tally[id][valueHash]``: how many members attested that value;
* slots ``attesters[id]``: the count, then each attester's address in attestation order;
* record ``value/<id>``: the resolved value.
"""
from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from vm.native.framework import CallContext, mapping_slot

SET_COUNT_SLOT = 0
REQUEST_COUNT_SLOT = 1
STATUS_BASE = 2
ATTESTATION_BASE = 3
TALLY_BASE = 4
ATTESTERS_BASE = 5

PENDING = 1
RESOLVED = 2
TIMED_OUT = 3

EXPLICIT = 0
VALIDATORS = 1


@dataclass(frozen=True)
class OracleSet:
    """An oracle set: explicit members with threshold ``m``, or the elected validators with ``m = ceil(n*num/den)``."""

    owner: bytes
    kind: int
    members: tuple[bytes, ...]
    threshold: int
    numerator: int
    denominator: int


@dataclass(frozen=True)
class OracleRequest:
    """A request as recorded when made: the members and threshold in force then, its deadline and answer bound."""

    set_id: int
    requester: bytes
    members: tuple[bytes, ...]
    threshold: int
    deadline: int
    max_response_bytes: int


def _int(data: bytes) -> int:
    return int.from_bytes(data, "big")


def _pair_key(request_id: int, item: bytes) -> bytes:
    return keccak(request_id.to_bytes(32, "big") + item)


class OracleStore:
    """Reads and writes the oracle contract's records through a metered context."""

    def __init__(self, context: CallContext) -> None:
        self.context = context

    def next_id(self, counter_slot: int) -> int:
        """Advance a counter (sets or requests) and return the new id (1, 2, ...)."""
        number = self.context.load(counter_slot) + 1
        self.context.store(counter_slot, number)
        return number

    def count(self, counter_slot: int) -> int:
        """The current value of a counter."""
        return self.context.load(counter_slot)

    def put_set(self, set_id: int, oracle_set: OracleSet) -> None:
        """Record a new oracle set."""
        self.context.store_bytes(b"set/" + set_id.to_bytes(32, "big"), rlp.encode([
            oracle_set.owner, oracle_set.kind, list(oracle_set.members), oracle_set.threshold,
            oracle_set.numerator, oracle_set.denominator,
        ]))

    def get_set(self, set_id: int) -> OracleSet | None:
        """The oracle set ``set_id`` (None when undefined)."""
        data = self.context.load_bytes(b"set/" + set_id.to_bytes(32, "big"))
        if data is None:
            return None
        owner, kind, members, threshold, numerator, denominator = rlp.decode(data)
        return OracleSet(owner, _int(kind), tuple(members), _int(threshold), _int(numerator), _int(denominator))

    def put_request(self, request_id: int, request: OracleRequest) -> None:
        """Record a new request (pending)."""
        self.context.store_bytes(b"request/" + request_id.to_bytes(32, "big"), rlp.encode([
            request.set_id, request.requester, list(request.members), request.threshold, request.deadline,
            request.max_response_bytes,
        ]))
        self.set_status(request_id, PENDING)

    def get_request(self, request_id: int) -> OracleRequest | None:
        """The request ``request_id`` (None when there is none)."""
        data = self.context.load_bytes(b"request/" + request_id.to_bytes(32, "big"))
        if data is None:
            return None
        set_id, requester, members, threshold, deadline, max_bytes = rlp.decode(data)
        return OracleRequest(_int(set_id), requester, tuple(members), _int(threshold), _int(deadline), _int(max_bytes))

    def status(self, request_id: int) -> int:
        """The stored status of a request (0 when there is none)."""
        return self.context.load(mapping_slot(STATUS_BASE, request_id))

    def set_status(self, request_id: int, status: int) -> None:
        """Change the stored status of a request."""
        self.context.store(mapping_slot(STATUS_BASE, request_id), status)

    def attestation(self, request_id: int, oracle: bytes) -> bytes | None:
        """The hash of the value ``oracle`` attested for the request (None when it did not)."""
        word = self.context.load(mapping_slot(ATTESTATION_BASE, _pair_key(request_id, oracle)))
        return None if word == 0 else word.to_bytes(32, "big")

    def add_attestation(self, request_id: int, oracle: bytes, value_hash: bytes) -> int:
        """Record ``oracle``'s attestation; returns how many members have now attested that value."""
        self.context.store(mapping_slot(ATTESTATION_BASE, _pair_key(request_id, oracle)), _int(value_hash))
        base = mapping_slot(ATTESTERS_BASE, request_id) >> 8  # room for the entries that follow
        count = self.context.load(base) + 1
        self.context.store(base, count)
        self.context.store(base + count, _int(oracle))
        tally_slot = mapping_slot(TALLY_BASE, _pair_key(request_id, value_hash))
        tally = self.context.load(tally_slot) + 1
        self.context.store(tally_slot, tally)
        return tally

    def attesters(self, request_id: int) -> list[bytes]:
        """Every member that attested the request, in attestation order."""
        base = mapping_slot(ATTESTERS_BASE, request_id) >> 8
        return [self.context.load(base + i).to_bytes(20, "big") for i in range(1, self.context.load(base) + 1)]

    def put_value(self, request_id: int, value: bytes) -> None:
        """Record the resolved value."""
        self.context.store_bytes(b"value/" + request_id.to_bytes(32, "big"), value)

    def value(self, request_id: int) -> bytes:
        """The resolved value (empty when unresolved)."""
        return self.context.load_bytes(b"value/" + request_id.to_bytes(32, "big")) or b""
