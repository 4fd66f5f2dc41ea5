// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {MockText} from "./MockText.sol";

/// @title Reference mock of the oracle-quorum native contract, for Foundry's local EVM
/// @notice Etch it at 0x…0C13 (NativeMocks.etchAll). Explicit sets, requests, attestations (m agreeing members
/// resolve, one attestation per member, none after the deadline), expire and the views behave as on the chain, with
/// block.timestamp as block time; a test plays the oracles with vm.prank. A local EVM has no elected validators:
/// defineValidatorSet records the set, and a request to it reverts with "Oracle: there are no elected validators".
/// Storage layout differs from the chain's, so in a fork the mock starts empty.
contract OracleMock is IOracle {
    uint8 internal constant PENDING = 1;
    uint8 internal constant RESOLVED = 2;
    uint8 internal constant TIMED_OUT = 3;

    struct OracleSet {
        address owner;
        bool validators;
        address[] members;
        uint256 threshold;
        uint256 numerator;
        uint256 denominator;
    }

    OracleSet[] internal _sets;
    RequestInfo[] internal _requests;
    mapping(uint256 => mapping(address => bytes32)) internal _attested;
    mapping(uint256 => mapping(bytes32 => uint256)) internal _tally;

    /// @inheritdoc IOracle
    function defineSet(address[] calldata members, uint256 threshold) external returns (uint256 setId) {
        if (members.length == 0 || members.length > 32) {
            revert(string.concat("Oracle: a set has 1 to 32 members, got ", MockText.decimal(members.length)));
        }
        for (uint256 i = 0; i < members.length; i++) {
            if (members[i] == address(0)) revert(string.concat("Oracle: member ", MockText.decimal(i), " is the zero address"));
            for (uint256 j = 0; j < i; j++) {
                if (members[j] == members[i]) {
                    revert(string.concat("Oracle: member ", MockText.decimal(i), " (", MockText.hexAddress(members[i]),
                                         ") is listed twice"));
                }
            }
        }
        if (threshold == 0 || threshold > members.length) {
            revert(string.concat("Oracle: threshold must be 1 to ", MockText.decimal(members.length),
                                 " (the number of members), got ", MockText.decimal(threshold)));
        }
        _sets.push(OracleSet(msg.sender, false, members, threshold, 0, 0));
        setId = _sets.length;
        emit OracleSetDefined(setId, msg.sender, false, threshold, 0, 0);
    }

    /// @inheritdoc IOracle
    function defineValidatorSet(uint256 numerator, uint256 denominator) external returns (uint256 setId) {
        if (denominator == 0 || denominator > 10000 || numerator == 0 || numerator > denominator) {
            revert(string.concat("Oracle: fraction must satisfy 0 < numerator <= denominator <= 10000, got ",
                                 MockText.decimal(numerator), "/", MockText.decimal(denominator)));
        }
        _sets.push(OracleSet(msg.sender, true, new address[](0), 0, numerator, denominator));
        setId = _sets.length;
        emit OracleSetDefined(setId, msg.sender, true, 0, numerator, denominator);
    }

    /// @inheritdoc IOracle
    function getSet(uint256 setId)
        external
        view
        returns (address, bool, address[] memory, uint256, uint256, uint256)
    {
        OracleSet storage s = _set(setId);
        return (s.owner, s.validators, s.members, s.threshold, s.numerator, s.denominator);
    }

    /// @inheritdoc IOracle
    function setCount() external view returns (uint256) {
        return _sets.length;
    }

    /// @inheritdoc IOracle
    function request(uint256 setId, string calldata topic, bytes calldata payload, uint64 deadline,
                     uint32 maxResponseBytes) external returns (uint256 requestId) {
        bytes calldata text = bytes(topic);
        bool valid = text.length >= 1 && text.length <= 64;
        for (uint256 i = 0; valid && i < text.length; i++) valid = text[i] > 0x20 && text[i] < 0x7f;
        if (!valid) revert("Oracle: topic must be 1 to 64 printable ASCII characters without spaces");
        if (payload.length > 4096) {
            revert(string.concat("Oracle: payload too large (", MockText.decimal(payload.length), " bytes, limit 4096)"));
        }
        if (deadline <= block.timestamp || deadline > block.timestamp + 7 days) {
            revert(string.concat("Oracle: deadline ", MockText.decimal(deadline), " must be after block time ",
                                 MockText.decimal(block.timestamp), " and at most 604800 s later"));
        }
        if (maxResponseBytes == 0 || maxResponseBytes > 1024) {
            revert(string.concat("Oracle: maxResponseBytes must be 1 to 1024, got ", MockText.decimal(maxResponseBytes)));
        }
        OracleSet storage s = _set(setId);
        if (s.validators) revert("Oracle: there are no elected validators");
        RequestInfo storage r = _requests.push();
        r.setId = setId;
        r.requester = msg.sender;
        r.status = PENDING;
        r.threshold = s.threshold;
        r.deadline = deadline;
        r.maxResponseBytes = maxResponseBytes;
        r.members = s.members;
        requestId = _requests.length;
        emit OracleRequested(requestId, setId, msg.sender, topic, payload, deadline, maxResponseBytes, s.threshold,
                             s.members);
    }

    /// @inheritdoc IOracle
    function attest(uint256 requestId, bytes calldata value) external returns (bool resolved) {
        RequestInfo storage r = _request(requestId);
        string memory id = MockText.decimal(requestId);
        if (r.status == RESOLVED) revert(string.concat("Oracle: request ", id, " is already resolved"));
        if (r.status == TIMED_OUT || block.timestamp > r.deadline) {
            revert(string.concat("Oracle: request ", id, " closed at its deadline ", MockText.decimal(r.deadline),
                                 " (block time ", MockText.decimal(block.timestamp), ")"));
        }
        bool member;
        for (uint256 i = 0; i < r.members.length; i++) member = member || r.members[i] == msg.sender;
        string memory sender = MockText.hexAddress(msg.sender);
        if (!member) revert(string.concat("Oracle: ", sender, " is not an oracle of request ", id));
        if (_attested[requestId][msg.sender] != 0) revert(string.concat("Oracle: ", sender, " already attested request ", id));
        if (value.length == 0 || value.length > r.maxResponseBytes) {
            revert(string.concat("Oracle: answer of ", MockText.decimal(value.length), " bytes; request ", id,
                                 " takes 1 to ", MockText.decimal(r.maxResponseBytes), " bytes"));
        }
        bytes32 valueHash = keccak256(value);
        _attested[requestId][msg.sender] = valueHash;
        r.attesters.push(msg.sender);
        r.valueHashes.push(valueHash);
        emit Attested(requestId, msg.sender, valueHash, value);
        if (++_tally[requestId][valueHash] < r.threshold) return false;
        r.status = RESOLVED;
        r.value = value;
        address[] memory agreeing = new address[](r.threshold);
        uint256 n;
        for (uint256 i = 0; i < r.attesters.length; i++) if (r.valueHashes[i] == valueHash) agreeing[n++] = r.attesters[i];
        emit Resolved(requestId, valueHash, value, agreeing);
        return true;
    }

    /// @inheritdoc IOracle
    function expire(uint256 requestId) external returns (bool) {
        RequestInfo storage r = _request(requestId);
        string memory id = MockText.decimal(requestId);
        if (r.status != PENDING) {
            revert(string.concat("Oracle: request ", id, r.status == RESOLVED ? " is already resolved" : " is already timed out"));
        }
        if (block.timestamp <= r.deadline) {
            revert(string.concat("Oracle: request ", id, " is open until ", MockText.decimal(r.deadline),
                                 " (block time ", MockText.decimal(block.timestamp), ")"));
        }
        r.status = TIMED_OUT;
        emit RequestTimedOut(requestId, r.deadline);
        return true;
    }

    /// @inheritdoc IOracle
    function result(uint256 requestId) external view returns (uint8 status, bytes memory value) {
        RequestInfo storage r = _request(requestId);
        status = _status(r);
        value = status == RESOLVED ? r.value : bytes("");
    }

    /// @inheritdoc IOracle
    function getRequest(uint256 requestId) external view returns (RequestInfo memory info) {
        info = _request(requestId);
        info.status = _status(_request(requestId));
    }

    /// @inheritdoc IOracle
    function requestCount() external view returns (uint256) {
        return _requests.length;
    }

    function _set(uint256 setId) internal view returns (OracleSet storage) {
        if (setId == 0 || setId > _sets.length) revert(string.concat("Oracle: no oracle set ", MockText.decimal(setId)));
        return _sets[setId - 1];
    }

    function _request(uint256 requestId) internal view returns (RequestInfo storage) {
        if (requestId == 0 || requestId > _requests.length) {
            revert(string.concat("Oracle: no request ", MockText.decimal(requestId)));
        }
        return _requests[requestId - 1];
    }

    function _status(RequestInfo storage r) internal view returns (uint8) {
        return r.status == PENDING && block.timestamp > r.deadline ? TIMED_OUT : r.status;
    }
}
