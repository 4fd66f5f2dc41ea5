// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ISponsor} from "@cmt/vm/sponsorship/ISponsor.sol";
import {ArbitratedEscrow} from "./ArbitratedEscrow.sol";
import {AuthenticityCertificates} from "./AuthenticityCertificates.sol";
import {CommunityModeration} from "./CommunityModeration.sol";
import {JuryAppealCourt} from "./JuryAppealCourt.sol";
import {LocalPromotions} from "./LocalPromotions.sol";

/// @title The marketplace's account for one shopper: the buyer of record of its escrow deals and coupon purchases
/// @notice Created by the marketplace (CREATE2, so its address is known before it exists: `accountOf`); only the
/// marketplace moves what it holds, on the shopper's instructions. It accepts CMT from anyone (top-ups, refunds).
contract ShopperAccount {
    /// @notice The marketplace that created this account and alone instructs it.
    address public immutable marketplace;
    /// @notice The shopper this account acts for.
    address public immutable shopper;

    /// @notice The caller is not the marketplace.
    error NotMarketplace();

    /// @param shopper_ the shopper this account acts for
    constructor(address shopper_) {
        marketplace = msg.sender;
        shopper = shopper_;
    }

    /// @notice The marketplace calls `target` with `data` and `value` wei from this account; reverts with the
    /// callee's reason.
    function forward(address target, uint256 value, bytes calldata data) external returns (bytes memory result) {
        if (msg.sender != marketplace) revert NotMarketplace();
        bool ok;
        (ok, result) = target.call{value: value}(data);
        if (!ok) {
            assembly {
                revert(add(result, 32), mload(result))
            }
        }
    }

    /// @notice Takes CMT from anyone: a top-up, an escrow refund, a coupon's discount.
    receive() external payable {}
}

