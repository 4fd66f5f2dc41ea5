"""The staking test harness: a chain with genesis validators, ABI calls, and the supply invariant per block."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import eth_abi
import rlp
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import function_signature_to_4byte_selector
from trie import HexaryTrie
from trie.iter import NodeIterator

from consensus.dpos.params import DposParams, store_params
from consensus.dpos.staking_contract import GenesisStake, StakingContract
from consensus.keys import ValidatorKey
from tests.conftest import ETHER, GENESIS_TIME, MemoryChain
from vm.execution import CallMessage, ChainExecutor, GenesisAccount
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS
from vm.native.framework import CallContext, NativeContract
from vm.native.hooks import ConsensusInfo

CMT = ETHER
GENESIS_STAKE = 1_000_000 * CMT
USER_BALANCE = 10_000_000 * CMT
HOLDER = b"\x0b" * 20


class GenesisParams(NativeContract):
    """Stores chosen parameters in governance storage at genesis (where ``load_params`` reads them)."""

    address = GOVERNANCE_ADDRESS
    name = "GenesisParams"

    def __init__(self, params: DposParams) -> None:
        self.params = params

    def init_chain(self, context: CallContext) -> None:
        store_params(context, self.params)


def account_balances(chain: MemoryChain) -> int:
    """The sum of every account's balance, read by walking the state trie."""
    total = 0
    for value in NodeIterator(HexaryTrie(chain.db, chain.root)).values():
        _nonce, balance, _storage, _code = rlp.decode(value)
        total += int.from_bytes(balance, "big")
    return total


def selector(signature: str) -> bytes:
    """The 4-byte ABI selector of ``signature``."""
    return function_signature_to_4byte_selector(signature)


@dataclass
class StakingChain:
    """A memory chain with the staking contract, its validators' keys, funded users and invariant checks."""

    chain: MemoryChain
    keys: list[ValidatorKey]
    owners: list[LocalAccount]
    users: list[LocalAccount]
    sign_tx: Callable[..., Any]
    genesis_supply: int
    time: int = GENESIS_TIME
    checked_blocks: int = field(default=0)

    def block(self, txs: Sequence[Any] = (), *, dt: int = 10, signed: Sequence[bytes] | None = None,
              absent: Sequence[bytes] = (), misbehaviour: Sequence[Any] = (), strict: bool = True) -> Any:
        """Execute the next block ``dt`` seconds later (by default every validator signed) and check supply."""
        self.time += dt
        if signed is None:
            signed = [v[1] for v in self.call("getValidators()", [f"{MEMBER}[]"])[0]]
        info = ConsensusInfo(signed=tuple(signed), absent=tuple(absent), misbehaviour=tuple(misbehaviour))
        result = self.chain.execute(list(txs), strict=strict, timestamp=self.time, coinbase=STAKING_ADDRESS,
                                    consensus=info)
        self.check_supply()
        return result

    def check_supply(self) -> None:
        """Sum of balances == genesis + minted - burned; staking balance == bonded + unbonding + rewards."""
        s = self.supply()
        assert account_balances(self.chain) == s["total"] == self.genesis_supply + s["minted"] - s["burned"]
        held = self.chain.state.get_balance(STAKING_ADDRESS)
        assert held == s["bonded"] + s["unbonding"] + s["rewards"]
        self.checked_blocks += 1

    def supply(self) -> dict[str, int]:
        """The contract's getSupply() by field name."""
        values = self.call("getSupply()", [SUPPLY])[0]
        return dict(zip(SUPPLY_FIELDS, values))

    def call(self, signature: str, returns: Sequence[str], args: Sequence[Any] = (),
             types: Sequence[str] | None = None) -> tuple:
        """An eth_call of the staking contract, decoded (fails the test on a revert)."""
        outcome = self.call_raw(signature, args, types)
        assert outcome.success, revert_reason(outcome.output)
        return eth_abi.decode(list(returns), outcome.output)

    def call_raw(self, signature: str, args: Sequence[Any] = (), types: Sequence[str] | None = None) -> Any:
        """An eth_call of the staking contract, undecoded."""
        data = selector(signature) + eth_abi.encode(list(types or _arg_types(signature)), list(args))
        return self.chain.call(CallMessage(sender=b"\x01" * 20, to=STAKING_ADDRESS, data=data, gas=30_000_000),
                               timestamp=self.time)

    def tx(self, account: LocalAccount, signature: str, args: Sequence[Any] = (), *, value: int = 0,
           gas: int = 3_000_000, nonce_offset: int = 0) -> Any:
        """A signed call of the staking contract by ``account``."""
        sender = bytes.fromhex(account.address[2:])
        data = selector(signature) + eth_abi.encode(_arg_types(signature), list(args))
        return self.sign_tx(account, nonce=self.chain.state.get_nonce(sender) + nonce_offset, to=STAKING_ADDRESS,
                            data=data, value=value, gas=gas)

    def send(self, account: LocalAccount, signature: str, args: Sequence[Any] = (), *, value: int = 0,
             dt: int = 10) -> Any:
        """Send one staking transaction in its own block; returns its receipt."""
        return self.block([self.tx(account, signature, args, value=value)], dt=dt).receipts[0]


