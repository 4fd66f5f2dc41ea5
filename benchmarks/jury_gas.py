"""Gas of the IJury calls, and of a draw per juror: 7 of 30 jurors and 100 of 1,000.

Every call is a transaction executed on an in-memory chain with the randomness beacon and
the jury installed, one transaction per block one second apart (``middleware_gas.MemoryChain``);
the figure is the receipt's gas used (21,000 intrinsic gas and call data included); views are
``eth_call``s. Jurors stake 1 to 30 CMT (``k`` CMT for the ``k``-th), cases pay a 1 CMT fee,
ask 1 CMT per juror and have 200-second windows (room for 100 commits, one a block; then
block time jumps to the window's end); in each case every juror commits, all but
two reveal (a majority for, one against) and one stays silent. The per-juror figure of a
draw is ``(gas used - 21,000) / jurors``.

    python benchmarks/jury_gas.py
    python benchmarks/jury_gas.py --json
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

import eth_abi
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from benchmarks.middleware_gas import GENESIS_TIME, MemoryChain, calldata, gas_command
from middleware.jury.contract import UNBONDING_SECONDS, JuryContract, commitment_of
from middleware.randomness.contract import RandomnessContract
from vm.execution import BlockEnv, CallMessage
from vm.native.addresses import JURY_ADDRESS
from vm.native.framework import NativeContract

ETHER = 10**18
INTRINSIC_GAS = 21_000
WINDOW_SECONDS = 200


def _address(account: LocalAccount) -> bytes:
    return bytes.fromhex(account.address[2:])


class TimedChain(MemoryChain):
    """The benchmark chain with block time able to jump ahead (to the end of a window, or of unbonding)."""

    def __init__(self, natives: list[NativeContract], funded: list[bytes]) -> None:
        super().__init__(natives, funded)
        self.offset = 0

    def env(self) -> BlockEnv:
        """The next block's environment, ``offset`` seconds later than one block a second."""
        return replace(super().env(), timestamp=GENESIS_TIME + self.number + self.offset)


class JuryBench:
    """A chain with ``jurors`` staked jurors and a case creator."""

    def __init__(self, jurors: int) -> None:
        self.creator = Account.from_key(keccak(b"jury gas creator"))
        self.jurors = [Account.from_key(keccak(b"jury gas juror %d" % k)) for k in range(jurors)]
        self.chain = TimedChain([RandomnessContract(lambda ctx, key: False), JuryContract()],
                                 [_address(a) for a in [self.creator, *self.jurors]])
        self.by_address = {a.address.lower(): a for a in self.jurors}
        self.stake_gas = [self.send(a, "stake()", value=(k % 30 + 1) * ETHER) for k, a in enumerate(self.jurors)]

    def send(self, account: LocalAccount, signature: str, *values: object, value: int = 0) -> int:
        """Gas used by one transaction of ``account``."""
        return self.chain.send(account, JURY_ADDRESS, calldata(signature, *values), value)

    def view(self, signature: str, *values: object) -> int:
        """Gas used by an ``eth_call``."""
        return self.chain.view(_address(self.creator), JURY_ADDRESS, calldata(signature, *values))

    def wait(self, seconds: int) -> None:
        """Let ``seconds`` of block time pass (one block without transactions)."""
        self.chain.offset += seconds
        result = self.chain.executor.execute_block(self.chain.db, self.chain.root, self.chain.env(), [], strict=True)
        self.chain._apply(result.state_writes)
        self.chain.root = result.state_root
        self.chain.number += 1

    def case(self, jurors: int) -> dict[str, int]:
        """Open, draw, vote and finalize a case of ``jurors``; the gas of each step (votes: the first juror's)."""
        case_id = 1  # the bench's only case
        figures = {"openCase": self.send(self.creator, "openCase(uint32,uint256,uint64,uint64)", jurors, ETHER,
                                         WINDOW_SECONDS, WINDOW_SECONDS, value=ETHER)}
        self.wait(1)
        figures["draw"] = self.send(self.creator, "draw(uint256)", case_id)
        figures["draw per juror"] = (figures["draw"] - INTRINSIC_GAS) // jurors
        drawn = self._drawn(case_id)
        salts = [keccak(b"salt %d" % i) for i in range(jurors)]
        votes = [i != 1 for i in range(jurors)]  # juror 1 votes against, the rest for
        commits = [self.send(a, "commitVote(uint256,uint32,bytes32)", case_id, i,
                             commitment_of(case_id, _address(a), votes[i], salts[i])) for i, a in enumerate(drawn)]
        self.wait(WINDOW_SECONDS)
        reveals = [self.send(a, "revealVote(uint256,uint32,bool,bytes32)", case_id, i, votes[i], salts[i])
                   for i, a in enumerate(drawn) if i != jurors - 1]  # the last juror stays silent
        self.wait(WINDOW_SECONDS)
        figures["commitVote"] = commits[0]
        figures["revealVote"] = reveals[-1]
        figures["finalize"] = self.send(self.creator, "finalize(uint256)", case_id)
        figures["finalize per juror"] = (figures["finalize"] - INTRINSIC_GAS) // jurors
        return figures

    def _read(self, returns: list[str], signature: str, *values: object) -> tuple:
        outcome = self.chain.executor.call(self.chain.db, self.chain.root, self.chain.env(), CallMessage(
            sender=_address(self.creator), to=JURY_ADDRESS, data=calldata(signature, *values)))
        return tuple(eth_abi.decode(returns, outcome.output))

    def _drawn(self, case_id: int) -> list[LocalAccount]:
        return [self.by_address[a.lower()] for a in self._read(["address[]"], "jurors(uint256)", case_id)[0]]

    def active(self, account: LocalAccount) -> int:
        """The juror's active stake."""
        return int(self._read(["uint256", "uint256", "uint64"], "jurorOf(address)", account.address)[0])


