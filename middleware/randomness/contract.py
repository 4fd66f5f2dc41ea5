"""The ``IRandomness`` native contract: the chain's RANDAO beacon (interface: ``IRandomness.sol``).

Every block header carries its proposer's *reveal* (``ConsensusInfo.reveal``): the
next element of the proposer's secret hash chain, which must hash to the element
stored as its commitment (``keccak(reveal) == commitment``). ``begin_block`` checks
it, stores it as the new commitment and mixes it into the beacon:
``mix := keccak(mix || reveal)``. A proposer with no chain (new, or its chain
exhausted) puts a fresh anchor in the field instead; it is stored and the mix is
unchanged for that block. Anything else makes the block invalid
(``BlockExecutionError``). The value of height ``h`` is the mix after block ``h``;
it is readable from block ``h + 1`` on, for 8,192 blocks, or for ever once a
contract ``request``ed it before it was produced.

Withholding: a height decided in round ``r > 0`` means the proposers of rounds
``0 .. r-1`` missed their slots (``ConsensusInfo.missed_proposers``). Each miss is
counted; ``MAX_MISSES_PER_WINDOW`` misses within one window of
``MISS_WINDOW_BLOCKS`` blocks get the validator jailed (and slashed when the
chain's ``slash_enabled``) through the callback the node supplies.

Gas: each method's base cost below plus the framework's storage and event schedule;
``benchmarks/randomness_gas.py`` measures every call (``benchmarks/README.md``). Native
callers of ``request_beacon`` / ``beacon_at`` pay the storage they touch, as in a call.
"""
from __future__ import annotations

from collections.abc import Callable

from eth_hash.auto import keccak

from middleware.randomness.hashchain import CHAIN_LENGTH
from middleware.randomness.records import RING_SIZE, BeaconStore, ValidatorRecord
from vm.errors import BlockExecutionError, NativeContractError
from vm.native.addresses import RANDOMNESS_ADDRESS
from vm.native.framework import CallContext, NativeContract, method
from vm.native.hooks import ConsensusInfo

MISS_WINDOW_BLOCKS = 1_024
MAX_MISSES_PER_WINDOW = 4
REQUEST_GAS = 5_000
VIEW_GAS = 200

REQUESTED = "RandomnessRequested(address,uint64)"
SLOT_MISSED = "ProposerSlotMissed(bytes32,uint64,uint64)"
PENALISED = "ProposerPenalised(bytes32,uint64,uint64)"

#: Jails (and, where the chain slashes for downtime, slashes) the validator with this consensus key;
#: returns whether it was punished (False: not a candidate, or already jailed). Supplied by the node.
PenaliseValidator = Callable[[CallContext, bytes], bool]


def _fail(message: str) -> NativeContractError:
    return NativeContractError(f"Randomness: {message}")


def _readable(ctx: CallContext, height: int) -> bytes:
    """The value of ``height`` if readable in this block, else the precise reason it is not."""
    if height >= ctx.block_number:
        raise _fail(f"randomness of height {height} is not available yet (block {ctx.block_number}; "
                    f"readable from block {height + 1})")
    store = BeaconStore(ctx)
    value = store.pinned_value(height)
    if value is None:
        value = store.ring_value(height)
    if value is None:
        raise _fail(f"randomness of height {height} has expired (values are kept {RING_SIZE} blocks "
                    "unless requested before they are produced)")
    return value


def request_beacon(ctx: CallContext, height: int) -> None:
    """Keep the beacon value of the future ``height`` readable for ever (its storage metered in ``ctx``)."""
    if height <= ctx.block_number:
        raise _fail(f"height {height} is not in the future (block {ctx.block_number})")
    if height >= 2**64:
        raise _fail(f"height {height} does not fit in uint64")
    store = BeaconStore(ctx.for_contract(RANDOMNESS_ADDRESS))
    if not store.is_requested(height):
        store.mark_requested(height)


def beacon_at(ctx: CallContext, height: int) -> bytes:
    """The 32-byte beacon value of ``height``; raises ``NativeContractError`` with the reason when not available."""
    return _readable(ctx.for_contract(RANDOMNESS_ADDRESS), height)


