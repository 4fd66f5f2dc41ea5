// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PullPayments} from "./PullPayments.sol";

/// @title Local promotions: digital coupons funded in CMT, targeted by area and audience, paid out as discounts
/// @notice A business registers its shops with the geohash of their location and funds coupons: a budget in CMT, an
/// area (a geohash prefix: the coupon holds at shops whose geohash starts with it), an audience (0 for everybody,
/// or a tag whose members the business admits), an expiry, and discount tiers by purchase amount. A buyer in the
/// audience who buys at one of the business's shops in the area through `purchase` pays the shop its standard price
/// and is paid the discount of the tier the amount reaches, from the coupon's budget, once per coupon. After the
/// expiry anyone closes the coupon and what is left of the budget returns to the business.
/// @dev Rounding: a discount is floor(amount * bps / 10000) for the highest tier whose minimum the amount reaches;
/// the dust stays in the budget and returns to the business at closing. A purchase whose discount the remaining
/// budget cannot pay in full reverts as a whole (the buyer keeps its CMT). Every payment is credited and withdrawn
/// by its owner (pull payments) behind a reentrancy guard.
contract LocalPromotions is PullPayments {
    /// @notice A discount tier: purchases of at least `minAmount` wei get `bps` basis points back.
    struct Tier {
        uint256 minAmount;
        uint16 bps;
    }

    /// @notice A coupon's terms and what is left of its budget.
    struct Coupon {
        address business;
        string area; // geohash prefix
        bytes32 audience; // 0: everybody
        uint64 expiresAt;
        uint256 remaining; // wei of budget left
        bool closed;
    }

    /// @notice The most tiers a coupon has.
    uint256 public constant MAX_TIERS = 8;
    /// @notice The longest geohash of a shop or an area (12 characters is a few centimetres).
    uint256 public constant MAX_GEOHASH = 12;
    /// @notice The most buyers admitted to an audience in one call.
    uint256 public constant MAX_BATCH = 100;

    /// @notice Coupons created; ids run from 1.
    uint256 public couponCount;
    mapping(uint256 => Coupon) private _coupons;
    mapping(uint256 => Tier[]) private _tiers;
    /// @notice The geohash of each business's shop ("" if not registered).
    mapping(address => mapping(address => string)) public shopGeohash;
    /// @notice Whether a business admitted a buyer to an audience.
    mapping(address => mapping(bytes32 => mapping(address => bool))) public inAudience;
    /// @notice Whether a buyer already used a coupon.
    mapping(uint256 => mapping(address => bool)) public used;

    /// @notice `business` registered `shop` at `geohash`.
    event ShopRegistered(address indexed business, address indexed shop, string geohash);
    /// @notice `business` admitted `buyer` to `audience`.
    event Admitted(address indexed business, bytes32 indexed audience, address indexed buyer);
    /// @notice `business` funded coupon `id` with `budget` wei for `area` and `audience` until `expiresAt`.
    event CouponCreated(uint256 indexed id, address indexed business, string area, bytes32 audience, uint256 budget,
        uint64 expiresAt);
    /// @notice `buyer` paid `amount` wei at `shop` under coupon `id` and was credited `discount` wei.
    event Redeemed(uint256 indexed id, address indexed buyer, address indexed shop, uint256 amount, uint256 discount);
    /// @notice Coupon `id` closed after its expiry; `refunded` wei returned to its business.
    event CouponClosed(uint256 indexed id, uint256 refunded);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The purchase is not under the coupon's terms; `term` names the one it misses.
    error NotEligible(string term);
    /// @notice The coupon's remaining budget cannot pay this discount.
    error BudgetExhausted(uint256 remaining, uint256 discount);
    /// @notice The coupon is not in the state the call needs (`state` names it).
    error WrongState(string state);

    /// @notice The calling business registers (or moves) `shop` at `geohash` (1 to 12 geohash characters).
    function registerShop(address shop, string calldata geohash) external {
        if (shop == address(0)) revert BadParameter("shop");
        _checkGeohash(geohash);
        shopGeohash[msg.sender][shop] = geohash;
        emit ShopRegistered(msg.sender, shop, geohash);
    }

    /// @notice The calling business admits `buyers` (at most MAX_BATCH) to its audience `audience`.
    function admit(bytes32 audience, address[] calldata buyers) external {
        if (audience == bytes32(0)) revert BadParameter("audience");
        if (buyers.length > MAX_BATCH) revert BadParameter("buyers");
        for (uint256 i = 0; i < buyers.length; ++i) {
            inAudience[msg.sender][audience][buyers[i]] = true;
            emit Admitted(msg.sender, audience, buyers[i]);
        }
    }

    /// @notice The caller funds a coupon with the CMT sent as its budget.
    /// @param area the geohash prefix of the shops where it holds (1 to 12 characters)
    /// @param audience the audience tag whose admitted buyers may use it, 0 for everybody
    /// @param expiresAt when it stops holding (block time, in the future)
    /// @param tiers 1 to MAX_TIERS tiers, minimums strictly increasing, rates increasing and at most 10000 bps
    /// @return id the coupon's id
    function createCoupon(string calldata area, bytes32 audience, uint64 expiresAt, Tier[] calldata tiers)
        external
        payable
        returns (uint256 id)
    {
        if (msg.value == 0) revert BadParameter("budget");
        _checkGeohash(area);
        if (expiresAt <= block.timestamp) revert BadParameter("expiresAt");
        if (tiers.length == 0 || tiers.length > MAX_TIERS) revert BadParameter("tiers");
        id = ++couponCount;
        for (uint256 i = 0; i < tiers.length; ++i) {
            Tier calldata tier = tiers[i];
            bool ordered = i == 0 || (tier.minAmount > tiers[i - 1].minAmount && tier.bps >= tiers[i - 1].bps);
            if (!ordered || tier.bps == 0 || tier.bps > 10_000) revert BadParameter("tiers");
            _tiers[id].push(tier);
        }
        _coupons[id] = Coupon(msg.sender, area, audience, expiresAt, msg.value, false);
        emit CouponCreated(id, msg.sender, area, audience, msg.value, expiresAt);
    }

    /// @notice The discount in wei a purchase of `amount` wei earns under coupon `id` (0 below the first tier).
    function discountFor(uint256 id, uint256 amount) public view returns (uint256) {
        Tier[] storage tiers = _tiers[id];
        for (uint256 i = tiers.length; i > 0; --i) {
            if (amount >= tiers[i - 1].minAmount) return amount * tiers[i - 1].bps / 10_000;
        }
        return 0;
    }

    /// @notice The caller buys at `shop` for the CMT sent, under coupon `id`: the shop is credited the whole amount
    /// and the caller the tier's discount from the budget. Reverts, keeping the caller's CMT, unless the purchase
    /// is under every term: before the expiry, a shop of the coupon's business in its area, a buyer in its
    /// audience who has not used it, an amount reaching a tier and a budget that pays the whole discount.
    /// @return discount the wei credited to the caller
    function purchase(uint256 id, address shop) external payable returns (uint256 discount) {
        Coupon storage coupon = _coupons[id];
        if (coupon.business == address(0) || coupon.closed) revert WrongState("open");
        if (block.timestamp >= coupon.expiresAt) revert NotEligible("expiry");
        if (!_within(bytes(shopGeohash[coupon.business][shop]), bytes(coupon.area))) revert NotEligible("area");
        if (coupon.audience != bytes32(0) && !inAudience[coupon.business][coupon.audience][msg.sender]) {
            revert NotEligible("audience");
        }
        if (used[id][msg.sender]) revert NotEligible("once");
        discount = discountFor(id, msg.value);
        if (discount == 0) revert NotEligible("amount");
        if (discount > coupon.remaining) revert BudgetExhausted(coupon.remaining, discount);
        used[id][msg.sender] = true;
        coupon.remaining -= discount;
        credit[shop] += msg.value;
        credit[msg.sender] += discount;
        emit Redeemed(id, msg.sender, shop, msg.value, discount);
    }

    /// @notice Closes coupon `id` after its expiry (anyone may call) and credits what is left to its business.
    function close(uint256 id) external {
        Coupon storage coupon = _coupons[id];
        if (coupon.business == address(0) || coupon.closed || block.timestamp < coupon.expiresAt) {
            revert WrongState("expired");
        }
        uint256 refunded = coupon.remaining;
        coupon.closed = true;
        coupon.remaining = 0;
        credit[coupon.business] += refunded;
        emit CouponClosed(id, refunded);
    }

    /// @notice Coupon `id` as recorded (a zero business for an unknown id).
    function getCoupon(uint256 id) external view returns (Coupon memory) {
        return _coupons[id];
    }

    /// @notice Coupon `id`'s discount tiers.
    function getTiers(uint256 id) external view returns (Tier[] memory) {
        return _tiers[id];
    }

    /// @dev Whether the geohash `cell` (a registered shop's, non-empty) lies in the area `prefix`: starts with it.
    function _within(bytes memory cell, bytes memory prefix) private pure returns (bool) {
        if (cell.length == 0 || cell.length < prefix.length) return false;
        for (uint256 i = 0; i < prefix.length; ++i) {
            if (cell[i] != prefix[i]) return false;
        }
        return true;
    }

    /// @dev Reverts unless `geohash` is 1 to MAX_GEOHASH characters of the geohash alphabet (0-9, b-z without i, l, o).
    function _checkGeohash(string calldata geohash) private pure {
        bytes calldata text = bytes(geohash);
        if (text.length == 0 || text.length > MAX_GEOHASH) revert BadParameter("geohash");
        for (uint256 i = 0; i < text.length; ++i) {
            bytes1 c = text[i];
            bool digit = c >= "0" && c <= "9";
            bool letter = c >= "b" && c <= "z" && c != "i" && c != "l" && c != "o";
            if (!digit && !letter) revert BadParameter("geohash");
        }
    }
}
