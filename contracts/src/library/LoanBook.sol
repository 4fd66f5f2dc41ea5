// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {PullPayments} from "./PullPayments.sol";

/// @title A peer-to-peer loan book: posted terms, matching against credit history, repayments by block time
/// @notice Borrowers post asks (amount, highest interest, number of installments, interval); lenders post offers
/// holding the CMT they lend (interest, installments, interval, and the credit history they require). Anyone may
/// match an ask with an offer whose terms fit and whose requirements the borrower's history meets at that moment;
/// the principal is credited to the borrower and installments fall due every interval by block time. Each
/// installment paid, on time or late, each repaid loan and each default (an installment unpaid a whole interval
/// past its due time, declared by anyone) become the borrower's credit history, which the next match reads.
/// @dev Rounding: the interest is ceil(principal * rateBps / 10000), in the lender's favour; each installment is
/// floor(owed / installments) and the last one also takes the remainder, so the installments add up to exactly
/// what is owed. Loans are unsecured: a default leaves the lender with what was repaid and the borrower with the
/// record. Value leaves the contract only in `withdraw`, to its caller, after its credit is zeroed, behind a
/// reentrancy guard.
contract LoanBook is PullPayments {
    /// @notice A borrower's posted terms.
    struct Ask {
        address borrower;
        uint256 amount; // wei
        uint16 maxRateBps; // the highest total interest accepted, in basis points of the amount
        uint8 installments;
        uint64 interval; // seconds between installments
        bool open;
    }

    /// @notice A lender's posted terms and the CMT it still offers.
    struct Offer {
        address lender;
        uint256 available; // wei held for matching
        uint16 rateBps; // total interest, in basis points of the principal
        uint8 installments;
        uint64 interval;
        uint32 minRepaid; // loans the borrower must have repaid
        uint32 maxDefaults; // defaults the borrower may have
    }

    /// @notice A matched loan.
    struct Loan {
        address borrower;
        address lender;
        uint256 principal;
        uint256 owed; // principal and interest
        uint256 repaid;
        uint64 start;
        uint64 interval;
        uint8 installments;
        uint8 paidInstallments;
        bool closed;
    }

    /// @notice A borrower's credit history.
    struct History {
        uint32 loansRepaid;
        uint32 defaults;
        uint32 onTime;
        uint32 late;
        uint256 amountRepaid; // wei
    }

    /// @notice The most installments of a loan.
    uint8 public constant MAX_INSTALLMENTS = 60;

    /// @notice Asks posted; ids run from 1.
    uint256 public askCount;
    /// @notice Offers posted; ids run from 1.
    uint256 public offerCount;
    /// @notice Loans matched; ids run from 1.
    uint256 public loanCount;
    mapping(uint256 => Ask) private _asks;
    mapping(uint256 => Offer) private _offers;
    mapping(uint256 => Loan) private _loans;
    mapping(address => History) private _histories;

    /// @notice `borrower` posted ask `id`.
    event AskPosted(uint256 indexed id, address indexed borrower, uint256 amount, uint16 maxRateBps,
        uint8 installments, uint64 interval);
    /// @notice `lender` posted offer `id` holding `amount` wei.
    event OfferPosted(uint256 indexed id, address indexed lender, uint256 amount, uint16 rateBps, uint8 installments,
        uint64 interval, uint32 minRepaid, uint32 maxDefaults);
    /// @notice The borrower withdrew ask `id` from the book.
    event AskCancelled(uint256 indexed id);
    /// @notice The lender withdrew offer `id`; `returned` wei were credited back.
    event OfferCancelled(uint256 indexed id, uint256 returned);
    /// @notice `matcher` matched ask `askId` with offer `offerId` into loan `loanId`.
    event Matched(uint256 indexed loanId, uint256 indexed askId, uint256 indexed offerId, address matcher,
        uint256 principal, uint256 owed);
    /// @notice The borrower paid installment `number` (from 1) of loan `loanId`, `onTime` or late.
    event Repaid(uint256 indexed loanId, uint8 number, uint256 amount, bool onTime);
    /// @notice Loan `loanId` was repaid in full.
    event LoanClosed(uint256 indexed loanId);
    /// @notice Loan `loanId` defaulted with `outstanding` wei unpaid, as declared by `caller`.
    event Defaulted(uint256 indexed loanId, uint256 outstanding, address caller);

    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice The caller may not make this call.
    error NotAllowed();
    /// @notice The ask and the offer do not fit; `term` names the first that differs.
    error NoMatch(string term);
    /// @notice The record is not in the state the call needs (`state` names it).
    error WrongState(string state);
    /// @notice The sent value is not the installment due (`expected` wei).
    error WrongValue(uint256 expected);

    /// @notice The caller asks to borrow `amount` wei at `maxRateBps` total interest at most, repaid in
    /// `installments` installments every `interval` seconds.
    /// @return id the ask's id
    function postAsk(uint256 amount, uint16 maxRateBps, uint8 installments, uint64 interval)
        external
        returns (uint256 id)
    {
        _checkSchedule(installments, interval);
        if (amount == 0) revert BadParameter("amount");
        id = ++askCount;
        _asks[id] = Ask(msg.sender, amount, maxRateBps, installments, interval, true);
        emit AskPosted(id, msg.sender, amount, maxRateBps, installments, interval);
    }

    /// @notice The caller offers to lend the CMT sent at `rateBps` total interest, in `installments` installments
    /// every `interval` seconds, to borrowers who repaid at least `minRepaid` loans and defaulted at most
    /// `maxDefaults` times.
    /// @return id the offer's id
    function postOffer(uint16 rateBps, uint8 installments, uint64 interval, uint32 minRepaid, uint32 maxDefaults)
        external
        payable
        returns (uint256 id)
    {
        _checkSchedule(installments, interval);
        if (msg.value == 0) revert BadParameter("amount");
        id = ++offerCount;
        _offers[id] = Offer(msg.sender, msg.value, rateBps, installments, interval, minRepaid, maxDefaults);
        emit OfferPosted(id, msg.sender, msg.value, rateBps, installments, interval, minRepaid, maxDefaults);
    }

    /// @notice The borrower takes ask `id` off the book.
    function cancelAsk(uint256 id) external {
        Ask storage ask = _asks[id];
        if (msg.sender != ask.borrower) revert NotAllowed();
        if (!ask.open) revert WrongState("open");
        ask.open = false;
        emit AskCancelled(id);
    }

    /// @notice The lender takes offer `id` off the book; what it still held is credited back.
    function cancelOffer(uint256 id) external {
        Offer storage offer = _offers[id];
        if (msg.sender != offer.lender) revert NotAllowed();
        uint256 returned = offer.available;
        if (returned == 0) revert WrongState("open");
        offer.available = 0;
        credit[msg.sender] += returned;
        emit OfferCancelled(id, returned);
    }

    /// @notice Whether ask `askId` and offer `offerId` can be matched now; if not, the first term that fails.
    function fits(uint256 askId, uint256 offerId) public view returns (bool, string memory) {
        Ask storage ask = _asks[askId];
        Offer storage offer = _offers[offerId];
        History storage record = _histories[ask.borrower];
        if (!ask.open) return (false, "ask");
        if (offer.available < ask.amount) return (false, "amount");
        if (offer.lender == ask.borrower) return (false, "parties");
        if (offer.rateBps > ask.maxRateBps) return (false, "rate");
        if (offer.installments != ask.installments || offer.interval != ask.interval) return (false, "schedule");
        if (record.loansRepaid < offer.minRepaid || record.defaults > offer.maxDefaults) return (false, "history");
        return (true, "");
    }

    /// @notice Matches ask `askId` with offer `offerId` (anyone may call): the ask closes, the offer lends the
    /// ask's amount at the offer's rate, the principal is credited to the borrower, and the first installment falls
    /// due one interval from now. The borrower's history is read now, so a default recorded after the offer was
    /// posted keeps the match from happening.
    /// @return loanId the loan's id
    function matchTerms(uint256 askId, uint256 offerId) external returns (uint256 loanId) {
        (bool ok, string memory term) = fits(askId, offerId);
        if (!ok) revert NoMatch(term);
        Ask storage ask = _asks[askId];
        Offer storage offer = _offers[offerId];
        uint256 principal = ask.amount;
        uint256 owed = principal + (principal * offer.rateBps + 9_999) / 10_000;
        ask.open = false;
        offer.available -= principal;
        loanId = ++loanCount;
        _loans[loanId] = Loan(ask.borrower, offer.lender, principal, owed, 0, uint64(block.timestamp), ask.interval,
            ask.installments, 0, false);
        credit[ask.borrower] += principal;
        emit Matched(loanId, askId, offerId, msg.sender, principal, owed);
    }

    /// @notice The installment number `paidInstallments + 1` of loan `loanId`: its amount and due time.
    function nextInstallment(uint256 loanId) public view returns (uint256 amount, uint64 due) {
        Loan storage loan = _loans[loanId];
        if (loan.borrower == address(0) || loan.closed) revert WrongState("running");
        uint8 number = loan.paidInstallments + 1;
        amount = loan.owed / loan.installments;
        if (number == loan.installments) amount = loan.owed - loan.repaid;
        due = loan.start + loan.interval * number;
    }

    /// @notice The borrower pays the next installment of loan `loanId` (exactly its amount), credited to the
    /// lender; the last one closes the loan.
    function repay(uint256 loanId) external payable {
        Loan storage loan = _loans[loanId];
        (uint256 amount, uint64 due) = nextInstallment(loanId);
        if (msg.sender != loan.borrower) revert NotAllowed();
        if (msg.value != amount) revert WrongValue(amount);
        if (block.timestamp >= due + loan.interval) revert WrongState("running"); // in default: see declareDefault
        bool onTime = block.timestamp <= due;
        History storage record = _histories[msg.sender];
        loan.paidInstallments += 1;
        loan.repaid += amount;
        record.amountRepaid += amount;
        if (onTime) record.onTime += 1;
        else record.late += 1;
        credit[loan.lender] += amount;
        emit Repaid(loanId, loan.paidInstallments, amount, onTime);
        if (loan.paidInstallments == loan.installments) {
            loan.closed = true;
            record.loansRepaid += 1;
            emit LoanClosed(loanId);
        }
    }

    /// @notice Declares loan `loanId` in default (anyone may call) once an installment is unpaid a whole interval
    /// past its due time; the loan closes and the borrower's history records the default.
    function declareDefault(uint256 loanId) external {
        Loan storage loan = _loans[loanId];
        (, uint64 due) = nextInstallment(loanId);
        if (block.timestamp < due + loan.interval) revert WrongState("overdue");
        loan.closed = true;
        _histories[loan.borrower].defaults += 1;
        emit Defaulted(loanId, loan.owed - loan.repaid, msg.sender);
    }

    /// @notice `borrower`'s credit history.
    function history(address borrower) external view returns (History memory) {
        return _histories[borrower];
    }

    /// @notice Ask `id` as posted.
    function getAsk(uint256 id) external view returns (Ask memory) {
        return _asks[id];
    }

    /// @notice Offer `id` as posted, with what it still holds.
    function getOffer(uint256 id) external view returns (Offer memory) {
        return _offers[id];
    }

    /// @notice Loan `id` as it stands.
    function getLoan(uint256 id) external view returns (Loan memory) {
        return _loans[id];
    }

    function _checkSchedule(uint8 installments, uint64 interval) private pure {
        if (installments == 0 || installments > MAX_INSTALLMENTS) revert BadParameter("installments");
        if (interval < 1 days || interval > 366 days) revert BadParameter("interval");
    }
}
