// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IStaking} from "@cmt/consensus/dpos/IStaking.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the staking native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C02 (NativeMocks.etchAll). It keeps candidacies, delegations and unbondings, emits the
/// native contract's events and reverts with its "Staking: " reasons for the rules of declareCandidacy,
/// updateCandidacy, withdrawCandidacy, (de)activateCandidacy, delegate, withdraw and setCommissionRate, under the
/// default parameters (consensus/dpos/params.py). It does not elect, reward, slash or pay unbondings: no block
/// runs here. getValidators, getBackups, getAwardInfos and getAbsentValidators return empty lists, votingPower
/// is 0, getSupply reports only bonded and unbonding, verifyCandidacy reverts (the default foundation is
/// nobody) and the ownership hand-over reverts as not modelled. Its storage is its own: in a fork it does not see
/// the chain's candidacies unless copied in with seedCandidate (NativeMocks.copyCandidate).
contract StakingMock is IStaking {
    uint256 internal constant SELF_STAKING_RATIO_BP = 1000;
    uint256 internal constant MIN_STAKING_AMOUNT = 1000 ether;
    uint256 internal constant MIN_COMMISSION_BP = 0;
    uint256 internal constant MAX_COMMISSION_BP = 5000;
    uint256 internal constant UNBONDING_PERIOD = 7 days;
    uint256 internal constant MAX_DESCRIPTION_FIELD = 256;
    uint256 internal constant MAX_PAGE = 100;

    address[] internal _owners;
    mapping(address => CandidateInfo) internal _candidates;
    mapping(address => bool) internal _isCandidate;
    mapping(bytes32 => address) internal _keyHolder;
    mapping(address => address[]) internal _delegatorsOf;
    mapping(address => address[]) internal _candidatesOf;
    mapping(address => mapping(address => DelegationInfo)) internal _delegations;
    mapping(address => UnbondingInfo[]) internal _unbondings;
    uint256 internal _nextCandidateId;
    uint256 internal _nextSeq;
    uint256 internal _bonded;
    uint256 internal _unbonding;

    /// @inheritdoc IStaking
    function declareCandidacy(bytes32 pubKey, uint256 maxAmount, uint256 commissionBp, string memory name,
                              string memory website, string memory location, string memory email,
                              string memory profile) external payable returns (uint256 id) {
        require(!_isCandidate[msg.sender], "Staking: this account already has a candidacy");
        _checkDescription(name, website, location, email, profile);
        _checkKey(pubKey, msg.sender);
        _checkCommission(commissionBp);
        id = _register(pubKey, maxAmount, commissionBp);
        _describe(name, website, location, email, profile);
        _bond(msg.sender, msg.sender, msg.value, 0);
    }

    /// @inheritdoc IStaking
    function updateCandidacy(bytes32 pubKey, uint256 maxAmount, uint256 commissionBp, string memory name,
                             string memory website, string memory location, string memory email,
                             string memory profile) external payable returns (uint256 stake) {
        _checkDescription(name, website, location, email, profile);
        _updateTerms(_candidate(msg.sender), pubKey, maxAmount, commissionBp);
        emit CandidateUpdated(msg.sender, pubKey, maxAmount, commissionBp);
        _describe(name, website, location, email, profile);
        if (msg.value > 0) _bond(msg.sender, msg.sender, msg.value, 0);
        return _candidates[msg.sender].stake;
    }

    /// @inheritdoc IStaking
    function withdrawCandidacy() external returns (uint256 unbonded) {
        CandidateInfo storage c = _candidate(msg.sender);
        address[] storage delegators = _delegatorsOf[msg.sender];
        for (uint256 i = 0; i < delegators.length; i++) {
            uint256 amount = _delegations[msg.sender][delegators[i]].amount;
            if (amount > 0) {
                _unbond(msg.sender, delegators[i], amount);
                unbonded += amount;
            }
        }
        delete _keyHolder[c.pubKey];
        _isCandidate[msg.sender] = false;
        delete _candidates[msg.sender];
        for (uint256 i = 0; i < _owners.length; i++) {
            if (_owners[i] == msg.sender) {
                _owners[i] = _owners[_owners.length - 1];
                _owners.pop();
                break;
            }
        }
        emit CandidateWithdrawn(msg.sender);
    }

    /// @inheritdoc IStaking
    /// @dev Reverts: the default foundation address is the zero address, which sends no transactions.
    function verifyCandidacy(address, bool) external pure returns (bool) {
        revert("Staking: only the foundation verifies candidacies");
    }

    /// @inheritdoc IStaking
    function activateCandidacy() external returns (bool active) {
        CandidateInfo storage c = _candidate(msg.sender);
        require(!c.active, "Staking: candidacy is already active");
        (c.active, c.jailed, c.missedBlocks) = (true, false, 0);
        emit CandidateActivated(msg.sender, true);
        return true;
    }

    /// @inheritdoc IStaking
    function deactivateCandidacy() external returns (bool active) {
        CandidateInfo storage c = _candidate(msg.sender);
        require(c.active, "Staking: candidacy is already inactive");
        c.active = false;
        emit CandidateActivated(msg.sender, false);
        return false;
    }

    /// @inheritdoc IStaking
    /// @dev Not modelled by the mock: reverts.
    function transferCandidacy(address) external pure returns (bool) {
        revert("Staking mock: the ownership hand-over is not modelled");
    }

    /// @inheritdoc IStaking
    /// @dev Not modelled by the mock: reverts.
    function acceptCandidacy(address) external pure returns (uint256) {
        revert("Staking mock: the ownership hand-over is not modelled");
    }

    /// @inheritdoc IStaking
    function delegate(address candidate) external payable returns (uint256 delegated) {
        CandidateInfo storage c = _candidate(candidate);
        require(c.active && !c.jailed, "Staking: candidate is not active");
        if (msg.value < MIN_STAKING_AMOUNT) {
            revert(string.concat("Staking: delegation below the minimum of ", MockText.decimal(MIN_STAKING_AMOUNT),
                                 " wei"));
        }
        if (c.stake + msg.value > c.maxAmount) {
            revert(string.concat("Staking: candidate accepts at most ", MockText.decimal(c.maxAmount - c.stake),
                                 " more wei"));
        }
        uint256 commission = msg.sender == candidate ? 0 : c.commissionBp;
        return _bond(candidate, msg.sender, msg.value, commission);
    }

    /// @inheritdoc IStaking
    function withdraw(address candidate, uint256 amount) external returns (uint256 seq) {
        CandidateInfo storage c = _candidate(candidate);
        DelegationInfo storage d = _delegations[candidate][msg.sender];
        require(d.delegator != address(0), "Staking: no delegation to this candidate");
        if (amount == 0 || amount > d.amount) {
            revert(string.concat("Staking: amount must be between 1 and ", MockText.decimal(d.amount), " wei"));
        }
        if (msg.sender == candidate && d.amount - amount < c.selfStake) {
            revert(string.concat("Staking: the owner cannot withdraw below its self-stake of ",
                                 MockText.decimal(c.selfStake), " wei"));
        }
        return _unbond(candidate, msg.sender, amount);
    }

    /// @inheritdoc IStaking
    function setCommissionRate(address delegator, uint256 commissionBp) external returns (bool) {
        CandidateInfo storage c = _candidate(msg.sender);
        DelegationInfo storage d = _delegations[msg.sender][delegator];
        require(d.delegator != address(0), "Staking: no delegation from this delegator");
        require(delegator != msg.sender, "Staking: the owner's own delegation pays no commission");
        if (commissionBp < MIN_COMMISSION_BP || commissionBp > c.commissionBp) {
            revert(string.concat("Staking: commission must be between ", MockText.decimal(MIN_COMMISSION_BP),
                                 " and ", MockText.decimal(c.commissionBp), " bp"));
        }
        d.commissionBp = commissionBp;
        emit CommissionRateSet(msg.sender, delegator, commissionBp);
        return true;
    }

    /// @inheritdoc IStaking
    /// @dev The mock elects nobody: always empty.
    function getValidators() external pure returns (Member[] memory) {
        return new Member[](0);
    }

    /// @inheritdoc IStaking
    /// @dev The mock elects nobody: always empty.
    function getBackups() external pure returns (Member[] memory) {
        return new Member[](0);
    }

    /// @inheritdoc IStaking
    function getCandidate(address owner) external view returns (CandidateInfo memory) {
        return _candidate(owner);
    }

    /// @inheritdoc IStaking
    function candidateCount() external view returns (uint256) {
        return _owners.length;
    }

    /// @inheritdoc IStaking
    function getCandidates(uint256 offset, uint256 limit) external view returns (CandidateInfo[] memory page) {
        if (limit > MAX_PAGE) {
            revert(string.concat("Staking: at most ", MockText.decimal(MAX_PAGE), " candidates per call"));
        }
        uint256 end = offset + limit > _owners.length ? _owners.length : offset + limit;
        page = new CandidateInfo[](end > offset ? end - offset : 0);
        for (uint256 i = 0; i < page.length; i++) page[i] = _candidates[_owners[offset + i]];
    }

    /// @inheritdoc IStaking
    function getDelegations(address delegator) external view returns (DelegationInfo[] memory list) {
        address[] storage candidates = _candidatesOf[delegator];
        list = new DelegationInfo[](candidates.length);
        for (uint256 i = 0; i < list.length; i++) list[i] = _delegations[candidates[i]][delegator];
    }

    /// @inheritdoc IStaking
    function getCandidateDelegations(address candidate) external view returns (DelegationInfo[] memory list) {
        address[] storage delegators = _delegatorsOf[candidate];
        list = new DelegationInfo[](delegators.length);
        for (uint256 i = 0; i < list.length; i++) list[i] = _delegations[candidate][delegators[i]];
    }

    /// @inheritdoc IStaking
    /// @dev Unbondings stay listed after maturity: the mock pays nothing (no block runs here).
    function getUnbondings(address delegator) external view returns (UnbondingInfo[] memory) {
        return _unbondings[delegator];
    }

    /// @inheritdoc IStaking
    /// @dev No block awards in the mock: always empty.
    function getAwardInfos() external pure returns (AwardInfo[] memory) {
        return new AwardInfo[](0);
    }

    /// @inheritdoc IStaking
    /// @dev No blocks are signed in the mock: always empty.
    function getAbsentValidators() external pure returns (AbsentInfo[] memory) {
        return new AbsentInfo[](0);
    }

    /// @inheritdoc IStaking
    /// @dev Only bonded and unbonding are known to the mock; every other field is 0.
    function getSupply() external view returns (SupplyInfo memory supply) {
        supply.bonded = _bonded;
        supply.unbonding = _unbonding;
    }

    /// @notice Mock only: put a candidacy read from a chain (IStaking.getCandidate) into the mock, so that a fork
    /// test or script can delegate to it. Its stake counts as the owner's self-delegation.
    function seedCandidate(CandidateInfo calldata info) external {
        require(!_isCandidate[info.owner], "Staking: this account already has a candidacy");
        _candidates[info.owner] = info;
        CandidateInfo storage c = _candidates[info.owner];
        (c.stake, c.delegatorCount, c.votingPower) = (0, 0, 0);
        _isCandidate[info.owner] = true;
        _owners.push(info.owner);
        _keyHolder[info.pubKey] = info.owner;
        if (info.id >= _nextCandidateId) _nextCandidateId = info.id + 1;
        if (info.stake > 0) _recordBond(info.owner, info.owner, info.stake, 0);
    }

    function _candidate(address owner) internal view returns (CandidateInfo storage) {
        if (!_isCandidate[owner]) {
            revert(string.concat("Staking: ", MockText.hexAddress(owner), " is not a candidate"));
        }
        return _candidates[owner];
    }

    function _bond(address candidate, address delegator, uint256 amount, uint256 commissionBp)
        internal returns (uint256 delegated)
    {
        delegated = _recordBond(candidate, delegator, amount, commissionBp);
        emit Delegated(delegator, candidate, amount);
    }

    function _recordBond(address candidate, address delegator, uint256 amount, uint256 commissionBp)
        internal returns (uint256)
    {
        DelegationInfo storage d = _delegations[candidate][delegator];
        if (d.delegator == address(0)) {
            (d.candidate, d.delegator, d.commissionBp) = (candidate, delegator, commissionBp);
            _delegatorsOf[candidate].push(delegator);
            _candidatesOf[delegator].push(candidate);
            _candidates[candidate].delegatorCount++;
        }
        d.amount += amount;
        _candidates[candidate].stake += amount;
        _bonded += amount;
        return d.amount;
    }

    function _unbond(address candidate, address delegator, uint256 amount) internal returns (uint256 seq) {
        _delegations[candidate][delegator].amount -= amount;
        _candidates[candidate].stake -= amount;
        _bonded -= amount;
        _unbonding += amount;
        seq = _nextSeq++;
        uint256 matureTime = block.timestamp + UNBONDING_PERIOD;
        _unbondings[delegator].push(UnbondingInfo(seq, candidate, amount, matureTime));
        emit Withdrawn(delegator, candidate, amount, seq, matureTime);
    }

    function _updateTerms(CandidateInfo storage c, bytes32 pubKey, uint256 maxAmount, uint256 commissionBp) internal {
        if (pubKey != bytes32(0) && pubKey != c.pubKey) {
            _checkKey(pubKey, msg.sender);
            c.pendingPubKey = pubKey;
            _keyHolder[pubKey] = msg.sender;
        }
        _checkCommission(commissionBp);
        uint256 selfStake = maxAmount * SELF_STAKING_RATIO_BP / 10_000;
        uint256 own = _delegations[msg.sender][msg.sender].amount + msg.value;
        if (own < selfStake) {
            revert(string.concat("Staking: the owner's stake ", MockText.decimal(own),
                                 " wei would be below the self-stake of ", MockText.decimal(selfStake), " wei"));
        }
        if (maxAmount < c.stake + msg.value) {
            revert(string.concat("Staking: max amount below the bonded stake of ",
                                 MockText.decimal(c.stake + msg.value), " wei"));
        }
        (c.maxAmount, c.commissionBp, c.selfStake) = (maxAmount, commissionBp, selfStake);
    }

    /// The self-stake of a candidacy accepting `maxAmount`, which msg.value must cover.
    function _selfStakeOf(uint256 maxAmount) internal view returns (uint256 selfStake) {
        selfStake = maxAmount * SELF_STAKING_RATIO_BP / 10_000;
        if (selfStake < MIN_STAKING_AMOUNT) {
            revert(string.concat("Staking: self-stake ", MockText.decimal(selfStake), " wei is below the minimum of ",
                                 MockText.decimal(MIN_STAKING_AMOUNT), " wei"));
        }
        if (msg.value < selfStake || msg.value > maxAmount) {
            revert(string.concat("Staking: send between ", MockText.decimal(selfStake), " (the self-stake) and ",
                                 MockText.decimal(maxAmount), " wei"));
        }
    }

    function _register(bytes32 pubKey, uint256 maxAmount, uint256 commissionBp) internal returns (uint256 id) {
        uint256 selfStake = _selfStakeOf(maxAmount);
        id = _nextCandidateId++;
        CandidateInfo storage c = _candidates[msg.sender];
        (c.owner, c.id, c.pubKey, c.maxAmount) = (msg.sender, id, pubKey, maxAmount);
        (c.commissionBp, c.selfStake, c.active, c.declaredAt) = (commissionBp, selfStake, true, block.number);
        _isCandidate[msg.sender] = true;
        _owners.push(msg.sender);
        _keyHolder[pubKey] = msg.sender;
        emit CandidateDeclared(msg.sender, pubKey, maxAmount, commissionBp, selfStake);
    }

    /// A changed description clears the verification.
    function _describe(string memory name, string memory website, string memory location,
                       string memory email, string memory profile) internal {
        CandidateInfo storage c = _candidates[msg.sender];
        if (_same(c.name, name) && _same(c.website, website) && _same(c.location, location)
            && _same(c.email, email) && _same(c.profile, profile)) return;
        c.verified = false;
        c.name = name;
        c.website = website;
        c.location = location;
        c.email = email;
        c.profile = profile;
    }

    function _same(string storage stored, string memory given) internal pure returns (bool) {
        return keccak256(bytes(stored)) == keccak256(bytes(given));
    }

    function _checkKey(bytes32 pubKey, address owner) internal view {
        require(pubKey != bytes32(0), "Staking: consensus key must be 32 nonzero bytes");
        address holder = _keyHolder[pubKey];
        require(holder == address(0) || holder == owner, "Staking: consensus key already used by another candidate");
    }

    function _checkCommission(uint256 commissionBp) internal pure {
        if (commissionBp < MIN_COMMISSION_BP || commissionBp > MAX_COMMISSION_BP) {
            revert(string.concat("Staking: commission must be between ", MockText.decimal(MIN_COMMISSION_BP),
                                 " and ", MockText.decimal(MAX_COMMISSION_BP), " bp"));
        }
    }

    function _checkDescription(string memory name, string memory website, string memory location,
                               string memory email, string memory profile) internal pure {
        _checkField("name", name);
        _checkField("website", website);
        _checkField("location", location);
        _checkField("email", email);
        _checkField("profile", profile);
    }

    function _checkField(string memory label, string memory value) internal pure {
        if (bytes(value).length > MAX_DESCRIPTION_FIELD) {
            revert(string.concat("Staking: description ", label, " longer than ",
                                 MockText.decimal(MAX_DESCRIPTION_FIELD), " bytes"));
        }
    }
}
