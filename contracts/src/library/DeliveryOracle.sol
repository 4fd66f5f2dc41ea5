// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IOracle} from "@cmt/middleware/oracle/IOracle.sol";
import {ArbitratedEscrow} from "./ArbitratedEscrow.sol";

/// @title Delivery oracle: an escrow's delivery confirmer whose word is an m-of-n oracle quorum's, not one account's
/// @notice Deals of an ArbitratedEscrow (and the orders of a marketplace built on it) name this contract as their
/// confirmer. When the seller ships, it asks the contract's oracle set (IOracle at 0x…0C13: carriers' or
/// validators' oracle processes, each reading the carrier's tracking record) whether the parcel was delivered; once
/// the quorum agrees, anyone settles the request and a "delivered" answer confirms the deal's delivery on the escrow,
/// which starts the buyer's inspection window. A "not delivered" answer, a malformed one or a request that times
/// out confirms nothing, and the seller may ask again; the escrow's own deadlines (a refund when delivery is not
/// confirmed in time, disputes) still apply, so oracles that never answer cannot hold a deal.
/// @dev The request: topic `TOPIC`, payload `abi.encode(escrow, dealId, parcel)`, answers of `ANSWER_BYTES` bytes,
/// `abi.encode(uint256(DELIVERED))` meaning delivered and any other value not. At most one request per deal awaits
/// settlement, so a seller cannot flood the oracles with requests for one deal. The proof recorded on the escrow is
/// `keccak256(abi.encode(requestId, parcel))`: the oracle request, with its attesters, is readable on chain.
contract DeliveryOracle {
    /// @notice The native oracle quorum.
    IOracle public constant ORACLE = IOracle(0x0000000000000000000000000000000000000c13);
    /// @notice The topic of every delivery request.
    string public constant TOPIC = "delivery.status";
    /// @notice The length of an answer: abi.encode(uint256 status).
    uint32 public constant ANSWER_BYTES = 32;
    /// @notice The answer meaning "delivered".
    uint256 public constant DELIVERED = 1;
    /// @notice The longest answer window: the oracle's limit on a deadline, 7 days.
    uint64 public constant MAX_ANSWER_WINDOW = 7 days;

    uint8 private constant PENDING = 1;
    uint8 private constant RESOLVED = 2;

    /// @notice What a request asks about.
    struct Tracking {
        uint256 dealId;
        bytes32 parcel; // the carrier's tracking reference, hashed
    }

    /// @notice The escrow whose deals this contract confirms.
    ArbitratedEscrow public immutable escrow;
    /// @notice The IOracle set asked.
    uint256 public immutable oracleSet;
    /// @notice Seconds the oracles have to answer a request.
    uint64 public immutable answerWindow;

    /// @notice The request awaiting settlement for each deal (0: none).
    mapping(uint256 => uint256) public pendingRequest;
    mapping(uint256 => Tracking) private _tracking;

    /// @notice The seller of deal `dealId` asked the oracles about `parcel` in request `requestId`.
    event DeliveryRequested(uint256 indexed dealId, uint256 indexed requestId, bytes32 parcel, uint64 deadline);
    /// @notice The oracles answered "delivered": the escrow recorded delivery of deal `dealId` with `proof`.
    event DeliveryConfirmed(uint256 indexed dealId, uint256 indexed requestId, bytes32 proof);
    /// @notice Request `requestId` confirmed nothing: it timed out (`timedOut`), its answer was not "delivered", or
    /// the escrow no longer takes a confirmation for the deal (`refused`).
    event DeliveryNotConfirmed(uint256 indexed dealId, uint256 indexed requestId, bool timedOut, bool refused);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice Only the deal's seller may ask about its delivery.
    error NotTheSeller();
    /// @notice The deal already has request `requestId` awaiting settlement.
    error AlreadyRequested(uint256 requestId);
    /// @notice Request `requestId` is not one of this contract's, or was settled.
    error UnknownRequest(uint256 requestId);
    /// @notice Request `requestId` has not resolved or timed out yet.
    error StillPending(uint256 requestId);

    /// @param escrow_ the escrow whose deals name this contract as confirmer
    /// @param oracleSet_ an existing IOracle set
    /// @param answerWindow_ seconds the oracles have to answer, 1 to MAX_ANSWER_WINDOW
    constructor(ArbitratedEscrow escrow_, uint256 oracleSet_, uint64 answerWindow_) {
        if (address(escrow_) == address(0)) revert BadParameter("escrow");
        if (oracleSet_ == 0 || oracleSet_ > ORACLE.setCount()) revert BadParameter("oracleSet");
        if (answerWindow_ == 0 || answerWindow_ > MAX_ANSWER_WINDOW) revert BadParameter("answerWindow");
        escrow = escrow_;
        oracleSet = oracleSet_;
        answerWindow = answerWindow_;
    }

    /// @notice The seller of active deal `dealId`, whose confirmer is this contract, asks the oracles whether
    /// `parcel` was delivered.
    /// @return requestId the IOracle request
    function requestConfirmation(uint256 dealId, bytes32 parcel) external returns (uint256 requestId) {
        ArbitratedEscrow.Deal memory deal = escrow.getDeal(dealId);
        if (deal.confirmer != address(this) || deal.stage != ArbitratedEscrow.Stage.Active) {
            revert BadParameter("dealId");
        }
        if (msg.sender != deal.seller) revert NotTheSeller();
        if (parcel == bytes32(0)) revert BadParameter("parcel");
        uint256 pending = pendingRequest[dealId];
        if (pending != 0) revert AlreadyRequested(pending);
        uint64 deadline = uint64(block.timestamp) + answerWindow;
        requestId = ORACLE.request(oracleSet, TOPIC, abi.encode(address(escrow), dealId, parcel), deadline,
            ANSWER_BYTES);
        pendingRequest[dealId] = requestId;
        _tracking[requestId] = Tracking(dealId, parcel);
        emit DeliveryRequested(dealId, requestId, parcel, deadline);
    }

    /// @notice Anyone settles request `requestId` once it resolved or timed out: a "delivered" answer confirms the
    /// deal's delivery on the escrow; anything else confirms nothing and frees the deal for another request.
    /// @return confirmed whether the escrow recorded the delivery
    function settle(uint256 requestId) external returns (bool confirmed) {
        Tracking memory tracking = _tracking[requestId];
        if (tracking.dealId == 0) revert UnknownRequest(requestId);
        (uint8 status, bytes memory value) = ORACLE.result(requestId);
        if (status == PENDING) revert StillPending(requestId);
        delete _tracking[requestId];
        delete pendingRequest[tracking.dealId];
        bool delivered = status == RESOLVED && value.length == ANSWER_BYTES && abi.decode(value, (uint256)) == DELIVERED;
        if (!delivered) {
            emit DeliveryNotConfirmed(tracking.dealId, requestId, status != RESOLVED, false);
            return false;
        }
        bytes32 proof = keccak256(abi.encode(requestId, tracking.parcel));
        // The escrow refuses when the deal moved on meanwhile (accepted, disputed, refunded, past its deadline);
        // the settlement still completes, so the request does not stay pending forever.
        try escrow.confirmDelivery(tracking.dealId, proof) {
            emit DeliveryConfirmed(tracking.dealId, requestId, proof);
            return true;
        } catch {
            emit DeliveryNotConfirmed(tracking.dealId, requestId, false, true);
            return false;
        }
    }

    /// @notice What request `requestId` asks about (a zero deal id once settled or for another contract's request).
    function trackingOf(uint256 requestId) external view returns (Tracking memory) {
        return _tracking[requestId];
    }
}
