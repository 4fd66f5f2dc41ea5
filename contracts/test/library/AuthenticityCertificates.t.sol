// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {AuthenticityCertificates} from "../../src/library/AuthenticityCertificates.sol";
import {IERC721Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @notice An issuer contract that re-enters issue() from onERC721Received, minting a second certificate while
/// the first is being delivered.
contract ReentrantIssuer {
    AuthenticityCertificates private immutable certificates;
    uint256 public nestedId;

    constructor(AuthenticityCertificates certificates_) {
        certificates = certificates_;
        certificates_.registerIssuer("Reentrant");
    }

    function issueToSelf(bytes32 feature) external returns (uint256) {
        bytes32[] memory features = new bytes32[](1);
        features[0] = feature;
        return certificates.issue(address(this), features);
    }

    function onERC721Received(address, address, uint256, bytes calldata) external returns (bytes4) {
        if (nestedId == 0) {
            nestedId = type(uint256).max;
            nestedId = this.issueToSelf(keccak256("nested"));
        }
        return this.onERC721Received.selector;
    }
}

contract AuthenticityCertificatesTest {
    event Revoked(uint256 indexed id, bytes32 reason);

    AuthenticityCertificates certificates;
    address maker = address(0x3A4E);
    address shop = address(0x5409);
    address buyer = address(0xB0B);
    address collector = address(0xC011);
    bytes32 serial = keccak256("serial SN-0001");
    bytes32 photo = keccak256("photo of the stitching");

    function setUp() public {
        vm.warp(1_000_000);
        certificates = new AuthenticityCertificates();
        vm.prank(maker);
        certificates.registerIssuer("Vintage Leather Co.");
    }

    function _issue() internal returns (uint256 id) {
        bytes32[] memory features = new bytes32[](2);
        (features[0], features[1]) = (serial, photo);
        vm.prank(maker);
        id = certificates.issue(shop, features);
    }

    function testIssuedCertificateVerifiesItsFeatures() public {
        uint256 id = _issue();
        require(certificates.ownerOf(id) == shop, "owned by the first holder");
        require(certificates.verify(id, serial) && certificates.verify(id, photo), "features verify");
        require(!certificates.verify(id, keccak256("another serial")), "other features do not");
        require(!certificates.verify(id + 1, serial), "unknown certificates do not");
        AuthenticityCertificates.Certificate memory record = certificates.certificate(id);
        require(record.issuer == maker && record.issuedAt == 1_000_000 && !record.revoked, "record");
    }

    function testOnlyRegisteredIssuersIssue() public {
        bytes32[] memory features = new bytes32[](1);
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.NotIssuer.selector));
        certificates.issue(shop, features);
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.BadParameter.selector, "features"));
        certificates.issue(shop, new bytes32[](0));
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.BadParameter.selector, "features"));
        certificates.issue(shop, new bytes32[](17));
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.BadParameter.selector, "name"));
        certificates.registerIssuer("");
    }

    function testTransfersFollowOwnershipIntoTheProvenance() public {
        uint256 id = _issue();
        vm.warp(2_000_000);
        vm.prank(shop);
        certificates.transferFrom(shop, buyer, id);
        vm.warp(3_000_000);
        vm.prank(buyer);
        certificates.safeTransferFrom(buyer, collector, id);
        require(certificates.ownerOf(id) == collector, "the collector holds it");
        require(certificates.provenanceLength(id) == 3, "three holdings");
        AuthenticityCertificates.Holding memory first = certificates.provenanceAt(id, 0);
        AuthenticityCertificates.Holding memory last = certificates.provenanceAt(id, 2);
        require(first.owner == shop && first.since == 1_000_000, "issued to the shop");
        require(certificates.provenanceAt(id, 1).owner == buyer, "then the buyer");
        require(last.owner == collector && last.since == 3_000_000, "then the collector");
    }

    function testOnlyTheHolderTransfers() public {
        uint256 id = _issue();
        vm.prank(maker);
        vm.expectRevert(
            abi.encodeWithSelector(IERC721Errors.ERC721InsufficientApproval.selector, maker, id)
        );
        certificates.transferFrom(shop, maker, id);
    }

    function testRevokedCertificateShowsAsSuchAndNoLongerMoves() public {
        uint256 id = _issue();
        bytes32 report = keccak256("inspection report: counterfeit");
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.NotIssuer.selector));
        certificates.revoke(id, report);
        vm.expectEmit(true, false, false, true);
        emit Revoked(id, report);
        vm.prank(maker);
        certificates.revoke(id, report);
        AuthenticityCertificates.Certificate memory record = certificates.certificate(id);
        require(record.revoked && record.revocationReason == report, "shows as revoked");
        require(!certificates.verify(id, serial), "no longer verifies");
        vm.prank(shop);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.CertificateRevoked.selector, id));
        certificates.transferFrom(shop, buyer, id);
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(AuthenticityCertificates.CertificateRevoked.selector, id));
        certificates.revoke(id, report);
    }

    function testReentrantIssueDuringDeliveryKeepsBothRecordsApart() public {
        ReentrantIssuer issuer = new ReentrantIssuer(certificates);
        uint256 outer = issuer.issueToSelf(keccak256("outer"));
        uint256 nested = issuer.nestedId();
        require(outer == 1 && nested == 2, "distinct ids, the outer one taken before the callback");
        require(certificates.verify(outer, keccak256("outer")) && !certificates.verify(outer, keccak256("nested")), "outer");
        require(certificates.verify(nested, keccak256("nested")) && !certificates.verify(nested, keccak256("outer")), "nested");
        require(certificates.provenanceLength(outer) == 1 && certificates.provenanceLength(nested) == 1, "one holding each");
        require(certificates.balanceOf(address(issuer)) == 2, "both delivered");
    }
}
