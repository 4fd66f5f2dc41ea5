// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {LoanBook} from "../../src/library/LoanBook.sol";
import {PullPayments} from "../../src/library/PullPayments.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract LoanBookTest {
    LoanBook book;
    address borrower = address(0xB0);
    address lender = address(0x1E);
    address other = address(0x07);
    uint64 constant NOW = 1_000_000;
    uint64 constant MONTH = 30 days;

    function setUp() public {
        vm.warp(NOW);
        book = new LoanBook();
        vm.deal(borrower, 100 ether);
        vm.deal(lender, 100 ether);
        vm.deal(other, 100 ether);
    }

    function _ask(uint256 amount, uint16 maxRate, uint8 installments) internal returns (uint256 id) {
        vm.prank(borrower);
        id = book.postAsk(amount, maxRate, installments, MONTH);
    }

    function _offer(address from, uint256 amount, uint16 rate, uint8 installments, uint32 minRepaid,
        uint32 maxDefaults) internal returns (uint256 id) {
        vm.prank(from);
        id = book.postOffer{value: amount}(rate, installments, MONTH, minRepaid, maxDefaults);
    }

    function _payNext(uint256 loanId) internal {
        (uint256 amount,) = book.nextInstallment(loanId);
        vm.prank(borrower);
        book.repay{value: amount}(loanId);
    }

    function _expect(bytes4 selector, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(selector, what));
    }

    function testAMatchedLoanIsRepaidOnScheduleAndBecomesHistory() public {
        uint256 ask = _ask(12 ether, 1_000, 3);
        uint256 offer = _offer(lender, 20 ether, 600, 3, 0, 0);
        vm.prank(other); // any matcher
        uint256 loanId = book.matchTerms(ask, offer);
        require(book.credit(borrower) == 12 ether && book.getOffer(offer).available == 8 ether, "principal lent");
        LoanBook.Loan memory loan = book.getLoan(loanId);
        require(loan.owed == 12.72 ether, "6% interest at the lender's rate");
        (uint256 amount, uint64 due) = book.nextInstallment(loanId);
        require(amount == 4.24 ether && due == NOW + MONTH, "a third, due in a month");
        for (uint256 i = 1; i <= 3; ++i) {
            vm.warp(NOW + MONTH * i);
            _payNext(loanId);
        }
        require(book.getLoan(loanId).closed && book.credit(lender) == 12.72 ether, "repaid to the lender");
        LoanBook.History memory record = book.history(borrower);
        require(record.loansRepaid == 1 && record.onTime == 3 && record.defaults == 0, "the history shows it");
        vm.expectRevert(abi.encodeWithSelector(LoanBook.WrongState.selector, "running"));
        book.nextInstallment(loanId);
    }

    function testInstallmentsAddUpToWhatIsOwedWithTheRoundingOnTheLast() public {
        uint256 ask = _ask(1 ether + 1, 1, 7);
        uint256 offer = _offer(lender, 2 ether, 1, 7, 0, 0);
        uint256 loanId = book.matchTerms(ask, offer);
        uint256 owed = book.getLoan(loanId).owed;
        require(owed == 1 ether + 1 + 100_000_000_000_001, "interest rounded up");
        uint256 total;
        for (uint256 i = 0; i < 7; ++i) {
            (uint256 amount,) = book.nextInstallment(loanId);
            total += amount;
            _payNext(loanId);
        }
        require(total == owed && book.credit(lender) == owed, "no dust lost or kept");
    }

    function testTermsThatDoNotFitAreNotMatched() public {
        uint256 ask = _ask(10 ether, 500, 3);
        uint256[6] memory offers = [
            _offer(lender, 10 ether, 600, 3, 0, 0),
            _offer(lender, 10 ether, 500, 6, 0, 0),
            _offer(lender, 9 ether, 500, 3, 0, 0),
            _offer(borrower, 10 ether, 500, 3, 0, 0),
            _offer(lender, 10 ether, 500, 3, 1, 0), // wants one repaid loan
            _offer(lender, 10 ether, 500, 3, 0, 0)
        ];
        string[5] memory terms = ["rate", "schedule", "amount", "parties", "history"];
        for (uint256 i = 0; i < terms.length; ++i) {
            _expect(LoanBook.NoMatch.selector, terms[i]);
            book.matchTerms(ask, offers[i]);
        }
        vm.prank(borrower);
        book.cancelAsk(ask);
        _expect(LoanBook.NoMatch.selector, "ask");
        book.matchTerms(ask, offers[5]);
    }

    function testABorrowerWhoNeverPaysIsDeclaredInDefaultByAnyoneAndTheNextMatcherSeesIt() public {
        uint256 loanId = book.matchTerms(_ask(5 ether, 1_000, 2), _offer(lender, 5 ether, 1_000, 2, 0, 0));
        vm.warp(NOW + 2 * MONTH - 1);
        _expect(LoanBook.WrongState.selector, "overdue");
        book.declareDefault(loanId);
        vm.warp(NOW + 2 * MONTH);
        vm.prank(borrower);
        _expect(LoanBook.WrongState.selector, "running");
        book.repay{value: 2.75 ether}(loanId); // too late: the default is due
        vm.prank(other);
        book.declareDefault(loanId);
        require(book.history(borrower).defaults == 1, "recorded");
        uint256 ask = _ask(5 ether, 1_000, 2);
        (bool ok, string memory term) = book.fits(ask, _offer(other, 5 ether, 1_000, 2, 0, 0));
        require(!ok && keccak256(bytes(term)) == keccak256("history"), "no lender without tolerance for defaults");
        book.matchTerms(ask, _offer(other, 5 ether, 1_000, 2, 0, 1)); // a lender who accepts one default
    }

    function testALatePaymentIsAcceptedWithinTheGraceAndRecordedAsLate() public {
        uint256 loanId = book.matchTerms(_ask(2 ether, 0, 2), _offer(lender, 2 ether, 0, 2, 0, 0));
        vm.warp(NOW + MONTH + 1 days);
        _payNext(loanId);
        LoanBook.History memory record = book.history(borrower);
        require(record.late == 1 && record.onTime == 0, "late");
    }

    function testADefaultAfterTheOfferWasPostedStopsTheMatch() public {
        uint256 safeOffer = _offer(other, 5 ether, 500, 1, 0, 0); // posted while the borrower had no default
        uint256 ask = _ask(5 ether, 500, 1);
        uint256 loanId = book.matchTerms(_ask(1 ether, 500, 1), _offer(lender, 1 ether, 500, 1, 0, 0));
        vm.warp(NOW + 2 * MONTH);
        book.declareDefault(loanId);
        _expect(LoanBook.NoMatch.selector, "history");
        book.matchTerms(ask, safeOffer);
    }

    function testOnlyTheBorrowerRepaysAndOnlyTheExactInstallment() public {
        uint256 loanId = book.matchTerms(_ask(3 ether, 0, 3), _offer(lender, 3 ether, 0, 3, 0, 0));
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(LoanBook.NotAllowed.selector));
        book.repay{value: 1 ether}(loanId);
        vm.prank(borrower);
        vm.expectRevert(abi.encodeWithSelector(LoanBook.WrongValue.selector, 1 ether));
        book.repay{value: 2 ether}(loanId);
    }

    function testACancelledOfferReturnsWhatItHeldAndCannotBeMatched() public {
        uint256 offer = _offer(lender, 10 ether, 500, 1, 0, 0);
        book.matchTerms(_ask(4 ether, 500, 1), offer);
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(LoanBook.NotAllowed.selector));
        book.cancelOffer(offer);
        vm.prank(lender); // a cancellation that lands ahead of a match
        book.cancelOffer(offer);
        require(book.credit(lender) == 6 ether, "the rest back");
        uint256 ask = _ask(4 ether, 500, 1);
        _expect(LoanBook.NoMatch.selector, "amount");
        book.matchTerms(ask, offer);
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller attacker = new ReentrantCaller();
        bytes memory posted = attacker.act{value: 5 ether}(address(book),
            abi.encodeCall(LoanBook.postOffer, (500, 1, MONTH, 0, 0)));
        uint256 offer = abi.decode(posted, (uint256));
        uint256 loanId = book.matchTerms(_ask(2 ether, 500, 1), offer);
        _payNext(loanId);
        attacker.act(address(book), abi.encodeCall(LoanBook.cancelOffer, (offer)));
        attacker.arm(address(book), abi.encodeCall(PullPayments.withdraw, ()));
        attacker.act(address(book), abi.encodeCall(PullPayments.withdraw, ()));
        require(attacker.reentries() == 1 && attacker.reentryFailed(), "the nested withdraw was refused");
        require(address(attacker).balance == 5.1 ether && address(book).balance == 2 ether, "paid once");
    }

    function testBadTermsAreRejected() public {
        vm.startPrank(borrower);
        _expect(LoanBook.BadParameter.selector, "installments");
        book.postAsk(1 ether, 0, 0, MONTH);
        _expect(LoanBook.BadParameter.selector, "interval");
        book.postAsk(1 ether, 0, 1, 1 hours);
        _expect(LoanBook.BadParameter.selector, "amount");
        book.postAsk(0, 0, 1, MONTH);
        _expect(LoanBook.BadParameter.selector, "amount");
        book.postOffer(0, 1, MONTH, 0, 0);
        vm.stopPrank();
    }
}