/// @title Sponsored marketplace: listings and escrowed orders whose shoppers pay no gas, with coupons and certificates
/// @notice Sellers list items (a price and a deposit in CMT, a delivery confirmer, delivery and inspection times, the
/// listing's content hash, optionally an authenticity certificate they hold). Each order is an ArbitratedEscrow deal
/// whose buyer of record is the shopper's own account here (`accountOf`), paid from that account's balance; the
/// seller accepts it by joining the deal on the escrow with its deposit. At deployment the marketplace configures
/// its sponsored gas (ISponsor at 0x…0C16, the deployer as manager): a call to it with gas price 0 and value 0 is
/// paid from its sponsor deposit, so a shopper holding no CMT can, with CMT that others put in its account (a gift,
/// a refund, a top-up by a payment provider with `fund`), place orders, make and withdraw offers, accept a delivery,
/// cancel an unjoined order, dispute, choose an arbiter, submit evidence, appeal to a jury, collect refunds and
/// discounts and cash out; a seller lists, delists and accepts offers without gas. Joining a deal (the seller's
/// deposit) and paying with value need CMT and are not sponsored.
/// @dev Composition: deals are ArbitratedEscrow's (its rules, disputes, arbiters and appeal court apply unchanged);
/// a coupon is LocalPromotions' (the listing's seller is the coupon's business and registered this marketplace as
/// one of its shops in the coupon's area; an audience coupon needs the shopper's account admitted); a certificate is
/// AuthenticityCertificates' (checked held by the seller and unrevoked when listing and when ordering; a listing with
/// a certificate sells once; the seller transfers it to the buyer on delivery); CommunityModeration, when given,
/// refuses listings and orders of removed listings (by content hash) and closed sellers. Every amount the escrow or
/// the coupon credits a shopper's account belongs to that shopper alone, because each shopper has its own account.
contract SponsoredMarketplace is ReentrancyGuard {
    /// @notice The native gas sponsorship.
    ISponsor public constant SPONSOR = ISponsor(0x0000000000000000000000000000000000000C16);

    /// @notice A listing's terms, as the seller gives them.
    struct Terms {
        uint128 price; // wei
        uint128 deposit; // wei each side puts into the escrow deal (positive)
        address confirmer; // who confirms delivery (a carrier, an oracle account, or the seller)
        uint64 deliverySeconds; // delivery must be confirmed within this time of an order
        uint64 inspection; // seconds the shopper has after a confirmation to accept or dispute
        uint256 certificate; // an AuthenticityCertificates id the seller holds, 0 for none
        bytes32 metadata; // content hash of the listing (title, photos, description)
    }

    /// @notice A listing.
    struct Listing {
        address seller;
        bool open;
        Terms terms;
    }

    /// @notice An order: an escrow deal between the shopper's account and the seller.
    struct Order {
        uint256 listingId;
        address shopper;
        uint256 dealId;
        uint128 price;
        uint256 discount; // wei the coupon paid the shopper's account
    }

    /// @notice A shopper's offer to buy a listing at another price.
    struct Offer {
        uint256 listingId;
        address shopper;
        uint128 price;
        bool open;
    }

    /// @notice The escrow holding every order's deal.
    ArbitratedEscrow public immutable escrow;
    /// @notice The certificates listings may carry (the zero address: none).
    AuthenticityCertificates public immutable certificates;
    /// @notice The promotions whose coupons orders may use (the zero address: none).
    LocalPromotions public immutable promotions;
    /// @notice The moderation whose removals this marketplace honours (the zero address: none).
    CommunityModeration public immutable moderation;

    /// @notice Listings made; ids run from 1.
    uint256 public listingCount;
    /// @notice Orders placed; ids run from 1.
    uint256 public orderCount;
    /// @notice Offers made; ids run from 1.
    uint256 public offerCount;
    mapping(uint256 => Listing) private _listings;
    mapping(uint256 => Order) private _orders;
    mapping(uint256 => Offer) private _offers;

    /// @notice `seller` listed `listingId`.
    event Listed(uint256 indexed listingId, address indexed seller, Terms terms);
    /// @notice The seller closed listing `listingId` (or it sold its one certified item).
    event Delisted(uint256 indexed listingId);
    /// @notice `from` added `amount` wei to `shopper`'s account.
    event Funded(address indexed shopper, address indexed from, uint256 amount);
    /// @notice `shopper` ordered listing `listingId` at `price`; escrow deal `dealId` holds it; a coupon paid
    /// `discount` wei to the shopper's account.
    event Ordered(uint256 indexed orderId, uint256 indexed listingId, address indexed shopper, uint256 dealId,
        uint256 price, uint256 couponId, uint256 discount);
    /// @notice `shopper` offered `price` for listing `listingId`.
    event OfferMade(uint256 indexed offerId, uint256 indexed listingId, address indexed shopper, uint256 price);
    /// @notice Offer `offerId` was withdrawn by its shopper or accepted by the seller (as order `orderId`, else 0).
    event OfferClosed(uint256 indexed offerId, uint256 orderId);
    /// @notice `amount` wei the escrow and the promotions credited `shopper`'s account were taken into it.
    event Collected(address indexed shopper, uint256 amount);
    /// @notice `shopper` took `amount` wei from its account to its own address.
    event CashedOut(address indexed shopper, uint256 amount);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller may not make this call.
    error NotAllowed();
    /// @notice The listing or offer is not open.
    error NotOpen();
    /// @notice The order is not under the marketplace's terms; `term` names the one it misses.
    error NotEligible(string term);
    /// @notice The shopper's account holds `balance` wei; the call needs `needed`.
    error InsufficientBalance(uint256 balance, uint256 needed);

    /// @param escrow_ the escrow of the orders
    /// @param certificates_ the certificates listings may carry, or the zero address
    /// @param promotions_ the promotions whose coupons orders may use, or the zero address
    /// @param moderation_ the moderation whose removals are honoured, or the zero address
    /// @param maxGasPerTx the gas limit a sponsored call may have
    /// @param maxTxsPerSenderPerWindow sponsored calls one sender may make per window
    /// @param windowSeconds the window, in seconds of block time
    /// @param maxGasPerBlock sponsored gas per block
    /// @dev The deployer becomes the sponsorship's manager; the CMT sent is the first sponsor deposit.
    constructor(ArbitratedEscrow escrow_, AuthenticityCertificates certificates_, LocalPromotions promotions_,
        CommunityModeration moderation_, uint64 maxGasPerTx, uint32 maxTxsPerSenderPerWindow, uint64 windowSeconds,
        uint64 maxGasPerBlock) payable {
        if (address(escrow_) == address(0)) revert BadParameter("escrow");
        escrow = escrow_;
        certificates = certificates_;
        promotions = promotions_;
        moderation = moderation_;
        SPONSOR.configure(address(this), msg.sender, maxGasPerTx, maxTxsPerSenderPerWindow, windowSeconds,
            maxGasPerBlock);
        if (msg.value > 0) SPONSOR.deposit{value: msg.value}(address(this));
    }

    /// @notice The caller lists an item on `terms`.
    /// @return listingId the listing's id
    function list(Terms calldata terms) external returns (uint256 listingId) {
        if (terms.deposit == 0) revert BadParameter("deposit");
        if (terms.confirmer == address(0)) revert BadParameter("confirmer");
        if (terms.deliverySeconds == 0) revert BadParameter("deliverySeconds");
        if (terms.metadata == bytes32(0)) revert BadParameter("metadata");
        if (terms.certificate != 0 && address(certificates) == address(0)) revert BadParameter("certificate");
        _checkSeller(msg.sender, terms.metadata, terms.certificate);
        listingId = ++listingCount;
        _listings[listingId] = Listing(msg.sender, true, terms);
        emit Listed(listingId, msg.sender, terms);
    }

    /// @notice The seller closes listing `listingId`; orders placed stay as they are.
    function delist(uint256 listingId) external {
        Listing storage listing = _openListing(listingId);
        if (msg.sender != listing.seller) revert NotAllowed();
        listing.open = false;
        emit Delisted(listingId);
    }

    /// @notice Anyone adds the CMT sent to `shopper`'s account (created if needed).
    function fund(address shopper) external payable nonReentrant {
        if (shopper == address(0)) revert BadParameter("shopper");
        if (msg.value == 0) revert BadParameter("value");
        _send(address(_account(shopper)), msg.value);
        emit Funded(shopper, msg.sender, msg.value);
    }

    /// @notice The caller orders listing `listingId` at its price, paying price and deposit from its account (the CMT
    /// sent is added to it first), with LocalPromotions coupon `couponId` (0 for none).
    /// @return orderId the order's id
    function placeOrder(uint256 listingId, uint256 couponId) external payable nonReentrant returns (uint256 orderId) {
        Listing storage listing = _openListing(listingId);
        ShopperAccount account = msg.value > 0 ? _account(msg.sender) : _existing(msg.sender);
        if (msg.value > 0) {
            _send(address(account), msg.value);
            emit Funded(msg.sender, msg.sender, msg.value);
        }
        orderId = _order(listingId, listing, account, listing.terms.price, couponId);
    }

    /// @notice The caller offers `price` for listing `listingId`; the seller may accept it while the caller's account
    /// holds price and deposit.
    /// @return offerId the offer's id
    function makeOffer(uint256 listingId, uint128 price) external returns (uint256 offerId) {
        Listing storage listing = _openListing(listingId);
        if (msg.sender == listing.seller) revert NotAllowed();
        offerId = ++offerCount;
        _offers[offerId] = Offer(listingId, msg.sender, price, true);
        emit OfferMade(offerId, listingId, msg.sender, price);
    }

    /// @notice The shopper withdraws its open offer `offerId`.
    function withdrawOffer(uint256 offerId) external {
        Offer storage offer = _offers[offerId];
        if (!offer.open) revert NotOpen();
        if (msg.sender != offer.shopper) revert NotAllowed();
        offer.open = false;
        emit OfferClosed(offerId, 0);
    }

    /// @notice The seller accepts open offer `offerId`: the order is placed at the offered price from the shopper's
    /// account (no coupon). The seller then joins the deal on the escrow as for any order.
    /// @return orderId the order's id
    function acceptOffer(uint256 offerId) external nonReentrant returns (uint256 orderId) {
        Offer storage offer = _offers[offerId];
        if (!offer.open) revert NotOpen();
        Listing storage listing = _openListing(offer.listingId);
        if (msg.sender != listing.seller) revert NotAllowed();
        offer.open = false;
        orderId = _order(offer.listingId, listing, _existing(offer.shopper), offer.price, 0);
        emit OfferClosed(offerId, orderId);
    }

    /// @notice The shopper accepts the goods of order `orderId`: the escrow releases the deal to the seller.
    function acceptDelivery(uint256 orderId) external nonReentrant {
        _asShopper(orderId, abi.encodeCall(ArbitratedEscrow.acceptDelivery, (_orders[orderId].dealId)));
    }

    /// @notice The shopper cancels order `orderId` the seller has not joined; price and deposit return to its
    /// account (after `collect`).
    function cancel(uint256 orderId) external nonReentrant {
        _asShopper(orderId, abi.encodeCall(ArbitratedEscrow.cancel, (_orders[orderId].dealId)));
    }

    /// @notice The shopper disputes order `orderId` (ArbitratedEscrow's rules and deadlines).
    /// @param evidence a content hash of the shopper's statement
    function dispute(uint256 orderId, bytes32 evidence) external nonReentrant {
        _asShopper(orderId, abi.encodeCall(ArbitratedEscrow.dispute, (_orders[orderId].dealId, evidence)));
    }

    /// @notice The shopper records evidence (a content hash) on its disputed order `orderId`.
    function submitEvidence(uint256 orderId, bytes32 evidence) external nonReentrant {
        _asShopper(orderId, abi.encodeCall(ArbitratedEscrow.submitEvidence, (_orders[orderId].dealId, evidence)));
    }

    /// @notice The shopper chooses arbiter bid `index` on its disputed order `orderId`.
    function chooseArbiter(uint256 orderId, uint256 index) external nonReentrant {
        _asShopper(orderId, abi.encodeCall(ArbitratedEscrow.chooseArbiter, (_orders[orderId].dealId, index)));
    }

    /// @notice The shopper appeals a ruling against it on order `orderId` to the escrow's jury appeal court, paying
    /// the court's appeal fee from its account.
    /// @param evidence a content hash of the shopper's grounds
    /// @return appealId the court's appeal id
    function appeal(uint256 orderId, bytes32 evidence) external nonReentrant returns (uint256 appealId) {
        Order storage order = _shopperOrder(orderId);
        JuryAppealCourt court = JuryAppealCourt(escrow.appealCourt());
        if (address(court) == address(0)) revert NotEligible("appealCourt");
        bytes memory call = abi.encodeCall(JuryAppealCourt.appeal, (escrow, order.dealId, evidence));
        bytes memory result = _existing(msg.sender).forward(address(court), court.appealFee(), call);
        appealId = abi.decode(result, (uint256));
    }

    /// @notice Anyone takes what the escrow and the promotions credited `shopper`'s account into it.
    /// @return amount the wei taken
    function collect(address shopper) external nonReentrant returns (uint256 amount) {
        ShopperAccount account = _existing(shopper);
        uint256 before = address(account).balance;
        if (escrow.credit(address(account)) > 0) {
            account.forward(address(escrow), 0, abi.encodeCall(ArbitratedEscrow.withdraw, ()));
        }
        if (address(promotions) != address(0) && promotions.credit(address(account)) > 0) {
            account.forward(address(promotions), 0, abi.encodeWithSignature("withdraw()"));
        }
        amount = address(account).balance - before;
        emit Collected(shopper, amount);
    }

    /// @notice The shopper takes `amount` wei from its account to its own address.
    function cashOut(uint256 amount) external nonReentrant {
        ShopperAccount account = _existing(msg.sender);
        if (amount == 0) revert BadParameter("amount");
        if (address(account).balance < amount) revert InsufficientBalance(address(account).balance, amount);
        emit CashedOut(msg.sender, amount);
        account.forward(msg.sender, amount, "");
    }

    /// @notice The address of `shopper`'s account (whether or not it exists yet): the buyer of record of its deals,
    /// the account a coupon business admits to an audience.
    function accountOf(address shopper) public view returns (address) {
        bytes32 code = keccak256(abi.encodePacked(type(ShopperAccount).creationCode, abi.encode(shopper)));
        bytes32 hash = keccak256(abi.encodePacked(bytes1(0xff), address(this), _salt(shopper), code));
        return address(uint160(uint256(hash)));
    }

    /// @notice The wei `shopper`'s account holds (not counting credits not yet collected).
    function balanceOf(address shopper) external view returns (uint256) {
        return accountOf(shopper).balance;
    }

    /// @notice Listing `listingId` as recorded (a zero seller for an unknown id).
    function getListing(uint256 listingId) external view returns (Listing memory) {
        return _listings[listingId];
    }

    /// @notice Order `orderId` as recorded (a zero shopper for an unknown id).
    function getOrder(uint256 orderId) external view returns (Order memory) {
        return _orders[orderId];
    }

    /// @notice Offer `offerId` as recorded (a zero shopper for an unknown id).
    function getOffer(uint256 offerId) external view returns (Offer memory) {
        return _offers[offerId];
    }

    /// @notice Takes back from the promotions the price a coupon purchase paid this marketplace as the shop.
    receive() external payable {
        if (msg.sender != address(promotions)) revert NotAllowed();
    }

    /// @dev Places an order of `listing` at `price` for `account`'s shopper, paying from the account.
    function _order(uint256 listingId, Listing storage listing, ShopperAccount account, uint128 price, uint256 couponId)
        private
        returns (uint256 orderId)
    {
        Terms storage terms = listing.terms;
        address shopper = account.shopper();
        if (shopper == listing.seller) revert NotAllowed();
        _checkSeller(listing.seller, terms.metadata, terms.certificate);
        if (terms.certificate != 0) {
            listing.open = false; // a certified item sells once
            emit Delisted(listingId);
        }
        uint256 discount = couponId == 0 ? 0 : _redeem(account, listing.seller, couponId, price);
        uint256 cost = uint256(price) + terms.deposit;
        if (address(account).balance < cost) revert InsufficientBalance(address(account).balance, cost);
        orderId = ++orderCount;
        uint64 deliverBy = uint64(block.timestamp) + terms.deliverySeconds;
        bytes memory call =
            abi.encodeCall(ArbitratedEscrow.open, (listing.seller, terms.confirmer, price, deliverBy, terms.inspection));
        uint256 dealId = abi.decode(account.forward(address(escrow), cost, call), (uint256));
        _orders[orderId] = Order(listingId, shopper, dealId, price, discount);
        emit Ordered(orderId, listingId, shopper, dealId, price, couponId, discount);
    }

    /// @dev Buys through LocalPromotions coupon `couponId` of `seller` from `account` at this marketplace as the
    /// shop: the promotions credit the price to this marketplace, which returns it to the account at once, and the
    /// discount to the account, which takes it. Returns the discount.
    function _redeem(ShopperAccount account, address seller, uint256 couponId, uint128 price)
        private
        returns (uint256 discount)
    {
        if (address(promotions) == address(0) || promotions.getCoupon(couponId).business != seller) {
            revert NotEligible("coupon");
        }
        if (address(account).balance < price) revert InsufficientBalance(address(account).balance, price);
        bytes memory call = abi.encodeCall(LocalPromotions.purchase, (couponId, address(this)));
        discount = abi.decode(account.forward(address(promotions), price, call), (uint256));
        uint256 before = address(this).balance;
        promotions.withdraw();
        _send(address(account), address(this).balance - before);
        account.forward(address(promotions), 0, abi.encodeWithSignature("withdraw()"));
    }

    /// @dev Reverts unless `seller` may sell the listing `metadata`: the seller not closed by moderation, the listing
    /// not removed, and the certificate (if any) held by the seller and unrevoked.
    function _checkSeller(address seller, bytes32 metadata, uint256 certificate) private view {
        if (address(moderation) != address(0) && (moderation.isClosed(seller) || moderation.isRemoved(metadata))) {
            revert NotEligible("moderation");
        }
        if (certificate != 0) {
            if (certificates.ownerOf(certificate) != seller || certificates.certificate(certificate).revoked) {
                revert NotEligible("certificate");
            }
        }
    }

    /// @dev Makes order `orderId`'s escrow call `data` from its shopper's account; only the shopper.
    function _asShopper(uint256 orderId, bytes memory data) private {
        _shopperOrder(orderId);
        _existing(msg.sender).forward(address(escrow), 0, data);
    }

    function _shopperOrder(uint256 orderId) private view returns (Order storage order) {
        order = _orders[orderId];
        if (order.shopper == address(0) || msg.sender != order.shopper) revert NotAllowed();
    }

    function _openListing(uint256 listingId) private view returns (Listing storage listing) {
        listing = _listings[listingId];
        if (!listing.open) revert NotOpen();
    }

    /// @dev `shopper`'s account, created on first use.
    function _account(address shopper) private returns (ShopperAccount) {
        address existing = accountOf(shopper);
        if (existing.code.length > 0) return ShopperAccount(payable(existing));
        return new ShopperAccount{salt: _salt(shopper)}(shopper);
    }

    /// @dev `shopper`'s account, which must exist already: only calls that bring CMT (`fund`, `placeOrder` with
    /// value) create one, so a sponsored call that costs its sender nothing cannot create accounts.
    function _existing(address shopper) private view returns (ShopperAccount) {
        address existing = accountOf(shopper);
        if (existing.code.length == 0) revert NotEligible("account");
        return ShopperAccount(payable(existing));
    }

    function _salt(address shopper) private pure returns (bytes32) {
        return bytes32(uint256(uint160(shopper)));
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert NotAllowed();
    }
}