def measure() -> dict[str, int]:
    """Gas of every call on 30 jurors (a case of 7), and of a case of 100 on 1,000 jurors."""
    small = JuryBench(30)
    juror = small.jurors[0]
    figures = {"stake (first)": small.stake_gas[0], "stake (30th juror)": small.stake_gas[-1],
               "stake (more)": small.send(juror, "stake()", value=ETHER)}
    figures.update({f"7 of 30: {name}": gas for name, gas in small.case(7).items()})
    figures["requestUnstake (part)"] = small.send(juror, "requestUnstake(uint256)", ETHER)
    leaving = small.jurors[2]
    figures["requestUnstake (all: the leaf is freed)"] = small.send(leaving, "requestUnstake(uint256)",
                                                                    small.active(leaving))
    small.send(small.creator, "openCase(uint32,uint256,uint64,uint64)", 3, ETHER, 60, 60, value=ETHER)
    figures["cancelCase"] = small.send(small.creator, "cancelCase(uint256)", 2)
    small.wait(UNBONDING_SECONDS)
    figures["withdraw"] = small.send(juror, "withdraw()")
    views: dict[str, tuple[str, tuple[object, ...]]] = {
        "totalStake": ("totalStake()", ()), "jurorOf": ("jurorOf(address)", (juror.address,)),
        "caseInfo": ("caseInfo(uint256)", (1,)), "caseTerms": ("caseTerms(uint256)", (1,)),
        "jurors of 7": ("jurors(uint256)", (1,)), "ruling": ("ruling(uint256)", (1,)),
        "voteOf": ("voteOf(uint256,uint32)", (1, 0)), "caseCount": ("caseCount()", ()),
    }
    figures.update({f"{name} (eth_call)": small.view(signature, *args) for name, (signature, args) in views.items()})
    large = JuryBench(1_000)
    figures.update({f"100 of 1,000: {name}": gas for name, gas in large.case(100).items()})
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as a table (or JSON)."""
    return gas_command(argv, __doc__.split("\n\n")[0], "IJury gas per call (transaction gas used, intrinsic and call "
                       "data included; views by eth_call)", measure)


if __name__ == "__main__":
    sys.exit(main())
