// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IGovernance} from "@cmt/consensus/dpos/IGovernance.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the governance native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C03 (NativeMocks.etchAll). Voters are not elected here: a test names them and their
/// voting power with setVoter (nobody votes until then, so propose reverts as on a chain for a non-validator).
/// Proposals, votes and the 2/3 tally (3 * yes >= 2 * total) work as on the chain, with the native events and
/// "Governance: " reasons. Not modelled: parameter names and values are not checked, approved proposals are never
/// executed (no block runs here; the status stays 1, approved), proposals never expire, getParam returns "" and
/// getParams empty lists. reserve() is the mock's balance. The proposal count is in slot 0 as in the native
/// contract, so in a fork new ids follow the chain's.
contract GovernanceMock is IGovernance {
    uint256 internal constant MAX_REASON_BYTES = 1024;
    uint256 internal constant EXPIRE_PERIOD = 7 days;

    struct Proposal {
        uint8 kind;
        address proposer;
        address to;
        uint256 amount;
        string name;
        string value;
        string reason;
        uint8 status;
        uint256 createdAt;
        uint256 expireAt;
        uint256 decidedAt;
        address[] voters;
        uint8[] answers;
        uint256[] powers;
    }

    uint256 internal _proposalCount;
    mapping(uint256 => Proposal) internal _proposals;
    mapping(address => uint256) internal _power;
    address[] internal _voters;
    uint256 internal _totalPower;

    /// @notice Mock only: make `voter` a validator with `power` (0 removes it).
    function setVoter(address voter, uint256 power) external {
        if (_power[voter] == 0 && power > 0) _voters.push(voter);
        _totalPower = _totalPower - _power[voter] + power;
        _power[voter] = power;
    }

    /// @inheritdoc IGovernance
    function proposeTransfer(address to, uint256 amount, string calldata reason) external returns (uint256 id) {
        require(to != address(0), "Governance: cannot transfer to the zero address");
        if (amount == 0 || amount > address(this).balance) {
            revert(string.concat("Governance: amount must be from 1 to the reserve's ",
                                 MockText.decimal(address(this).balance), " wei, got ", MockText.decimal(amount)));
        }
        id = _propose(0, reason);
        (_proposals[id].to, _proposals[id].amount) = (to, amount);
    }

    /// @inheritdoc IGovernance
    /// @dev The parameter table is not modelled: any name and value are accepted.
    function proposeParam(string calldata name, string calldata value, string calldata reason)
        external returns (uint256 id)
    {
        id = _propose(1, reason);
        (_proposals[id].name, _proposals[id].value) = (name, value);
    }

    /// @inheritdoc IGovernance
    function vote(uint256 id, uint8 answer) external {
        Proposal storage p = _proposal(id);
        if (answer > 2) {
            revert(string.concat("Governance: answer must be 0 (yes), 1 (no) or 2 (abstain), got ",
                                 MockText.decimal(answer)));
        }
        if (p.status != 0) {
            revert(string.concat("Governance: proposal ", MockText.decimal(id), " is already decided"));
        }
        require(_power[msg.sender] > 0, "Governance: only validators and backup validators may vote");
        uint256 index = p.voters.length;
        for (uint256 i = 0; i < p.voters.length; i++) if (p.voters[i] == msg.sender) index = i;
        if (index == p.voters.length) {
            p.voters.push(msg.sender);
            p.answers.push(answer);
            p.powers.push(_power[msg.sender]);
        } else {
            (p.answers[index], p.powers[index]) = (answer, _power[msg.sender]);
        }
        emit Voted(id, msg.sender, answer, _power[msg.sender]);
        uint256 yes;
        uint256 no;
        for (uint256 i = 0; i < p.voters.length; i++) {
            if (p.answers[i] == 0) yes += p.powers[i];
            if (p.answers[i] == 1) no += p.powers[i];
        }
        uint8 outcome = 3 * yes >= 2 * _totalPower ? 1 : (3 * no >= 2 * _totalPower ? 2 : 0);
        if (outcome != 0) {
            (p.status, p.decidedAt) = (outcome, block.timestamp);
            emit ProposalDecided(id, outcome);
        }
    }

    /// @inheritdoc IGovernance
    function proposalCount() external view returns (uint256) {
        return _proposalCount;
    }

    /// @inheritdoc IGovernance
    function getProposal(uint256 id) external view returns (
        uint8 kind, address proposer, address to, uint256 amount, string memory name, string memory value,
        string memory reason, uint8 status, uint256 createdAt, uint256 expireAt, uint256 decidedAt,
        string memory detail
    ) {
        Proposal storage p = _proposal(id);
        return (p.kind, p.proposer, p.to, p.amount, p.name, p.value, p.reason, p.status, p.createdAt, p.expireAt,
                p.decidedAt, "");
    }

    /// @inheritdoc IGovernance
    function openProposals() external view returns (uint256[] memory ids) {
        uint256 open;
        for (uint256 id = 0; id < _proposalCount; id++) if (_proposals[id].status == 0) open++;
        ids = new uint256[](open);
        open = 0;
        for (uint256 id = 0; id < _proposalCount; id++) if (_proposals[id].status == 0) ids[open++] = id;
    }

    /// @inheritdoc IGovernance
    function getVotes(uint256 id)
        external view returns (address[] memory voters, uint8[] memory answers, uint256[] memory powers)
    {
        Proposal storage p = _proposal(id);
        return (p.voters, p.answers, p.powers);
    }

    /// @inheritdoc IGovernance
    /// @dev The parameter table is not modelled: always "".
    function getParam(string calldata) external pure returns (string memory) {
        return "";
    }

    /// @inheritdoc IGovernance
    /// @dev The parameter table is not modelled: always empty.
    function getParams() external pure returns (string[] memory names, string[] memory values) {
        return (new string[](0), new string[](0));
    }

    /// @inheritdoc IGovernance
    function reserve() external view returns (uint256) {
        return address(this).balance;
    }

    function _propose(uint8 kind, string calldata reason) internal returns (uint256 id) {
        require(_power[msg.sender] > 0, "Governance: only validators and backup validators may propose");
        if (bytes(reason).length > MAX_REASON_BYTES) {
            revert(string.concat("Governance: reason longer than ", MockText.decimal(MAX_REASON_BYTES), " bytes"));
        }
        id = _proposalCount++;
        Proposal storage p = _proposals[id];
        (p.kind, p.proposer, p.reason) = (kind, msg.sender, reason);
        (p.createdAt, p.expireAt) = (block.timestamp, block.timestamp + EXPIRE_PERIOD);
        emit ProposalCreated(id, msg.sender, kind, p.expireAt);
    }

    function _proposal(uint256 id) internal view returns (Proposal storage) {
        if (id >= _proposalCount) revert(string.concat("Governance: no proposal ", MockText.decimal(id)));
        return _proposals[id];
    }
}
