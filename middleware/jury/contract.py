"""The ``IJury`` native contract: juror stakes, stake-weighted sortition, commit/reveal votes, payouts.

Jurors opt in with ``stake`` (payable); their active stakes are the weights of a sum tree
(``sumtree.py``) and ``requestUnstake`` takes stake out of it at once into an unbonding
amount withdrawable after ``UNBONDING_SECONDS`` (21 days: longer than a case's commit and
reveal windows together, at most 14 days, so a juror drawn for a case is still holding its
stake when the case can be finalized). ``openCase`` pins the beacon value of the next height
(``request_beacon``); ``draw`` reads it (``beacon_at``) and draws the case's distinct jurors
(``draw.py``), starting the commit window; jurors commit
``keccak256(abi.encodePacked(caseId, juror, vote, salt))`` until ``commitEnds`` and reveal
after it until ``revealEnds``; ``finalize`` then decides (``ruling.py``), takes each
forfeiting juror's ``stakePerJuror`` (capped at what it holds: active stake first, then
unbonding) and pays the majority by plain balance transfers, which run no code of the
receiver, after every state change (checks, effects, then payments).

The contract's balance is always the jurors' active and unbonding stakes plus the fees of
the cases not finalized yet.

Gas: each method's base cost below, the framework's storage writes and events, storage reads
warm after their first in a call (``slots.py``), and ``KECCAK_GAS`` per pick of a draw;
``benchmarks/jury_gas.py`` measures every call (``benchmarks/README.md``).
"""
from __future__ import annotations

from eth_hash.auto import keccak

from middleware.jury.cases import PENDING, UNDECIDED, Case, CaseBook
from middleware.jury.draw import draw_leaves
from middleware.jury.jurors import Juror, JurorBook
from middleware.jury.ruling import decide, split
from middleware.jury.slots import MeteredSlots
from middleware.jury.sumtree import SumTree
from middleware.randomness.contract import beacon_at, request_beacon
from vm.errors import NativeContractError
from vm.native.addresses import JURY_ADDRESS
from vm.native.framework import CallContext, NativeContract, method

MIN_STAKE = 10**18
MAX_JURORS = 128
MAX_WINDOW_SECONDS = 7 * 24 * 3600
UNBONDING_SECONDS = 21 * 24 * 3600
KECCAK_GAS = 54  # the EVM's KECCAK256 of four words, per pick
STAKE_GAS = 5_000
UNSTAKE_GAS = 5_000
WITHDRAW_GAS = 5_000
OPEN_GAS = 10_000
DRAW_GAS = 5_000
COMMIT_GAS = 3_000
REVEAL_GAS = 3_000
FINALIZE_GAS = 10_000
VIEW_GAS = 200

STAKED = "JurorStaked(address,uint256,uint256)"
UNSTAKE_REQUESTED = "JurorUnstakeRequested(address,uint256,uint64)"
WITHDRAWN = "JurorWithdrawn(address,uint256)"
CASE_OPENED = "CaseOpened(uint256,address,uint32,uint64)"
JURORS_DRAWN = "JurorsDrawn(uint256,address[])"
VOTE_COMMITTED = "VoteCommitted(uint256,address)"
VOTE_REVEALED = "VoteRevealed(uint256,address,bool)"
CASE_DECIDED = "CaseDecided(uint256,uint8,uint32,uint32)"
JUROR_PAID = "JurorPaid(uint256,address,uint256)"
STAKE_FORFEITED = "StakeForfeited(uint256,address,uint256)"
CASE_CANCELLED = "CaseCancelled(uint256,uint256)"


def _fail(message: str) -> NativeContractError:
    return NativeContractError(f"Jury: {message}")


def commitment_of(case_id: int, juror: bytes, vote: bool, salt: bytes) -> bytes:
    """``keccak256(abi.encodePacked(caseId, juror, vote, salt))``: what a juror commits."""
    return keccak(case_id.to_bytes(32, "big") + juror + bytes([vote]) + salt)


