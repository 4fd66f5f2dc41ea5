// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {IJury} from "@cmt/middleware/jury/IJury.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the juror-registry native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C15 (NativeMocks.etchAll). Staking, unbonding, cases, the stake-weighted draw without
/// replacement, commit/reveal windows, the ruling and the payouts follow the chain's rules and revert reasons, with
/// block.timestamp as block time. A local EVM has no randomness beacon: the beacon value of height h is
/// keccak256(abi.encodePacked(blockhash(h), h)), available once block.number > h (a test calls vm.roll), so draws
/// are deterministic. The draw scans the jurors in the order they first staked (O(n); the chain walks a sum tree),
/// so the same beacon can draw other jurors than on the chain. Storage layout differs from the chain's, so in a fork
/// the mock starts empty.
/// Payments are made with vm.deal, so, as on the chain, no code of the receiver runs.
contract JuryMock is IJury {
    uint256 internal constant MIN_STAKE = 1 ether;
    uint32 internal constant MAX_JURORS = 128;
    uint64 internal constant MAX_WINDOW = 604_800;
    uint64 internal constant UNBONDING = 1_814_400;

    struct Juror {
        uint256 active;
        uint256 unbonding;
        uint64 availableAt;
        bool listed;
    }

    struct Case {
        address creator;
        uint8 ruling;
        uint32 jurorCount;
        uint32 votesFor;
        uint32 votesAgainst;
        uint64 commitSeconds;
        uint64 revealSeconds;
        uint64 beaconHeight;
        uint64 commitEnds;
        uint64 revealEnds;
        uint256 stakePerJuror;
        uint256 fee;
        address[] drawn;
        bytes32[] commitments;
        uint8[] votes; // 0 none, 1 for, 2 against
    }

    mapping(address => Juror) internal _jurors;
    address[] internal _order;
    uint256 internal _total;
    Case[] internal _cases;

    /// @inheritdoc IJury
    function stake() external payable {
        if (msg.value == 0) revert("Jury: stake needs a value (msg.value is 0)");
        Juror storage j = _jurors[msg.sender];
        uint256 active = j.active + msg.value;
        if (active < MIN_STAKE) {
            revert(string.concat("Jury: an active stake must be at least 1 CMT (10^18 wei), got ",
                                 MockText.decimal(active), " wei"));
        }
        if (!j.listed) {
            j.listed = true;
            _order.push(msg.sender);
        }
        j.active = active;
        _total += msg.value;
        emit JurorStaked(msg.sender, msg.value, active);
    }

    /// @inheritdoc IJury
    function requestUnstake(uint256 amount) external {
        Juror storage j = _jurors[msg.sender];
        if (amount == 0) revert("Jury: the amount to unstake must be positive");
        if (amount > j.active) {
            revert(string.concat("Jury: cannot unstake ", MockText.decimal(amount), " wei: the active stake is ",
                                 MockText.decimal(j.active), " wei"));
        }
        uint256 left = j.active - amount;
        if (left != 0 && left < MIN_STAKE) {
            revert(string.concat("Jury: the active stake left (", MockText.decimal(left),
                                 " wei) must be 0 or at least 1 CMT (10^18 wei)"));
        }
        j.active = left;
        j.unbonding += amount;
        j.availableAt = uint64(block.timestamp) + UNBONDING;
        _total -= amount;
        emit JurorUnstakeRequested(msg.sender, amount, j.availableAt);
    }

    /// @inheritdoc IJury
    function withdraw() external {
        Juror storage j = _jurors[msg.sender];
        if (j.unbonding == 0) revert("Jury: nothing to withdraw");
        if (block.timestamp < j.availableAt) {
            revert(string.concat("Jury: the unbonding stake can be withdrawn at ", MockText.decimal(j.availableAt),
                                 " (block time ", MockText.decimal(block.timestamp), ")"));
        }
        uint256 amount = j.unbonding;
        j.unbonding = 0;
        j.availableAt = 0;
        emit JurorWithdrawn(msg.sender, amount);
        _pay(msg.sender, amount);
    }

    /// @inheritdoc IJury
    function jurorOf(address juror) external view returns (uint256, uint256, uint64) {
        Juror storage j = _jurors[juror];
        return (j.active, j.unbonding, j.availableAt);
    }

    /// @inheritdoc IJury
    function totalStake() external view returns (uint256) {
        return _total;
    }

    /// @inheritdoc IJury
    function openCase(uint32 jurorCount, uint256 stakePerJuror, uint64 commitSeconds, uint64 revealSeconds)
        external
        payable
        returns (uint256 caseId)
    {
        if (jurorCount == 0 || jurorCount > MAX_JURORS) {
            revert(string.concat("Jury: jurors must be 1 to 128, got ", MockText.decimal(jurorCount)));
        }
        if (stakePerJuror == 0) revert("Jury: stakePerJuror must be positive");
        if (commitSeconds == 0 || commitSeconds > MAX_WINDOW) {
            revert(string.concat("Jury: commitSeconds must be 1 to 604800, got ", MockText.decimal(commitSeconds)));
        }
        if (revealSeconds == 0 || revealSeconds > MAX_WINDOW) {
            revert(string.concat("Jury: revealSeconds must be 1 to 604800, got ", MockText.decimal(revealSeconds)));
        }
        Case storage c = _cases.push();
        c.creator = msg.sender;
        c.jurorCount = jurorCount;
        c.stakePerJuror = stakePerJuror;
        c.fee = msg.value;
        c.commitSeconds = commitSeconds;
        c.revealSeconds = revealSeconds;
        c.beaconHeight = uint64(block.number + 1);
        caseId = _cases.length;
        emit CaseOpened(caseId, msg.sender, jurorCount, c.beaconHeight);
    }

    /// @inheritdoc IJury
    function draw(uint256 caseId) external {
        Case storage c = _case(caseId);
        string memory id = MockText.decimal(caseId);
        if (c.drawn.length != 0) revert(string.concat("Jury: case ", id, " is already drawn"));
        if (c.ruling != 0) revert(string.concat("Jury: case ", id, " was cancelled"));
        if (block.number <= c.beaconHeight) {
            revert(string.concat("Jury: the beacon of height ", MockText.decimal(c.beaconHeight),
                                 " is not committed yet"));
        }
        bytes32 beacon = keccak256(abi.encodePacked(blockhash(c.beaconHeight), uint256(c.beaconHeight)));
        uint256[] memory weights = new uint256[](_order.length);
        uint256 remaining;
        for (uint256 k = 0; k < _order.length; k++) {
            weights[k] = _jurors[_order[k]].active;
            remaining += weights[k];
        }
        uint256 attempt;
        for (uint256 i = 0; i < c.jurorCount;) {
            if (remaining == 0) {
                revert(string.concat("Jury: only ", MockText.decimal(i), " jurors have at least ",
                                     MockText.decimal(c.stakePerJuror), " wei active stake; case ", id, " needs ",
                                     MockText.decimal(c.jurorCount)));
            }
            uint256 r = uint256(keccak256(abi.encode(beacon, caseId, i, attempt))) % remaining;
            uint256 k;
            while (r >= weights[k]) r -= weights[k++];
            remaining -= weights[k];
            if (weights[k] >= c.stakePerJuror) {
                c.drawn.push(_order[k]);
                i++;
            } else {
                attempt++;
            }
            weights[k] = 0;
        }
        c.commitments = new bytes32[](c.jurorCount);
        c.votes = new uint8[](c.jurorCount);
        c.commitEnds = uint64(block.timestamp) + c.commitSeconds;
        c.revealEnds = c.commitEnds + c.revealSeconds;
        emit JurorsDrawn(caseId, c.drawn);
    }

    /// @inheritdoc IJury
    function cancelCase(uint256 caseId) external {
        Case storage c = _case(caseId);
        string memory id = MockText.decimal(caseId);
        if (msg.sender != c.creator) {
            revert(string.concat("Jury: only the creator of case ", id, " (", MockText.hexAddress(c.creator),
                                 ") may cancel it"));
        }
        if (c.ruling != 0) revert(string.concat("Jury: case ", id, " is already decided"));
        if (c.drawn.length != 0) revert(string.concat("Jury: case ", id, " is drawn: it is decided by its jurors"));
        c.ruling = 3;
        emit CaseCancelled(caseId, c.fee);
        _pay(c.creator, c.fee);
    }

    /// @inheritdoc IJury
    function commitVote(uint256 caseId, uint32 index, bytes32 commitment) external {
        Case storage c = _seat(caseId, index);
        string memory id = MockText.decimal(caseId);
        if (block.timestamp > c.commitEnds) {
            revert(string.concat("Jury: the commit window of case ", id, " closed at ", MockText.decimal(c.commitEnds),
                                 " (block time ", MockText.decimal(block.timestamp), ")"));
        }
        if (commitment == bytes32(0)) revert("Jury: the commitment must not be zero");
        if (c.commitments[index] != 0) {
            revert(string.concat("Jury: juror ", MockText.decimal(index), " of case ", id, " already committed"));
        }
        c.commitments[index] = commitment;
        emit VoteCommitted(caseId, msg.sender);
    }

    /// @inheritdoc IJury
    function revealVote(uint256 caseId, uint32 index, bool vote, bytes32 salt) external {
        Case storage c = _seat(caseId, index);
        string memory id = MockText.decimal(caseId);
        string memory now_ = MockText.decimal(block.timestamp);
        if (block.timestamp <= c.commitEnds) {
            revert(string.concat("Jury: the reveal window of case ", id, " opens after ",
                                 MockText.decimal(c.commitEnds), " (block time ", now_, ")"));
        }
        if (block.timestamp > c.revealEnds) {
            revert(string.concat("Jury: the reveal window of case ", id, " closed at ",
                                 MockText.decimal(c.revealEnds), " (block time ", now_, ")"));
        }
        string memory seat = MockText.decimal(index);
        if (c.commitments[index] == 0) revert(string.concat("Jury: juror ", seat, " of case ", id, " did not commit"));
        if (c.votes[index] != 0) revert(string.concat("Jury: juror ", seat, " of case ", id, " already revealed"));
        if (keccak256(abi.encodePacked(caseId, msg.sender, vote, salt)) != c.commitments[index]) {
            revert(string.concat("Jury: the vote and salt do not match juror ", seat, "'s commitment"));
        }
        if (vote) {
            c.votes[index] = 1;
            c.votesFor++;
        } else {
            c.votes[index] = 2;
            c.votesAgainst++;
        }
        emit VoteRevealed(caseId, msg.sender, vote);
    }

    /// @inheritdoc IJury
    function finalize(uint256 caseId) external {
        Case storage c = _case(caseId);
        string memory id = MockText.decimal(caseId);
        if (c.ruling != 0) revert(string.concat("Jury: case ", id, " is already decided"));
        if (c.drawn.length == 0) revert(string.concat("Jury: case ", id, " is not drawn yet"));
        if (block.timestamp <= c.revealEnds) {
            revert(string.concat("Jury: case ", id, " can be finalized after ", MockText.decimal(c.revealEnds),
                                 " (block time ", MockText.decimal(block.timestamp), ")"));
        }
        uint8 decided = c.votesFor > c.votesAgainst ? 1 : c.votesAgainst > c.votesFor ? 2 : 3;
        c.ruling = decided;
        uint256 pot = c.fee;
        uint256 winners;
        for (uint256 k = 0; k < c.drawn.length; k++) {
            uint8 v = c.votes[k];
            if (decided != 3 && v == decided) {
                winners++;
            } else if (v == 0 || decided != 3) {
                pot += _forfeit(caseId, c.drawn[k], c.stakePerJuror);
            }
        }
        emit CaseDecided(caseId, decided, c.votesFor, c.votesAgainst);
        if (winners == 0) {
            _pay(c.creator, pot);
            return;
        }
        uint256 share = pot / winners;
        for (uint256 k = 0; k < c.drawn.length; k++) {
            if (c.votes[k] == decided) {
                emit JurorPaid(caseId, c.drawn[k], share);
                _pay(c.drawn[k], share);
            }
        }
        _pay(c.creator, pot - share * winners);
    }

    /// @inheritdoc IJury
    function caseInfo(uint256 caseId) external view returns (address, uint8, uint32, uint32, uint64, uint64) {
        Case storage c = _case(caseId);
        return (c.creator, c.ruling, c.votesFor, c.votesAgainst, c.commitEnds, c.revealEnds);
    }

    /// @inheritdoc IJury
    function jurors(uint256 caseId) external view returns (address[] memory) {
        return _case(caseId).drawn;
    }

    /// @inheritdoc IJury
    function ruling(uint256 caseId) external view returns (uint8) {
        return _case(caseId).ruling;
    }

    /// @inheritdoc IJury
    function caseTerms(uint256 caseId) external view returns (uint32, uint256, uint256, uint64, uint64, uint64) {
        Case storage c = _case(caseId);
        return (c.jurorCount, c.stakePerJuror, c.fee, c.commitSeconds, c.revealSeconds, c.beaconHeight);
    }

    /// @inheritdoc IJury
    function voteOf(uint256 caseId, uint32 index) external view returns (bool, bool, bool) {
        Case storage c = _case(caseId);
        if (index >= c.drawn.length) return (false, false, false);
        return (c.commitments[index] != 0, c.votes[index] != 0, c.votes[index] == 1);
    }

    /// @inheritdoc IJury
    function caseCount() external view returns (uint256) {
        return _cases.length;
    }

    function _forfeit(uint256 caseId, address juror, uint256 amount) internal returns (uint256 taken) {
        Juror storage j = _jurors[juror];
        uint256 fromActive = amount < j.active ? amount : j.active;
        j.active -= fromActive;
        _total -= fromActive;
        uint256 rest = amount - fromActive;
        uint256 fromUnbonding = rest < j.unbonding ? rest : j.unbonding;
        j.unbonding -= fromUnbonding;
        taken = fromActive + fromUnbonding;
        emit StakeForfeited(caseId, juror, taken);
    }

    /// @dev A plain balance transfer that runs no code of the receiver, as the chain pays.
    function _pay(address to, uint256 amount) internal {
        if (amount == 0) return;
        vm.deal(address(this), address(this).balance - amount);
        vm.deal(to, to.balance + amount);
    }

    function _case(uint256 caseId) internal view returns (Case storage) {
        if (caseId == 0 || caseId > _cases.length) {
            revert(string.concat("Jury: case ", MockText.decimal(caseId), " does not exist"));
        }
        return _cases[caseId - 1];
    }

    function _seat(uint256 caseId, uint32 index) internal view returns (Case storage c) {
        c = _case(caseId);
        string memory id = MockText.decimal(caseId);
        if (c.drawn.length == 0) revert(string.concat("Jury: case ", id, " is not drawn yet"));
        if (index >= c.drawn.length) {
            revert(string.concat("Jury: juror index ", MockText.decimal(index), " is out of range (case ", id,
                                 " has ", MockText.decimal(c.drawn.length), " jurors)"));
        }
        if (c.drawn[index] != msg.sender) {
            revert(string.concat("Jury: ", MockText.hexAddress(msg.sender), " is not juror ", MockText.decimal(index),
                                 " of case ", id));
        }
    }
}