class RandomnessContract(NativeContract):
    """The beacon: reveals checked and mixed per block, values kept and served (interface: ``IRandomness.sol``)."""

    address = RANDOMNESS_ADDRESS
    name = "Randomness"

    def __init__(self, penalise: PenaliseValidator) -> None:
        self._penalise = penalise

    # -- calls -------------------------------------------------------------------------

    @method("request(uint64)", gas=REQUEST_GAS)
    def request(self, ctx: CallContext, height: int) -> None:
        """Keep the value of the future ``height`` readable for ever."""
        request_beacon(ctx, height)
        ctx.emit(REQUESTED, indexed=[("address", ctx.sender), ("uint64", height)], data=[])

    @method("isAvailable(uint64)", returns=["bool"], gas=VIEW_GAS, view=True)
    def is_available(self, ctx: CallContext, height: int) -> bool:
        """Whether ``valueAt(height)`` answers now."""
        try:
            _readable(ctx, height)
        except NativeContractError:
            return False
        return True

    @method("valueAt(uint64)", returns=["bytes32"], gas=VIEW_GAS, view=True)
    def value_at(self, ctx: CallContext, height: int) -> bytes:
        """The beacon value of ``height``; reverts when not produced yet or expired."""
        return _readable(ctx, height)

    @method("latestHeight()", returns=["uint64"], gas=VIEW_GAS, view=True)
    def latest_height(self, ctx: CallContext) -> int:
        """The latest height whose value is readable (``block.number - 1``)."""
        return ctx.block_number - 1

    @method("isRequested(uint64)", returns=["bool"], gas=VIEW_GAS, view=True)
    def is_requested(self, ctx: CallContext, height: int) -> bool:
        """Whether the value of ``height`` is kept for ever (a contract requested it)."""
        return BeaconStore(ctx).is_requested(height)

    @method("validatorOf(bytes32)", returns=["bytes32", "uint64", "uint64", "uint64"], gas=VIEW_GAS, view=True)
    def validator_of(self, ctx: CallContext, pub_key: bytes) -> tuple[bytes, int, int, int]:
        """A validator's commitment, reveals remaining in its chain, the chain's epoch and its missed slots."""
        record = BeaconStore(ctx).validator(pub_key)
        return record.commitment.rjust(32, b"\x00"), record.remaining, record.epoch, record.missed

    # -- block hook --------------------------------------------------------------------

    def begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        """Check and mix the proposer's reveal, store the height's value, count missed proposer slots.

        Any failure makes the block invalid (``BlockExecutionError``), never a skipped check.
        """
        try:
            self._begin_block(context, info)
        except NativeContractError as exc:
            raise BlockExecutionError(f"randomness beacon: {exc}") from exc

    def _begin_block(self, context: CallContext, info: ConsensusInfo) -> None:
        store = BeaconStore(context)
        number = context.block_number
        mix = store.mix()
        if store.latest() is None:  # the first block: its PREVRANDAO (keccak of the genesis hash) is the start
            mix = context.state.mix_hash
            store.record_value(number - 1, mix)
        if info.proposer:
            mix = self._take_reveal(store, info.proposer, info.reveal, mix)
        store.record_value(number, mix)
        for pub_key in info.missed_proposers:
            self._count_miss(store, pub_key, number)

    @staticmethod
    def _take_reveal(store: BeaconStore, proposer: bytes, reveal: bytes, mix: bytes) -> bytes:
        """The mix after the proposer's reveal (or anchor); raises ``BlockExecutionError`` for a bad one."""
        if len(reveal) != 32 or reveal == b"\x00" * 32:
            raise BlockExecutionError(f"missing randomness reveal of proposer 0x{proposer.hex()}")
        record = store.validator(proposer)
        if not record.has_chain:
            store.put_validator(proposer, ValidatorRecord(reveal, CHAIN_LENGTH, record.next_epoch, record.missed,
                                                          record.window, record.window_missed))
            return mix
        if keccak(reveal) != record.commitment:
            raise BlockExecutionError(
                f"bad randomness reveal 0x{reveal.hex()} of proposer 0x{proposer.hex()}: it does not hash to "
                f"its commitment 0x{record.commitment.hex()}")
        store.put_validator(proposer, ValidatorRecord(reveal, record.remaining - 1, record.epoch, record.missed,
                                                      record.window, record.window_missed))
        return keccak(mix + reveal)

    def _count_miss(self, store: BeaconStore, pub_key: bytes, number: int) -> None:
        """Count one missed proposer slot; at the window's limit the validator is penalised."""
        record = store.validator(pub_key)
        window = number // MISS_WINDOW_BLOCKS
        in_window = (record.window_missed if record.window == window else 0) + 1
        missed = record.missed + 1
        context = store.context
        context.emit(SLOT_MISSED, indexed=[("bytes32", pub_key)], data=[("uint64", number - 1), ("uint64", missed)])
        if in_window >= MAX_MISSES_PER_WINDOW:
            punished: list[bool] = []
            # all or nothing: a penalty staking cannot apply is skipped, identically on every node
            context.attempt(lambda: punished.append(self._penalise(context, pub_key)))
            if punished == [True]:
                context.emit(PENALISED, indexed=[("bytes32", pub_key)], data=[("uint64", window), ("uint64", missed)])
            in_window = 0
        store.put_validator(pub_key, ValidatorRecord(record.commitment, record.remaining, record.epoch, missed,
                                                     window, in_window))
