// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title Identity wallet grants: which application may read which personal-data item, until when, for what use
/// @notice Personal data stays off chain in the user's identity wallet. On chain the user records grants (an
/// application, a data item, a purpose, an expiry) and revokes them; an application checks a grant before it
/// reads and records each read, so the user and anyone auditing see every access that was claimed under a grant.
/// @dev No value flows through this contract. Items and purposes are identifiers (for example
/// keccak256("bank.account") and keccak256("loan underwriting")); one grant per (user, application, item): a new
/// grant replaces the previous one.
contract IdentityGrants {
    /// @notice One grant, as recorded.
    struct Grant {
        address user;
        address app;
        bytes32 item;
        bytes32 purpose;
        uint64 grantedAt;
        uint64 expiresAt;
        bool revoked;
    }

    /// @notice Grants recorded; ids run from 1.
    uint256 public grantCount;
    mapping(uint256 => Grant) private _grants;
    /// @notice The id of the current grant of (user, application, item), 0 if none was ever made.
    mapping(address => mapping(address => mapping(bytes32 => uint256))) public currentGrant;

    /// @notice `user` let `app` read `item` for `purpose` until `expiresAt` (replacing grant `replaced`, 0 if none).
    event Granted(
        uint256 indexed id, address indexed user, address indexed app, bytes32 item, bytes32 purpose, uint64 expiresAt,
        uint256 replaced
    );
    /// @notice The user revoked grant `id`.
    event Revoked(uint256 indexed id);
    /// @notice `app` recorded that it read `user`'s `item` under grant `id`.
    event Accessed(uint256 indexed id, address indexed user, address indexed app, bytes32 item);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller may not make this call.
    error NotAllowed();
    /// @notice No valid grant covers this access (none, another purpose, expired or revoked).
    error NoGrant();

    /// @notice The caller lets `app` read its data item `item` for `purpose` until `expiresAt`.
    /// @return id the grant's id
    function grant(address app, bytes32 item, bytes32 purpose, uint64 expiresAt) external returns (uint256 id) {
        if (app == address(0) || app == msg.sender) revert BadParameter("app");
        if (expiresAt <= block.timestamp) revert BadParameter("expiresAt");
        id = ++grantCount;
        _grants[id] = Grant(msg.sender, app, item, purpose, uint64(block.timestamp), expiresAt, false);
        uint256 replaced = currentGrant[msg.sender][app][item];
        currentGrant[msg.sender][app][item] = id;
        emit Granted(id, msg.sender, app, item, purpose, expiresAt, replaced);
    }

    /// @notice The user revokes its grant `id` (at once, whatever its expiry).
    function revoke(uint256 id) external {
        Grant storage recorded = _grants[id];
        if (msg.sender != recorded.user) revert NotAllowed();
        if (recorded.revoked) revert NoGrant();
        recorded.revoked = true;
        emit Revoked(id);
    }

    /// @notice The id of the valid grant that lets `app` read `user`'s `item` for `purpose` now, or 0.
    function authorization(address user, address app, bytes32 item, bytes32 purpose) public view returns (uint256) {
        uint256 id = currentGrant[user][app][item];
        Grant storage recorded = _grants[id];
        if (id == 0 || recorded.revoked || block.timestamp >= recorded.expiresAt || recorded.purpose != purpose) {
            return 0;
        }
        return id;
    }

    /// @notice The calling application records that it reads `user`'s `item` for `purpose`; reverts without a
    /// valid grant, so a recorded access is always one the user allowed.
    /// @return id the grant the access was made under
    function recordAccess(address user, bytes32 item, bytes32 purpose) external returns (uint256 id) {
        id = authorization(user, msg.sender, item, purpose);
        if (id == 0) revert NoGrant();
        emit Accessed(id, user, msg.sender, item);
    }

    /// @notice Grant `id` as recorded (a zero user for an unknown id).
    function getGrant(uint256 id) external view returns (Grant memory) {
        return _grants[id];
    }
}
