// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title Arbitrated escrow: a sale with equal deposits, delivery confirmation, and community arbiters who bid
/// @notice The buyer opens a deal paying the price plus a deposit; the seller joins with an equal deposit. The deal
/// is released to the seller when the buyer accepts, or when the named confirmer (a carrier, or the node's webhook
/// oracle account) confirms delivery and the buyer's inspection window passes without a dispute. Either party may
/// dispute: arbiters (anyone but the parties) bid a fee up to the deposit, both parties choose one bid, the arbiter
/// rules, and the loser's deposit pays the arbiter's fee, the rest of it going to the winner. Every closure credits
/// balances that their owners withdraw (pull payments), so no transfer to a party can block another; only the
/// buyer's own acceptance sends the buyer's deposit back to the buyer, the caller, in the same call.
/// @dev Appeal hook: when `appealCourt` is non-zero, a ruling is final only after `appealWindow`; within it the
/// court may hold the deal (`holdForAppeal`) and then has `appealPeriod` to replace the winner (`decideAppeal`),
/// after which anyone may finalize the original ruling. A jury contract plugs in as that court.
/// Arithmetic: no division anywhere; every amount is a sum or difference of deposited wei, so no dust arises.
/// Front-running a bid: bids are immutable offers and parties choose a bid by its index, so a bid placed (or
/// placed ahead) after a party's choice cannot change what that party agreed to.
/// Storage: a deal opens in three slots (amounts in uint96, which holds more wei than the CMT supply, block times
/// in uint40), so a purchase to its release costs under 200,000 gas.
contract ArbitratedEscrow is ReentrancyGuardTransient {
    /// @notice Where a deal stands.
    enum Stage {
        None,
        Offered, // the buyer paid price and deposit; waiting for the seller's deposit
        Active, // both deposits in; waiting for delivery, acceptance or a dispute
        Delivered, // delivery confirmed; the buyer's inspection window runs until `deadline`
        Disputed, // arbiters bid and parties choose until `deadline`
        Arbitration, // an arbiter is appointed and must rule by `deadline`
        Ruled, // a ruling awaits the end of the appeal window at `deadline`
        Appealed, // the appeal court holds the deal and must decide by `deadline`
        Closed // settled: every amount credited
    }

    /// @notice A side of the deal.
    enum Party {
        None,
        Buyer,
        Seller
    }

    /// @notice One deal between a buyer and a seller.
    struct Deal {
        address buyer;
        uint96 price;
        address seller;
        uint96 deposit;
        address confirmer;
        uint40 deadline; // of the current stage (at first the delivery deadline)
        uint32 inspection; // seconds
        Stage stage;
        Party winner;
        address arbiter;
        uint96 fee;
        uint32 buyerChoice; // bid index + 1, 0 = none
        uint32 sellerChoice; // bid index + 1, 0 = none
    }

    /// @notice An arbiter's offer to take a disputed deal for `fee` wei out of the loser's deposit.
    struct Bid {
        address arbiter;
        uint128 fee;
    }

    /// @notice Seconds arbiters may bid and parties choose after a dispute (or after an arbiter failed).
    uint64 public immutable biddingPeriod;
    /// @notice Seconds an appointed arbiter has to rule.
    uint64 public immutable rulingPeriod;
    /// @notice The contract that may overturn rulings (a jury); the zero address for final rulings.
    address public immutable appealCourt;
    /// @notice Seconds after a ruling during which the appeal court may hold the deal.
    uint64 public immutable appealWindow;
    /// @notice Seconds the appeal court has to decide a held deal.
    uint64 public immutable appealPeriod;

    /// @notice Number of deals opened; deal ids run from 1.
    uint256 public dealCount;
    mapping(uint256 => Deal) private _deals;
    mapping(uint256 => Bid[]) private _bids;
    /// @notice Arbiters who let a ruling deadline pass on a deal; their bids on it can no longer be chosen.
    mapping(uint256 => mapping(address => bool)) public failedArbiter;
    /// @notice Wei each account may withdraw.
    mapping(address => uint256) public credit;

    /// @notice The buyer opened deal `id`, paying `price` and a `deposit`.
    event Opened(
        uint256 indexed id, address indexed buyer, address indexed seller, address confirmer, uint256 price,
        uint256 deposit, uint64 deliverBy, uint64 inspection
    );
    /// @notice The buyer withdrew an offer the seller never joined.
    event Cancelled(uint256 indexed id);
    /// @notice The seller joined deal `id` with an equal deposit.
    event Joined(uint256 indexed id);
    /// @notice The confirmer confirmed delivery, with a content hash of its proof; inspection ends at `inspectionEnds`.
    event DeliveryConfirmed(uint256 indexed id, bytes32 proof, uint64 inspectionEnds);
    /// @notice The deal was released to the seller (by acceptance or after inspection).
    event Released(uint256 indexed id);
    /// @notice Delivery was not confirmed by the deadline; the buyer was refunded.
    event RefundedUndelivered(uint256 indexed id);
    /// @notice A party opened a dispute with a content hash of its evidence; bidding ends at `biddingEnds`.
    event Disputed(uint256 indexed id, address indexed by, bytes32 evidence, uint64 biddingEnds);
    /// @notice A party or the arbiter recorded evidence (a content hash; the content stays off chain).
    event Evidence(uint256 indexed id, address indexed by, bytes32 evidence);
    /// @notice An arbiter offered to take the case for `fee`.
    event ArbiterBid(uint256 indexed id, uint256 index, address indexed arbiter, uint256 fee);
    /// @notice A party chose bid `index`.
    event ArbiterChosen(uint256 indexed id, Party party, uint256 index);
    /// @notice The arbiter of bid `index` was appointed; a ruling is due by `rulingEnds`.
    event ArbiterAppointed(uint256 indexed id, uint256 index, address indexed arbiter, uint256 fee, uint64 rulingEnds);
    /// @notice The appointed arbiter did not rule in time; bidding reopens until `biddingEnds` without them.
    event ArbiterFailed(uint256 indexed id, address indexed arbiter, uint64 biddingEnds);
    /// @notice No arbiter was agreed on; the deal was unwound (price to the buyer, deposits to their owners).
    event DisputeUnwound(uint256 indexed id);
    /// @notice The arbiter ruled for `winner`, with a content hash of the reasons; appeals close at `appealEnds`.
    event Ruled(uint256 indexed id, Party winner, bytes32 reasons, uint64 appealEnds);
    /// @notice The appeal court held the ruling; it must decide by `decideBy`.
    event AppealHeld(uint256 indexed id, uint64 decideBy);
    /// @notice The appeal court decided for `winner`.
    event AppealDecided(uint256 indexed id, Party winner, bytes32 reasons);
    /// @notice Deal `id` closed; the amounts were credited to the buyer, the seller and the arbiter (on the buyer's
    /// acceptance, the buyer's amount was sent to it instead).
    event Settled(uint256 indexed id, uint256 toBuyer, uint256 toSeller, uint256 toArbiter);
    /// @notice `account` withdrew `amount` wei of its credit.
    event Withdrawn(address indexed account, uint256 amount);

    /// @notice The deal is not at the stage the call needs.
    error WrongStage(Stage current);
    /// @notice The caller may not make this call on this deal.
    error NotAllowed();
    /// @notice The deadline of the current stage has passed (or, for timeout calls, has not).
    error Deadline(uint64 deadline);
    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice A withdrawal found nothing to pay or the recipient refused the transfer.
    error PaymentFailed();

    /// @param biddingPeriod_ seconds for bidding and choosing after a dispute
    /// @param rulingPeriod_ seconds an arbiter has to rule
    /// @param appealCourt_ the contract that may overturn rulings, or the zero address for none
    /// @param appealWindow_ seconds a ruling waits for the court (0 when there is no court)
    /// @param appealPeriod_ seconds the court has to decide a held deal
    constructor(
        uint64 biddingPeriod_, uint64 rulingPeriod_, address appealCourt_, uint64 appealWindow_, uint64 appealPeriod_
    ) {
        if (biddingPeriod_ == 0) revert BadParameter("biddingPeriod");
        if (rulingPeriod_ == 0) revert BadParameter("rulingPeriod");
        if ((appealCourt_ == address(0)) != (appealWindow_ == 0)) revert BadParameter("appealWindow");
        if (appealCourt_ != address(0) && appealPeriod_ == 0) revert BadParameter("appealPeriod");
        biddingPeriod = biddingPeriod_;
        rulingPeriod = rulingPeriod_;
        appealCourt = appealCourt_;
        appealWindow = appealWindow_;
        appealPeriod = appealPeriod_;
    }

    /// @notice Opens a deal: send the price plus your deposit; the seller must join with an equal deposit.
    /// @param seller the seller
    /// @param confirmer the account that confirms delivery (a carrier, the node's oracle account, or the seller)
    /// @param price the price in wei (msg.value - price is the deposit, which must be positive)
    /// @param deliverBy the time by which delivery must be confirmed, else the buyer is refunded
    /// @param inspection seconds the buyer has after a delivery confirmation to accept or dispute (0: none; less
    /// than 2^32)
    /// @return id the new deal's id
    function open(address seller, address confirmer, uint128 price, uint64 deliverBy, uint64 inspection)
        external
        payable
        returns (uint256 id)
    {
        if (seller == address(0) || seller == msg.sender) revert BadParameter("seller");
        if (confirmer == address(0) || confirmer == msg.sender) revert BadParameter("confirmer");
        if (price > type(uint96).max) revert BadParameter("price");
        if (msg.value <= price || msg.value - price > type(uint96).max) revert BadParameter("deposit");
        if (deliverBy <= block.timestamp || deliverBy > type(uint40).max) revert BadParameter("deliverBy");
        if (inspection > type(uint32).max) revert BadParameter("inspection");
        id = ++dealCount;
        uint96 deposit = uint96(msg.value - price);
        Deal storage deal = _deals[id];
        (deal.buyer, deal.price) = (msg.sender, uint96(price));
        (deal.seller, deal.deposit) = (seller, deposit);
        (deal.confirmer, deal.deadline, deal.inspection, deal.stage) =
            (confirmer, uint40(deliverBy), uint32(inspection), Stage.Offered);
        emit Opened(id, msg.sender, seller, confirmer, price, deposit, deliverBy, inspection);
    }

    /// @notice The buyer withdraws an offer the seller has not joined; price and deposit are credited back.
    function cancel(uint256 id) external {
        Deal storage deal = _at(id, Stage.Offered);
        if (msg.sender != deal.buyer) revert NotAllowed();
        emit Cancelled(id);
        _settle(id, deal, uint256(deal.price) + deal.deposit, 0, 0);
    }

    /// @notice The seller joins deal `id`, sending exactly the buyer's deposit, before its delivery deadline.
    function join(uint256 id) external payable {
        Deal storage deal = _at(id, Stage.Offered);
        if (msg.sender != deal.seller) revert NotAllowed();
        if (msg.value != deal.deposit) revert BadParameter("deposit");
        _before(deal.deadline);
        deal.stage = Stage.Active;
        emit Joined(id);
    }

    /// @notice The confirmer confirms delivery; the buyer's inspection window starts (with none, the deal is released).
    /// @param proof a content hash of the delivery proof (the carrier's record)
    function confirmDelivery(uint256 id, bytes32 proof) external {
        Deal storage deal = _at(id, Stage.Active);
        if (msg.sender != deal.confirmer) revert NotAllowed();
        _before(deal.deadline);
        uint40 inspectionEnds = _from(deal.inspection);
        emit DeliveryConfirmed(id, proof, inspectionEnds);
        if (deal.inspection == 0) {
            _release(id, deal);
        } else {
            deal.stage = Stage.Delivered;
            deal.deadline = inspectionEnds;
        }
    }

    /// @notice The buyer accepts the goods (before or after a delivery confirmation); the deal is released: the
    /// price and the seller's deposit are credited to the seller, and the buyer's deposit is sent back to the buyer
    /// in this call (so an acceptance writes one credit, not two).
    function acceptDelivery(uint256 id) external nonReentrant {
        Deal storage deal = _deals[id];
        if (deal.stage != Stage.Active && deal.stage != Stage.Delivered) revert WrongStage(deal.stage);
        if (msg.sender != deal.buyer) revert NotAllowed();
        uint256 deposit = deal.deposit;
        uint256 toSeller = uint256(deal.price) + deposit;
        deal.stage = Stage.Closed;
        credit[deal.seller] += toSeller;
        emit Released(id);
        emit Settled(id, deposit, toSeller, 0);
        (bool ok,) = payable(msg.sender).call{value: deposit}("");
        if (!ok) revert PaymentFailed();
    }

    /// @notice Anyone releases a delivered deal whose inspection window passed without a dispute.
    function release(uint256 id) external {
        Deal storage deal = _at(id, Stage.Delivered);
        _after(deal.deadline);
        _release(id, deal);
    }

    /// @notice Anyone refunds the buyer of a deal whose delivery was not confirmed by its deadline.
    /// @dev Both deposits go back to their owners; a buyer who wants compensation disputes instead.
    function refundUndelivered(uint256 id) external {
        Deal storage deal = _at(id, Stage.Active);
        _after(deal.deadline);
        emit RefundedUndelivered(id);
        _settle(id, deal, uint256(deal.price) + deal.deposit, deal.deposit, 0);
    }

    /// @notice A party disputes the deal (before release; after delivery only within the inspection window).
    /// @param evidence a content hash of the party's statement
    function dispute(uint256 id, bytes32 evidence) external {
        Deal storage deal = _deals[id];
        if (deal.stage != Stage.Active && deal.stage != Stage.Delivered) revert WrongStage(deal.stage);
        if (msg.sender != deal.buyer && msg.sender != deal.seller) revert NotAllowed();
        if (deal.stage == Stage.Delivered) _before(deal.deadline);
        deal.stage = Stage.Disputed;
        deal.deadline = _from(biddingPeriod);
        emit Disputed(id, msg.sender, evidence, deal.deadline);
    }

    /// @notice A party or the appointed arbiter records evidence on a disputed deal.
    /// @param evidence a content hash of the evidence, which stays off chain
    function submitEvidence(uint256 id, bytes32 evidence) external {
        Deal storage deal = _deals[id];
        if (deal.stage < Stage.Disputed || deal.stage > Stage.Appealed) revert WrongStage(deal.stage);
        if (msg.sender != deal.buyer && msg.sender != deal.seller && msg.sender != deal.arbiter) revert NotAllowed();
        emit Evidence(id, msg.sender, evidence);
    }

    /// @notice An arbiter (anyone but the parties) offers to take the dispute for `fee` wei, at most the deposit.
    /// @return index the bid's index, which the parties name to choose it
    function bid(uint256 id, uint128 fee) external returns (uint256 index) {
        Deal storage deal = _at(id, Stage.Disputed);
        if (msg.sender == deal.buyer || msg.sender == deal.seller || failedArbiter[id][msg.sender]) {
            revert NotAllowed();
        }
        if (fee > deal.deposit) revert BadParameter("fee");
        _before(deal.deadline);
        index = _bids[id].length;
        _bids[id].push(Bid(msg.sender, fee));
        emit ArbiterBid(id, index, msg.sender, fee);
    }

    /// @notice A party chooses bid `index`; when both parties chose the same bid, its arbiter is appointed.
    function chooseArbiter(uint256 id, uint256 index) external {
        Deal storage deal = _at(id, Stage.Disputed);
        _before(deal.deadline);
        if (index >= _bids[id].length) revert BadParameter("index");
        if (failedArbiter[id][_bids[id][index].arbiter]) revert NotAllowed();
        Party party;
        if (msg.sender == deal.buyer) {
            deal.buyerChoice = uint32(index + 1);
            party = Party.Buyer;
        } else if (msg.sender == deal.seller) {
            deal.sellerChoice = uint32(index + 1);
            party = Party.Seller;
        } else {
            revert NotAllowed();
        }
        emit ArbiterChosen(id, party, index);
        if (deal.buyerChoice == deal.sellerChoice) _appoint(id, deal, index);
    }

    /// @notice Anyone closes a bidding period that ended without agreement. If one party chose, its choice
    /// stands (a silent party gives up its say); if both chose different bids, the lower fee stands (the earlier
    /// bid on a tie); if neither chose, the deal is unwound: the price back to the buyer, each deposit to its owner.
    function closeBidding(uint256 id) external {
        Deal storage deal = _at(id, Stage.Disputed);
        _after(deal.deadline);
        uint32 buyerChoice = deal.buyerChoice;
        uint32 sellerChoice = deal.sellerChoice;
        if (buyerChoice == 0 && sellerChoice == 0) {
            emit DisputeUnwound(id);
            _settle(id, deal, uint256(deal.price) + deal.deposit, deal.deposit, 0);
            return;
        }
        uint256 chosen;
        if (buyerChoice == 0) {
            chosen = sellerChoice - 1;
        } else if (sellerChoice == 0) {
            chosen = buyerChoice - 1;
        } else {
            uint256 a = buyerChoice < sellerChoice ? buyerChoice - 1 : sellerChoice - 1;
            uint256 b = buyerChoice < sellerChoice ? sellerChoice - 1 : buyerChoice - 1;
            chosen = _bids[id][b].fee < _bids[id][a].fee ? b : a;
        }
        _appoint(id, deal, chosen);
    }

    /// @notice The appointed arbiter rules for the buyer or the seller before the ruling deadline.
    /// @param reasons a content hash of the decision's reasons
    function rule(uint256 id, Party winner, bytes32 reasons) external {
        Deal storage deal = _at(id, Stage.Arbitration);
        if (msg.sender != deal.arbiter) revert NotAllowed();
        if (winner == Party.None) revert BadParameter("winner");
        _before(deal.deadline);
        deal.winner = winner;
        uint40 appealEnds = _from(appealWindow);
        emit Ruled(id, winner, reasons, appealEnds);
        if (appealCourt == address(0)) {
            _award(id, deal);
        } else {
            deal.stage = Stage.Ruled;
            deal.deadline = appealEnds;
        }
    }

    /// @notice Anyone reopens bidding when the appointed arbiter let the ruling deadline pass; that arbiter is
    /// excluded from this deal and earns nothing.
    function replaceArbiter(uint256 id) external {
        Deal storage deal = _at(id, Stage.Arbitration);
        _after(deal.deadline);
        address failed = deal.arbiter;
        failedArbiter[id][failed] = true;
        deal.arbiter = address(0);
        deal.fee = 0;
        deal.buyerChoice = 0;
        deal.sellerChoice = 0;
        deal.stage = Stage.Disputed;
        deal.deadline = _from(biddingPeriod);
        emit ArbiterFailed(id, failed, deal.deadline);
    }

    /// @notice The appeal court holds a ruled deal within the appeal window; it then has `appealPeriod` to decide.
    function holdForAppeal(uint256 id) external {
        Deal storage deal = _at(id, Stage.Ruled);
        if (msg.sender != appealCourt) revert NotAllowed();
        _before(deal.deadline);
        deal.stage = Stage.Appealed;
        deal.deadline = _from(appealPeriod);
        emit AppealHeld(id, deal.deadline);
    }

    /// @notice The appeal court decides a held deal for `winner` (upholding or overturning); the deal settles.
    /// @param reasons a content hash of the court's reasons
    function decideAppeal(uint256 id, Party winner, bytes32 reasons) external {
        Deal storage deal = _at(id, Stage.Appealed);
        if (msg.sender != appealCourt) revert NotAllowed();
        if (winner == Party.None) revert BadParameter("winner");
        _before(deal.deadline);
        deal.winner = winner;
        emit AppealDecided(id, winner, reasons);
        _award(id, deal);
    }

    /// @notice Anyone settles a ruling whose appeal window passed, or a held deal the court did not decide in time.
    function finalize(uint256 id) external {
        Deal storage deal = _deals[id];
        if (deal.stage != Stage.Ruled && deal.stage != Stage.Appealed) revert WrongStage(deal.stage);
        _after(deal.deadline);
        _award(id, deal);
    }

    /// @notice Sends the caller all of its credit.
    function withdraw() external nonReentrant {
        uint256 amount = credit[msg.sender];
        if (amount == 0) revert PaymentFailed();
        credit[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount);
        (bool ok,) = payable(msg.sender).call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }

    /// @notice Deal `id` as stored.
    function getDeal(uint256 id) external view returns (Deal memory) {
        return _deals[id];
    }

    /// @notice The number of bids on deal `id`.
    function bidCount(uint256 id) external view returns (uint256) {
        return _bids[id].length;
    }

    /// @notice Bid `index` on deal `id`.
    function getBid(uint256 id, uint256 index) external view returns (Bid memory) {
        return _bids[id][index];
    }

    function _at(uint256 id, Stage stage) private view returns (Deal storage deal) {
        deal = _deals[id];
        if (deal.stage != stage) revert WrongStage(deal.stage);
    }

    /// @dev The block time `seconds_` from now, reverting rather than wrapping past uint40.
    function _from(uint64 seconds_) private view returns (uint40) {
        return SafeCast.toUint40(block.timestamp + seconds_);
    }

    function _before(uint64 deadline) private view {
        if (block.timestamp >= deadline) revert Deadline(deadline);
    }

    function _after(uint64 deadline) private view {
        if (block.timestamp < deadline) revert Deadline(deadline);
    }

    function _appoint(uint256 id, Deal storage deal, uint256 index) private {
        Bid storage chosen = _bids[id][index];
        deal.arbiter = chosen.arbiter;
        deal.fee = uint96(chosen.fee); // at most the deposit, a uint96 (checked in bid)
        deal.stage = Stage.Arbitration;
        deal.deadline = _from(rulingPeriod);
        emit ArbiterAppointed(id, index, chosen.arbiter, chosen.fee, deal.deadline);
    }

    function _release(uint256 id, Deal storage deal) private {
        emit Released(id);
        _settle(id, deal, deal.deposit, uint256(deal.price) + deal.deposit, 0);
    }

    /// @dev The winner gets the price's side (the price back if the buyer won, the price if the seller won), its
    /// own deposit, and the loser's deposit less the arbiter's fee.
    function _award(uint256 id, Deal storage deal) private {
        uint256 winnerShare = 2 * uint256(deal.deposit) - deal.fee + deal.price;
        if (deal.winner == Party.Buyer) {
            _settle(id, deal, winnerShare, 0, deal.fee);
        } else {
            _settle(id, deal, 0, winnerShare, deal.fee);
        }
    }

    function _settle(uint256 id, Deal storage deal, uint256 toBuyer, uint256 toSeller, uint256 toArbiter) private {
        deal.stage = Stage.Closed;
        if (toBuyer != 0) credit[deal.buyer] += toBuyer;
        if (toSeller != 0) credit[deal.seller] += toSeller;
        if (toArbiter != 0) credit[deal.arbiter] += toArbiter;
        emit Settled(id, toBuyer, toSeller, toArbiter);
    }
}