class _Books:
    """The tree, juror and case records of one call, over the same metered slots."""

    def __init__(self, ctx: CallContext) -> None:
        slots = MeteredSlots(ctx)
        self.tree = SumTree(slots)
        self.jurors = JurorBook(slots, self.tree)
        self.cases = CaseBook(slots)

    def case(self, case_id: int) -> Case:
        """The case ``case_id``; refused when there is no such case."""
        case = self.cases.get(case_id)
        if case is None:
            raise _fail(f"case {case_id} does not exist")
        return case


class JuryContract(NativeContract):
    """Juror registry and sortition (interface: ``IJury.sol``)."""

    address = JURY_ADDRESS
    name = "Jury"

    # -- jurors ------------------------------------------------------------------------

    @method("stake()", gas=STAKE_GAS, payable=True)
    def stake(self, ctx: CallContext) -> None:
        """Opt in as a juror or add ``msg.value`` to the active stake."""
        if ctx.value == 0:
            raise _fail("stake needs a value (msg.value is 0)")
        books = _Books(ctx)
        juror = books.jurors.get(ctx.sender)
        active = juror.active + ctx.value
        if active < MIN_STAKE:
            raise _fail(f"an active stake must be at least 1 CMT (10^18 wei), got {active} wei")
        books.jurors.update(ctx.sender, juror, active=active, unbonding=juror.unbonding,
                            available_at=juror.available_at)
        ctx.emit(STAKED, indexed=[("address", ctx.sender)], data=[("uint256", ctx.value), ("uint256", active)])

    @method("requestUnstake(uint256)", gas=UNSTAKE_GAS)
    def request_unstake(self, ctx: CallContext, amount: int) -> None:
        """Move ``amount`` of the active stake into unbonding (out of the draws at once)."""
        if amount == 0:
            raise _fail("the amount to unstake must be positive")
        books = _Books(ctx)
        juror = books.jurors.get(ctx.sender)
        if amount > juror.active:
            raise _fail(f"cannot unstake {amount} wei: the active stake is {juror.active} wei")
        left = juror.active - amount
        if 0 < left < MIN_STAKE:
            raise _fail(f"the active stake left ({left} wei) must be 0 or at least 1 CMT (10^18 wei)")
        available_at = ctx.timestamp + UNBONDING_SECONDS
        books.jurors.update(ctx.sender, juror, active=left, unbonding=juror.unbonding + amount,
                            available_at=available_at)
        ctx.emit(UNSTAKE_REQUESTED, indexed=[("address", ctx.sender)],
                 data=[("uint256", amount), ("uint64", available_at)])

    @method("withdraw()", gas=WITHDRAW_GAS)
    def withdraw(self, ctx: CallContext) -> None:
        """Pay the unbonding stake to the juror once its period has passed."""
        books = _Books(ctx)
        juror = books.jurors.get(ctx.sender)
        if juror.unbonding == 0:
            raise _fail("nothing to withdraw")
        if ctx.timestamp < juror.available_at:
            raise _fail(f"the unbonding stake can be withdrawn at {juror.available_at} (block time {ctx.timestamp})")
        books.jurors.update(ctx.sender, juror, active=juror.active, unbonding=0, available_at=0)
        ctx.emit(WITHDRAWN, indexed=[("address", ctx.sender)], data=[("uint256", juror.unbonding)])
        ctx.transfer(ctx.sender, juror.unbonding)

    @method("jurorOf(address)", returns=["uint256", "uint256", "uint64"], gas=VIEW_GAS, view=True)
    def juror_of(self, ctx: CallContext, juror: str) -> tuple[int, int, int]:
        """A juror's active stake, unbonding stake and when the unbonding stake can be withdrawn."""
        record = _Books(ctx).jurors.get(bytes.fromhex(juror[2:]))
        return record.active, record.unbonding, record.available_at

    @method("totalStake()", returns=["uint256"], gas=VIEW_GAS, view=True)
    def total_stake(self, ctx: CallContext) -> int:
        """The sum of the jurors' active stakes."""
        return _Books(ctx).tree.total()

    # -- cases -------------------------------------------------------------------------

    @method("openCase(uint32,uint256,uint64,uint64)", returns=["uint256"], gas=OPEN_GAS, payable=True)
    def open_case(self, ctx: CallContext, jurors: int, stake_per_juror: int, commit_seconds: int,
                  reveal_seconds: int) -> int:
        """Open a case (``msg.value`` is its fee); its jurors are drawn from the beacon of the next height."""
        if not 1 <= jurors <= MAX_JURORS:
            raise _fail(f"jurors must be 1 to {MAX_JURORS}, got {jurors}")
        if stake_per_juror == 0:
            raise _fail("stakePerJuror must be positive")
        for name, seconds in (("commitSeconds", commit_seconds), ("revealSeconds", reveal_seconds)):
            if not 1 <= seconds <= MAX_WINDOW_SECONDS:
                raise _fail(f"{name} must be 1 to {MAX_WINDOW_SECONDS}, got {seconds}")
        beacon_height = ctx.block_number + 1
        request_beacon(ctx, beacon_height)
        case_id = _Books(ctx).cases.open(Case(
            creator=ctx.sender, juror_count=jurors, ruling=PENDING, stake_per_juror=stake_per_juror, fee=ctx.value,
            commit_seconds=commit_seconds, reveal_seconds=reveal_seconds, beacon_height=beacon_height,
        ))
        ctx.emit(CASE_OPENED, indexed=[("uint256", case_id), ("address", ctx.sender)],
                 data=[("uint32", jurors), ("uint64", beacon_height)])
        return case_id

    @method("draw(uint256)", gas=DRAW_GAS)
    def draw(self, ctx: CallContext, case_id: int) -> None:
        """Draw the case's jurors from its beacon value and start the commit window."""
        books = _Books(ctx)
        case = books.case(case_id)
        if case.drawn:
            raise _fail(f"case {case_id} is already drawn")
        if case.ruling != PENDING:
            raise _fail(f"case {case_id} was cancelled")
        if case.beacon_height >= ctx.block_number:
            raise _fail(f"the beacon of height {case.beacon_height} is not committed yet")
        beacon = beacon_at(ctx, case.beacon_height)
        leaves, picks = draw_leaves(books.tree, beacon, case_id, case.juror_count, case.stake_per_juror)
        ctx.charge(KECCAK_GAS * picks, "native KECCAK256")
        if len(leaves) < case.juror_count:
            raise _fail(f"only {len(leaves)} jurors have at least {case.stake_per_juror} wei active stake; "
                        f"case {case_id} needs {case.juror_count}")
        jurors = [books.tree.key(leaf).to_bytes(20, "big") for leaf in leaves]
        commit_ends = ctx.timestamp + case.commit_seconds
        books.cases.set_drawn(case_id, jurors, commit_ends, commit_ends + case.reveal_seconds)
        ctx.emit(JURORS_DRAWN, indexed=[("uint256", case_id)], data=[("address[]", jurors)])

    @method("cancelCase(uint256)", gas=FINALIZE_GAS)
    def cancel_case(self, ctx: CallContext, case_id: int) -> None:
        """The creator withdraws an undrawn case: ruled undecided, the fee paid back."""
        books = _Books(ctx)
        case = books.case(case_id)
        if ctx.sender != case.creator:
            raise _fail(f"only the creator of case {case_id} (0x{case.creator.hex()}) may cancel it")
        if case.ruling != PENDING:
            raise _fail(f"case {case_id} is already decided")
        if case.drawn:
            raise _fail(f"case {case_id} is drawn: it is decided by its jurors")
        books.cases.set_ruling(case_id, case, UNDECIDED)
        ctx.emit(CASE_CANCELLED, indexed=[("uint256", case_id)], data=[("uint256", case.fee)])
        ctx.transfer(case.creator, case.fee)

    def _seat(self, books: _Books, ctx: CallContext, case_id: int, index: int) -> Case:
        """The case, once ``ctx.sender`` is its juror ``index``."""
        case = books.case(case_id)
        if not case.drawn:
            raise _fail(f"case {case_id} is not drawn yet")
        if index >= case.juror_count:
            raise _fail(f"juror index {index} is out of range (case {case_id} has {case.juror_count} jurors)")
        if books.cases.juror(case_id, index) != ctx.sender:
            raise _fail(f"0x{ctx.sender.hex()} is not juror {index} of case {case_id}")
        return case

    @method("commitVote(uint256,uint32,bytes32)", gas=COMMIT_GAS)
    def commit_vote(self, ctx: CallContext, case_id: int, index: int, commitment: bytes) -> None:
        """Record juror ``index``'s sealed vote, once, until the commit window ends."""
        books = _Books(ctx)
        case = self._seat(books, ctx, case_id, index)
        if ctx.timestamp > case.commit_ends:
            raise _fail(f"the commit window of case {case_id} closed at {case.commit_ends} "
                        f"(block time {ctx.timestamp})")
        if commitment == bytes(32):
            raise _fail("the commitment must not be zero")
        if books.cases.commitment(case_id, index) != bytes(32):
            raise _fail(f"juror {index} of case {case_id} already committed")
        books.cases.set_commitment(case_id, index, commitment)
        ctx.emit(VOTE_COMMITTED, indexed=[("uint256", case_id), ("address", ctx.sender)], data=[])

    @method("revealVote(uint256,uint32,bool,bytes32)", gas=REVEAL_GAS)
    def reveal_vote(self, ctx: CallContext, case_id: int, index: int, vote: bool, salt: bytes) -> None:
        """Open juror ``index``'s commitment within the reveal window."""
        books = _Books(ctx)
        case = self._seat(books, ctx, case_id, index)
        if ctx.timestamp <= case.commit_ends:
            raise _fail(f"the reveal window of case {case_id} opens after {case.commit_ends} "
                        f"(block time {ctx.timestamp})")
        if ctx.timestamp > case.reveal_ends:
            raise _fail(f"the reveal window of case {case_id} closed at {case.reveal_ends} "
                        f"(block time {ctx.timestamp})")
        committed = books.cases.commitment(case_id, index)
        if committed == bytes(32):
            raise _fail(f"juror {index} of case {case_id} did not commit")
        reveals = books.cases.reveals(case_id)
        if reveals.revealed(index):
            raise _fail(f"juror {index} of case {case_id} already revealed")
        if commitment_of(case_id, ctx.sender, vote, salt) != committed:
            raise _fail(f"the vote and salt do not match juror {index}'s commitment")
        books.cases.set_reveals(case_id, reveals.with_vote(index, vote))
        ctx.emit(VOTE_REVEALED, indexed=[("uint256", case_id), ("address", ctx.sender)], data=[("bool", vote)])

    @method("finalize(uint256)", gas=FINALIZE_GAS)
    def finalize(self, ctx: CallContext, case_id: int) -> None:
        """Decide the case after its reveal window; forfeit, then pay."""
        books = _Books(ctx)
        case = books.case(case_id)
        if case.ruling != PENDING:
            raise _fail(f"case {case_id} is already decided")
        if not case.drawn:
            raise _fail(f"case {case_id} is not drawn yet")
        if ctx.timestamp <= case.reveal_ends:
            raise _fail(f"case {case_id} can be finalized after {case.reveal_ends} (block time {ctx.timestamp})")
        verdict = decide(case.juror_count, books.cases.reveals(case_id))
        jurors = books.cases.jurors(case_id, case)
        pot = case.fee
        for seat in verdict.forfeiting:
            taken = self._forfeit(books, jurors[seat], case.stake_per_juror)
            ctx.emit(STAKE_FORFEITED, indexed=[("uint256", case_id), ("address", jurors[seat])],
                     data=[("uint256", taken)])
            pot += taken
        books.cases.set_ruling(case_id, case, verdict.ruling)
        ctx.emit(CASE_DECIDED, indexed=[("uint256", case_id)],
                 data=[("uint8", verdict.ruling), ("uint32", verdict.votes_for), ("uint32", verdict.votes_against)])
        share, remainder = split(pot, len(verdict.majority))
        for seat in verdict.majority:
            ctx.emit(JUROR_PAID, indexed=[("uint256", case_id), ("address", jurors[seat])], data=[("uint256", share)])
            ctx.transfer(jurors[seat], share)
        ctx.transfer(case.creator, remainder)

    @staticmethod
    def _forfeit(books: _Books, address: bytes, amount: int) -> int:
        """Take up to ``amount`` from a juror's stake (active first, then unbonding); returns what was taken."""
        juror: Juror = books.jurors.get(address)
        from_active = min(amount, juror.active)
        from_unbonding = min(amount - from_active, juror.unbonding)
        books.jurors.update(address, juror, active=juror.active - from_active,
                            unbonding=juror.unbonding - from_unbonding, available_at=juror.available_at)
        return from_active + from_unbonding

    # -- views -------------------------------------------------------------------------

    @method("caseInfo(uint256)", returns=["address", "uint8", "uint32", "uint32", "uint64", "uint64"], gas=VIEW_GAS,
            view=True)
    def case_info(self, ctx: CallContext, case_id: int) -> tuple[str, int, int, int, int, int]:
        """A case's creator, ruling, revealed votes and windows' ends."""
        books = _Books(ctx)
        case = books.case(case_id)
        votes_for, votes_against = books.cases.reveals(case_id).counts()
        return "0x" + case.creator.hex(), case.ruling, votes_for, votes_against, case.commit_ends, case.reveal_ends

    @method("jurors(uint256)", returns=["address[]"], gas=VIEW_GAS, view=True)
    def jurors(self, ctx: CallContext, case_id: int) -> list[str]:
        """The drawn jurors in draw order (empty until drawn)."""
        books = _Books(ctx)
        return ["0x" + juror.hex() for juror in books.cases.jurors(case_id, books.case(case_id))]

    @method("ruling(uint256)", returns=["uint8"], gas=VIEW_GAS, view=True)
    def ruling(self, ctx: CallContext, case_id: int) -> int:
        """0 pending, 1 for, 2 against, 3 undecided."""
        return _Books(ctx).case(case_id).ruling

    @method("caseTerms(uint256)", returns=["uint32", "uint256", "uint256", "uint64", "uint64", "uint64"],
            gas=VIEW_GAS, view=True)
    def case_terms(self, ctx: CallContext, case_id: int) -> tuple[int, int, int, int, int, int]:
        """The terms a case was opened with and its beacon height."""
        case = _Books(ctx).case(case_id)
        return (case.juror_count, case.stake_per_juror, case.fee, case.commit_seconds, case.reveal_seconds,
                case.beacon_height)

    @method("voteOf(uint256,uint32)", returns=["bool", "bool", "bool"], gas=VIEW_GAS, view=True)
    def vote_of(self, ctx: CallContext, case_id: int, index: int) -> tuple[bool, bool, bool]:
        """Whether juror ``index`` committed and revealed, and its vote (False until revealed or out of range)."""
        books = _Books(ctx)
        case = books.case(case_id)
        if not case.drawn or index >= case.juror_count:
            return False, False, False
        reveals = books.cases.reveals(case_id)
        committed = books.cases.commitment(case_id, index) != bytes(32)
        return committed, reveals.revealed(index), reveals.vote(index)

    @method("caseCount()", returns=["uint256"], gas=VIEW_GAS, view=True)
    def case_count(self, ctx: CallContext) -> int:
        """Number of cases opened so far."""
        return _Books(ctx).cases.count()
