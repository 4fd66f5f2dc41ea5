// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC721} from "@openzeppelin/contracts/token/ERC721/ERC721.sol";

/// @title Certificates of authenticity: ERC-721 tokens bound to a product's recorded features
/// @notice A manufacturer or seller registers as an issuer and issues a certificate to the product's first owner,
/// binding it to content hashes of the product's features (serial number, photos, materials report). The
/// certificate follows the product: each transfer is appended to its provenance, which anyone can read in full.
/// The issuer may revoke a certificate (a counterfeit found, a product destroyed); a revoked certificate shows as
/// such, can no longer be transferred and no longer verifies.
/// @dev No value flows through this contract. Features are bounded (`MAX_FEATURES`) and provenance is read by
/// index, so no call loops over unbounded data.
contract AuthenticityCertificates is ERC721 {
    /// @notice The most feature hashes one certificate carries.
    uint256 public constant MAX_FEATURES = 16;
    /// @notice The longest issuer name, in bytes.
    uint256 public constant MAX_NAME_BYTES = 64;

    /// @notice One certificate's record.
    struct Certificate {
        address issuer;
        uint64 issuedAt;
        bool revoked;
        bytes32 revocationReason;
        bytes32[] features;
    }

    /// @notice One entry of a certificate's provenance: who held it from when.
    struct Holding {
        address owner;
        uint64 since;
    }

    /// @notice Certificates issued; ids run from 1.
    uint256 public certificateCount;
    /// @notice The name each registered issuer gave itself (empty for accounts that never registered).
    mapping(address => string) public issuerName;
    mapping(uint256 => Certificate) private _certificates;
    mapping(uint256 => Holding[]) private _provenance;

    /// @notice `issuer` registered (or renamed itself) as `name`.
    event IssuerRegistered(address indexed issuer, string name);
    /// @notice `issuer` issued certificate `id` to `owner` for the product with these feature hashes.
    event Issued(uint256 indexed id, address indexed issuer, address indexed owner, bytes32[] features);
    /// @notice The issuer revoked certificate `id`, with a content hash of its reason.
    event Revoked(uint256 indexed id, bytes32 reason);

    /// @notice The caller is not a registered issuer, or not the certificate's issuer.
    error NotIssuer();
    /// @notice The certificate was revoked and can no longer move.
    error CertificateRevoked(uint256 id);
    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);

    constructor() ERC721("CyberMiles Authenticity Certificate", "CMTAUTH") {}

    /// @notice Registers the caller as an issuer under `name` (1 to MAX_NAME_BYTES bytes), or renames it.
    function registerIssuer(string calldata name) external {
        if (bytes(name).length == 0 || bytes(name).length > MAX_NAME_BYTES) revert BadParameter("name");
        issuerName[msg.sender] = name;
        emit IssuerRegistered(msg.sender, name);
    }

    /// @notice A registered issuer issues a certificate to `owner` bound to the product's feature hashes.
    /// @param features content hashes of the product's recordable features (1 to MAX_FEATURES)
    /// @return id the certificate's token id
    function issue(address owner, bytes32[] calldata features) external returns (uint256 id) {
        if (bytes(issuerName[msg.sender]).length == 0) revert NotIssuer();
        if (features.length == 0 || features.length > MAX_FEATURES) revert BadParameter("features");
        id = ++certificateCount;
        Certificate storage record = _certificates[id];
        record.issuer = msg.sender;
        record.issuedAt = uint64(block.timestamp);
        record.features = features;
        emit Issued(id, msg.sender, owner, features);
        _safeMint(owner, id);
    }

    /// @notice The issuer revokes certificate `id`; it stays readable and shows as revoked.
    /// @param reason a content hash of the reason (an inspection report, a court decision)
    function revoke(uint256 id, bytes32 reason) external {
        Certificate storage record = _certificates[id];
        if (msg.sender != record.issuer) revert NotIssuer();
        if (record.revoked) revert CertificateRevoked(id);
        record.revoked = true;
        record.revocationReason = reason;
        emit Revoked(id, reason);
    }

    /// @notice Certificate `id` as recorded (issuer, time, revocation, feature hashes).
    function certificate(uint256 id) external view returns (Certificate memory) {
        _requireOwned(id);
        return _certificates[id];
    }

    /// @notice Whether certificate `id` exists, is not revoked and carries `feature` among its feature hashes.
    function verify(uint256 id, bytes32 feature) external view returns (bool) {
        Certificate storage record = _certificates[id];
        if (record.issuer == address(0) || record.revoked) return false;
        bytes32[] storage features = record.features;
        for (uint256 i = 0; i < features.length; ++i) {
            if (features[i] == feature) return true;
        }
        return false;
    }

    /// @notice The number of holdings in certificate `id`'s provenance (the first is the issuance).
    function provenanceLength(uint256 id) external view returns (uint256) {
        return _provenance[id].length;
    }

    /// @notice Holding `index` of certificate `id`'s provenance, oldest first.
    function provenanceAt(uint256 id, uint256 index) external view returns (Holding memory) {
        return _provenance[id][index];
    }

    /// @dev Every mint and transfer appends the new owner to the provenance; revoked certificates do not move.
    function _update(address to, uint256 id, address auth) internal override returns (address from) {
        if (_certificates[id].revoked) revert CertificateRevoked(id);
        from = super._update(to, id, auth);
        _provenance[id].push(Holding(to, uint64(block.timestamp)));
    }
}
