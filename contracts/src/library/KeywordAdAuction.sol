// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PullPayments} from "./PullPayments.sol";

/// @title Keyword ad auction: sealed bids for search keywords each period, generalised second-price settlement
/// @notice Time is cut into rounds of `period` seconds from deployment. In each round sellers commit sealed bids on
/// a keyword (a hash of the amount, the ad and a salt, with a deposit covering the amount), then reveal them; after
/// the reveal window anyone settles the round. The `slots` highest revealed bids win the keyword's ad slots, shown
/// by Dapps during the next round; each winner pays the bid ranked just below its own, the last winner the next bid
/// or the reserve price (generalised second price). Payments are burned (sent to the zero address) or, if a rebater
/// was named at deployment, go to a rebate pool that the rebater hands out to buyers. Token holders flag spam ads by
/// locking CMT on them; an ad whose flags reach the spam threshold is hidden and its payment refunded less a penalty.
/// @dev Rounding: the only division is a penalty, floor(amount * penaltyBps / 10000), so it rounds in favour of the
/// one who pays it. Winners' payments are bid amounts, so no dust arises. Every refund is credited and withdrawn by
/// its owner (pull payments) behind a reentrancy guard; burned CMT goes to the zero address, which runs no code.
contract KeywordAdAuction is PullPayments {
    /// @notice A seller's sealed bid in one round on one keyword.
    struct Commitment {
        bytes32 sealedBid; // keccak256(abi.encode(keyword, round, bidder, amount, adHash, salt))
        uint256 deposit;
        uint256 amount; // 0 until revealed
        uint256 charge; // the winner's payment, held from the deposit
        bool reclaimed;
    }

    /// @notice A revealed bid among the best of its round.
    struct RankedBid {
        address bidder;
        uint256 amount;
        bytes32 adHash;
    }

    /// @notice A winning ad: its slot, what it pays and the spam flags on it.
    struct Ad {
        address seller;
        bytes32 keyword;
        uint64 round; // shown during round + 1
        uint8 slot; // 0 is the top
        bytes32 adHash;
        uint256 payment;
        uint256 flags; // wei locked by flaggers
        bool hidden;
        bool finalized; // the payment was burned, rebated or refunded
    }

    /// @notice A settled round of a keyword: its ads are ids firstAd .. firstAd + winners - 1.
    struct Round {
        bool settled;
        uint8 winners;
        uint256 firstAd;
    }

    /// @notice The most ad slots per keyword.
    uint8 public constant MAX_SLOTS = 10;
    /// @notice The most buyers rebated in one call.
    uint256 public constant MAX_BATCH = 100;

    /// @notice The block time round 0 starts.
    uint64 public immutable start;
    /// @notice The length of a round in seconds.
    uint64 public immutable period;
    /// @notice Seconds from a round's start during which bids are committed.
    uint64 public immutable commitPeriod;
    /// @notice Seconds after the commit window during which bids are revealed.
    uint64 public immutable revealPeriod;
    /// @notice Ad slots per keyword and round.
    uint8 public immutable slots;
    /// @notice The least a bid may be, and what the last winner pays when no bid ranks below it.
    uint256 public immutable reservePrice;
    /// @notice Wei of flags that hide an ad.
    uint256 public immutable spamThreshold;
    /// @notice The share of a deposit (unrevealed bid) or payment (ad hidden as spam) kept as a penalty.
    uint16 public immutable penaltyBps;
    /// @notice Who hands the rebate pool out to buyers; the zero address when payments are burned.
    address public immutable rebater;

    mapping(bytes32 => mapping(uint64 => mapping(address => Commitment))) private _commitments;
    mapping(bytes32 => mapping(uint64 => RankedBid[])) private _ranking;
    mapping(bytes32 => mapping(uint64 => Round)) private _rounds;
    mapping(uint256 => Ad) private _ads;
    /// @notice Ads won; ids run from 1.
    uint256 public adCount;
    /// @notice Wei each flagger locked on each ad.
    mapping(uint256 => mapping(address => uint256)) public lockedFlags;
    /// @notice Wei sent to the zero address.
    uint256 public burned;
    /// @notice Wei the rebater may still hand out.
    uint256 public rebatePool;

    /// @notice `bidder` committed a sealed bid on `keyword` in `round` with `deposit` wei.
    event BidCommitted(bytes32 indexed keyword, uint64 indexed round, address indexed bidder, uint256 deposit);
    /// @notice `bidder` revealed a bid of `amount` wei for the ad `adHash`.
    event BidRevealed(bytes32 indexed keyword, uint64 indexed round, address indexed bidder, uint256 amount,
        bytes32 adHash);
    /// @notice Ad `id` of `seller` won `slot` of `keyword` in `round` and pays `payment` wei.
    event AdWon(uint256 indexed id, bytes32 indexed keyword, uint64 indexed round, uint8 slot, address seller,
        bytes32 adHash, uint256 payment);
    /// @notice `round` of `keyword` was settled with `winners` ads.
    event RoundSettled(bytes32 indexed keyword, uint64 indexed round, uint8 winners);
    /// @notice `bidder` was credited `refund` wei of its deposit; `penalty` wei went to the payments' destination.
    event DepositReclaimed(bytes32 indexed keyword, uint64 indexed round, address indexed bidder, uint256 refund,
        uint256 penalty);
    /// @notice `flagger` locked `amount` wei on ad `id` as spam; the ad has `flags` wei of flags.
    event Flagged(uint256 indexed id, address indexed flagger, uint256 amount, uint256 flags);
    /// @notice Ad `id` was hidden as spam; its seller was credited `refund` wei and `penalty` wei was kept.
    event AdHidden(uint256 indexed id, uint256 refund, uint256 penalty);
    /// @notice Ad `id` was shown to the end of its round and its `payment` went to the payments' destination.
    event AdFinalized(uint256 indexed id, uint256 payment);
    /// @notice `flagger` was credited back the `amount` wei it locked on ad `id`.
    event FlagsUnlocked(uint256 indexed id, address indexed flagger, uint256 amount);
    /// @notice `amount` wei was sent to the zero address.
    event Burned(uint256 amount);
    /// @notice `amount` wei joined the rebate pool.
    event RebatePooled(uint256 amount);
    /// @notice The rebater credited `buyer` `amount` wei from the rebate pool.
    event Rebated(address indexed buyer, uint256 amount);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller cannot do this; `term` names the term it misses.
    error NotEligible(string term);
    /// @notice The round or ad is not in the state the call needs (`state` names it).
    error WrongState(string state);
    /// @notice The revealed bid does not match the sealed one.
    error WrongProof();

    /// @param period_ seconds per round
    /// @param commitPeriod_ seconds of commit window, then `revealPeriod_` of reveal window; both fit in a round
    /// @param slots_ ad slots per keyword (1 to MAX_SLOTS)
    /// @param reservePrice_ the least bid, paid by the last winner when no bid ranks below it
    /// @param spamThreshold_ wei of flags that hide an ad (above 0)
    /// @param penaltyBps_ the penalty in basis points (at most 10000)
    /// @param rebater_ who hands the rebate pool out to buyers, or the zero address to burn the payments
    constructor(uint64 period_, uint64 commitPeriod_, uint64 revealPeriod_, uint8 slots_, uint256 reservePrice_,
        uint256 spamThreshold_, uint16 penaltyBps_, address rebater_) {
        if (commitPeriod_ == 0 || revealPeriod_ == 0 || commitPeriod_ + revealPeriod_ > period_) {
            revert BadParameter("periods");
        }
        if (slots_ == 0 || slots_ > MAX_SLOTS) revert BadParameter("slots");
        if (spamThreshold_ == 0) revert BadParameter("spamThreshold");
        if (penaltyBps_ > 10_000) revert BadParameter("penaltyBps");
        start = uint64(block.timestamp);
        (period, commitPeriod, revealPeriod, slots) = (period_, commitPeriod_, revealPeriod_, slots_);
        (reservePrice, spamThreshold, penaltyBps, rebater) = (reservePrice_, spamThreshold_, penaltyBps_, rebater_);
    }

    /// @notice The round block time is in now.
    function currentRound() public view returns (uint64) {
        return (uint64(block.timestamp) - start) / period;
    }

    /// @notice The block time `round` starts.
    function roundStart(uint64 round) public view returns (uint64) {
        return start + round * period;
    }

    /// @notice The caller commits a sealed bid on `keyword` in the current round's commit window, depositing the CMT
    /// sent (at least the reserve price, and at least the amount it will reveal; more hides the amount). One
    /// commitment per seller, keyword and round.
    /// @param sealedBid keccak256(abi.encode(keyword, round, caller, amount, adHash, salt))
    /// @return round the round committed to
    function commitBid(bytes32 keyword, bytes32 sealedBid) external payable returns (uint64 round) {
        round = currentRound();
        if (block.timestamp >= roundStart(round) + commitPeriod) revert WrongState("committing");
        if (keyword == bytes32(0)) revert BadParameter("keyword");
        if (sealedBid == bytes32(0)) revert BadParameter("sealedBid");
        if (msg.value == 0 || msg.value < reservePrice) revert BadParameter("deposit");
        Commitment storage commitment = _commitments[keyword][round][msg.sender];
        if (commitment.deposit != 0) revert NotEligible("once");
        commitment.sealedBid = sealedBid;
        commitment.deposit = msg.value;
        emit BidCommitted(keyword, round, msg.sender, msg.value);
    }

    /// @notice The caller reveals its bid on `keyword` in `round`, within the round's reveal window.
    /// @param amount the bid in wei: at least the reserve price, at most the deposit
    /// @param adHash the hash of the ad (its product listing) shown if it wins
    function revealBid(bytes32 keyword, uint64 round, uint256 amount, bytes32 adHash, bytes32 salt) external {
        uint64 opens = roundStart(round) + commitPeriod;
        if (block.timestamp < opens || block.timestamp >= opens + revealPeriod) revert WrongState("revealing");
        Commitment storage commitment = _commitments[keyword][round][msg.sender];
        if (commitment.deposit == 0 || commitment.amount != 0) revert NotEligible("committed");
        if (keccak256(abi.encode(keyword, round, msg.sender, amount, adHash, salt)) != commitment.sealedBid) {
            revert WrongProof();
        }
        if (amount == 0 || amount < reservePrice || amount > commitment.deposit) revert BadParameter("amount");
        if (adHash == bytes32(0)) revert BadParameter("adHash");
        commitment.amount = amount;
        _rank(_ranking[keyword][round], RankedBid(msg.sender, amount, adHash));
        emit BidRevealed(keyword, round, msg.sender, amount, adHash);
    }

    /// @notice Settles `round` of `keyword` after its reveal window (anyone may call): the `slots` highest revealed
    /// bids win in order (ties: the earlier reveal first), each paying the next bid down, the last winner the
    /// next bid or the reserve price.
    function settle(bytes32 keyword, uint64 round) external {
        Round storage settled = _rounds[keyword][round];
        if (settled.settled || block.timestamp < roundStart(round) + commitPeriod + revealPeriod) {
            revert WrongState("revealed");
        }
        RankedBid[] storage ranking = _ranking[keyword][round];
        uint8 winners = ranking.length < slots ? uint8(ranking.length) : slots;
        (settled.settled, settled.winners, settled.firstAd) = (true, winners, adCount + 1);
        for (uint8 slot = 0; slot < winners; ++slot) {
            RankedBid storage winner = ranking[slot];
            uint256 payment = slot + 1 < ranking.length ? ranking[slot + 1].amount : reservePrice;
            _commitments[keyword][round][winner.bidder].charge = payment;
            uint256 id = ++adCount;
            _ads[id] = Ad(winner.bidder, keyword, round, slot, winner.adHash, payment, 0, false, false);
            emit AdWon(id, keyword, round, slot, winner.bidder, winner.adHash, payment);
        }
        emit RoundSettled(keyword, round, winners);
    }

    /// @notice After `round` of `keyword` is settled, credits the caller its deposit less its payment if it won,
    /// or less the penalty if it never revealed (the penalty goes where payments go).
    /// @return refund the wei credited
    function reclaim(bytes32 keyword, uint64 round) external returns (uint256 refund) {
        if (!_rounds[keyword][round].settled) revert WrongState("settled");
        Commitment storage commitment = _commitments[keyword][round][msg.sender];
        if (commitment.deposit == 0 || commitment.reclaimed) revert NotEligible("committed");
        uint256 penalty = commitment.amount == 0 ? commitment.deposit * penaltyBps / 10_000 : 0;
        refund = commitment.deposit - commitment.charge - penalty;
        commitment.reclaimed = true;
        credit[msg.sender] += refund;
        emit DepositReclaimed(keyword, round, msg.sender, refund, penalty);
        _collect(penalty);
    }

    /// @notice The caller flags ad `id` as spam, locking the CMT sent until the ad's round ends or it is hidden. When
    /// the flags reach the spam threshold the ad is hidden and its seller credited its payment less the penalty.
    function flag(uint256 id) external payable {
        Ad storage ad = _ads[id];
        if (ad.seller == address(0) || ad.hidden || block.timestamp >= roundStart(ad.round + 2)) {
            revert WrongState("shown");
        }
        if (msg.value == 0) revert BadParameter("amount");
        lockedFlags[id][msg.sender] += msg.value;
        ad.flags += msg.value;
        emit Flagged(id, msg.sender, msg.value, ad.flags);
        if (ad.flags < spamThreshold) return;
        uint256 penalty = ad.payment * penaltyBps / 10_000;
        (ad.hidden, ad.finalized) = (true, true);
        credit[ad.seller] += ad.payment - penalty;
        emit AdHidden(id, ad.payment - penalty, penalty);
        _collect(penalty);
    }

    /// @notice After ad `id`'s round of display ends (anyone may call), sends its payment where payments go.
    function finalize(uint256 id) external {
        Ad storage ad = _ads[id];
        if (ad.seller == address(0) || ad.finalized || block.timestamp < roundStart(ad.round + 2)) {
            revert WrongState("shown");
        }
        ad.finalized = true;
        emit AdFinalized(id, ad.payment);
        _collect(ad.payment);
    }

    /// @notice Credits the caller back the CMT it locked on ad `id`, once the ad is hidden or its display ended.
    function unlockFlags(uint256 id) external {
        Ad storage ad = _ads[id];
        if (!ad.hidden && block.timestamp < roundStart(ad.round + 2)) revert WrongState("over");
        uint256 amount = lockedFlags[id][msg.sender];
        if (amount == 0) revert NotEligible("flagged");
        lockedFlags[id][msg.sender] = 0;
        credit[msg.sender] += amount;
        emit FlagsUnlocked(id, msg.sender, amount);
    }

    /// @notice The rebater credits `buyers` (at most MAX_BATCH) the matching `amounts` from the rebate pool.
    function rebate(address[] calldata buyers, uint256[] calldata amounts) external {
        if (msg.sender != rebater || rebater == address(0)) revert NotEligible("rebater");
        if (buyers.length != amounts.length || buyers.length > MAX_BATCH) revert BadParameter("buyers");
        for (uint256 i = 0; i < buyers.length; ++i) {
            if (amounts[i] > rebatePool) revert BadParameter("amounts");
            rebatePool -= amounts[i];
            credit[buyers[i]] += amounts[i];
            emit Rebated(buyers[i], amounts[i]);
        }
    }

    /// @notice `bidder`'s commitment on `keyword` in `round`.
    function getCommitment(bytes32 keyword, uint64 round, address bidder) external view returns (Commitment memory) {
        return _commitments[keyword][round][bidder];
    }

    /// @notice The revealed bids of `round` on `keyword` still in contention (at most slots + 1), best first.
    function getRanking(bytes32 keyword, uint64 round) external view returns (RankedBid[] memory) {
        return _ranking[keyword][round];
    }

    /// @notice `round` of `keyword` as settled (not settled: all zero).
    function getRound(bytes32 keyword, uint64 round) external view returns (Round memory) {
        return _rounds[keyword][round];
    }

    /// @notice Ad `id` as recorded (a zero seller for an unknown id).
    function getAd(uint256 id) external view returns (Ad memory) {
        return _ads[id];
    }

    /// @notice The ads a Dapp shows for `keyword` during round `round` + 1, top slot first, without hidden ones.
    function visibleAds(bytes32 keyword, uint64 round) external view returns (uint256[] memory ids) {
        Round storage settled = _rounds[keyword][round];
        ids = new uint256[](settled.winners);
        uint256 found = 0;
        for (uint256 id = settled.firstAd; id < settled.firstAd + settled.winners; ++id) {
            if (!_ads[id].hidden) ids[found++] = id;
        }
        assembly {
            mstore(ids, found)
        }
    }

    /// @dev Inserts `bid` into `ranking` (best first, ties after the earlier ones), keeping at most slots + 1.
    function _rank(RankedBid[] storage ranking, RankedBid memory bid) private {
        uint256 position = ranking.length;
        while (position > 0 && ranking[position - 1].amount < bid.amount) --position;
        if (position > slots) return;
        if (ranking.length <= slots) ranking.push();
        for (uint256 i = ranking.length - 1; i > position; --i) ranking[i] = ranking[i - 1];
        ranking[position] = bid;
    }

    /// @dev Sends `amount` wei where payments go: to the zero address, or into the rebate pool.
    function _collect(uint256 amount) private {
        if (amount == 0) return;
        if (rebater != address(0)) {
            rebatePool += amount;
            emit RebatePooled(amount);
            return;
        }
        burned += amount;
        emit Burned(amount);
        _send(address(0), amount);
    }
}
