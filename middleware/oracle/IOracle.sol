// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Oracle quorum: m-of-n attested answers (native contract at 0x0000000000000000000000000000000000000C13)
/// @notice A contract defines an oracle set (explicit accounts with a threshold m, or the elected validators with m
///         as a fraction), then requests a value from it with a deadline in block time. Each member answers with
///         attest(), a transaction of its own account; the value is accepted once m members attested the same bytes.
///         A request still unresolved after its deadline is timed out: attestations are refused and result()
///         reports TIMED_OUT, which the requesting contract handles as the failure. Errors revert with "Oracle: ...".
interface IOracle {
    /// @notice Status codes of result() and getRequest().
    /// PENDING = 1 (open), RESOLVED = 2 (value accepted), TIMED_OUT = 3 (deadline passed unresolved: the failure).
    struct RequestInfo {
        uint256 setId;
        address requester;
        uint8 status;
        uint256 threshold;
        uint64 deadline;
        uint32 maxResponseBytes;
        address[] members;
        bytes value;
        address[] attesters;
        bytes32[] valueHashes;
    }

    event OracleSetDefined(
        uint256 indexed setId, address indexed owner, bool validators, uint256 threshold, uint256 numerator,
        uint256 denominator
    );
    /// @notice A request; oracle nodes answer those whose `members` include their account.
    event OracleRequested(
        uint256 indexed requestId, uint256 indexed setId, address indexed requester, string topic, bytes payload,
        uint64 deadline, uint32 maxResponseBytes, uint256 threshold, address[] members
    );
    /// @notice One member's attestation (conflicting values are recorded as they come).
    event Attested(uint256 indexed requestId, address indexed oracle, bytes32 valueHash, bytes value);
    /// @notice m members attested `value`; `attesters` are those members.
    event Resolved(uint256 indexed requestId, bytes32 valueHash, bytes value, address[] attesters);
    /// @notice expire() recorded that the request passed its deadline unresolved.
    event RequestTimedOut(uint256 indexed requestId, uint64 deadline);

    /// @notice Defines a set of 1-32 distinct non-zero accounts of which `threshold` (1..n) must agree.
    function defineSet(address[] calldata members, uint256 threshold) external returns (uint256 setId);

    /// @notice Defines "the elected validators" (their owner accounts, at most 32, resolved at request time):
    ///         ceil(n * numerator / denominator) must agree; 0 < numerator <= denominator <= 10000.
    function defineValidatorSet(uint256 numerator, uint256 denominator) external returns (uint256 setId);

    /// @notice A set's owner, kind, members and threshold (explicit sets) or fraction (validator sets).
    function getSet(uint256 setId)
        external
        view
        returns (
            address owner,
            bool validators,
            address[] memory members,
            uint256 threshold,
            uint256 numerator,
            uint256 denominator
        );

    /// @notice Number of oracle sets defined so far.
    function setCount() external view returns (uint256);

    /// @notice Asks set `setId`: `topic` 1-64 printable ASCII characters without spaces, `payload` at most 4096 bytes,
    ///         `deadline` a block time after now and at most 7 days ahead, answers of 1..`maxResponseBytes` bytes
    ///         (at most 1024). Returns the request id (1, 2, ...).
    function request(
        uint256 setId,
        string calldata topic,
        bytes calldata payload,
        uint64 deadline,
        uint32 maxResponseBytes
    ) external returns (uint256 requestId);

    /// @notice A member's answer, once per member, until the deadline. Returns true when it resolved the request.
    function attest(uint256 requestId, bytes calldata value) external returns (bool resolved);

    /// @notice Records that a pending request passed its deadline (anyone may call it; emits RequestTimedOut).
    function expire(uint256 requestId) external returns (bool);

    /// @notice The request's status (1 pending, 2 resolved, 3 timed out) and its value (empty unless resolved).
    function result(uint256 requestId) external view returns (uint8 status, bytes memory value);

    /// @notice Everything about a request, with every attestation (attester and the hash of what it attested).
    function getRequest(uint256 requestId) external view returns (RequestInfo memory);

    /// @notice Number of requests made so far.
    function requestCount() external view returns (uint256);
}