MEMBER = "(address,bytes32,uint256)"
SUPPLY = "(uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
SUPPLY_FIELDS = ("total", "minted", "burned", "bonded", "unbonding", "rewards", "locked", "reserve", "circulating")
CANDIDATE_FIELDS = (
    "owner", "id", "pub_key", "pending_pub_key", "max_amount", "commission_bp", "self_stake", "stake",
    "pending_reward", "voting_power", "verified", "active", "jailed", "missed_blocks", "delegators",
    "pending_owner", "declared_at", "state", "name", "website", "location", "email", "profile",
)


def _arg_types(signature: str) -> list[str]:
    inner = signature[signature.index("(") + 1 : -1]
    return inner.split(",") if inner else []


def revert_reason(output: bytes) -> str:
    """The Error(string) reason of a revert's output ('' when there is none)."""
    if output[:4] != selector("Error(string)"):
        return ""
    return eth_abi.decode(["string"], output[4:])[0]


def reason_of(sc: StakingChain, tx: Any) -> str:
    """Executes ``tx`` in the next block, asserts it reverted, and returns its reason (read by an equal call)."""
    message = CallMessage(sender=tx.sender, to=tx.to, data=tx.data, value=tx.value, gas=tx.gas)
    outcome = sc.chain.call(message, timestamp=sc.time + 10)
    receipt = sc.block([tx]).receipts[0]
    assert receipt.status == 0 and not outcome.success
    return revert_reason(outcome.output)


def address_of(account: LocalAccount) -> bytes:
    """An account's 20-byte address."""
    return bytes.fromhex(account.address[2:])


def make_staking_chain(sign_tx: Callable[..., Any], validators: int = 4, users: int = 4,
                       params: DposParams | None = None, stakes: Sequence[int] | None = None,
                       total_supply: int | None = None) -> StakingChain:
    """A chain whose genesis validators each bond ``stakes`` (default 1,000,000 CMT) under ``params``.

    ``total_supply`` tops the genesis up to that many wei with a holder account.
    """
    keys = [ValidatorKey(seed=bytes([index + 1]) * 32) for index in range(validators)]
    owners = [Account.from_key(bytes([0x40 + index]) * 32) for index in range(validators)]
    people = [Account.from_key(bytes([0x80 + index]) * 32) for index in range(users)]
    stakes = list(stakes or [GENESIS_STAKE] * validators)
    genesis = [GenesisStake(address_of(o), k.public_key, s) for o, k, s in zip(owners, keys, stakes)]
    accounts = [GenesisAccount(address_of(a), balance=USER_BALANCE) for a in owners + people]
    accounts.append(GenesisAccount(STAKING_ADDRESS, balance=sum(stakes)))
    if total_supply is not None:
        accounts.append(GenesisAccount(HOLDER, balance=total_supply - sum(a.balance for a in accounts)))
    supply = sum(a.balance for a in accounts)
    natives = [GenesisParams(params or DposParams()),
               StakingContract(genesis, genesis_supply=supply, genesis_time=GENESIS_TIME)]
    chain = MemoryChain(ChainExecutor(natives), accounts)
    return StakingChain(chain, keys, owners, people, sign_tx, supply)
