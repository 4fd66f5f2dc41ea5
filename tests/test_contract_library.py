"""The smart business contract library's forge tests (contracts/test/library/), run offline with the pinned solc-js.

Each library contract has a forge test suite covering its rules and the attacks it must resist (a reentrant
receiver, a bid placed ahead of a choice, a party who never answers, rounding, exhausted caps); this runs them
and checks that every suite ran and passed.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from middleware.rules.compiler import RuleSet
from middleware.rules.engine import Session
from middleware.rules.gas import GasMeter
from tests.e2e.test_foundry_e2e import FORGE, passed_tests, run_tool

PROMOTION_TIERS = Path(__file__).resolve().parents[1] / "examples" / "rules" / "local-promotion-tiers.rules"
CMT = 10**18

LIBRARY_SUITES = {"ArbitratedEscrowTest": 20, "AuthenticityCertificatesTest": 6, "TokenSaleTest": 8,
                  "IdentityGrantsTest": 6, "GroupsTest": 11, "LocalPromotionsTest": 9,
                  "LoanBookTest": 10, "SupplyChainSettlementTest": 11,
                  "LeadsBiddingTest": 13, "KeywordAdAuctionTest": 12,
                  "JuryAppealCourtTest": 10, "CommunityModerationTest": 12, "SponsoredMarketplaceTest": 17,
                  "DeliveryOracleTest": 8}


@pytest.fixture(scope="module")
def library_results() -> dict[str, str]:
    """``forge test --match-path 'test/library/*' --json``: {"Suite.test()": status}, after checking its exit code."""
    result = run_tool(FORGE, "test", "--match-path", "test/library/*", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    return passed_tests(result.stdout)


def test_every_library_suite_runs_and_passes(library_results: dict[str, str]) -> None:
    assert set(library_results.values()) == {"Success"}
    for suite, least in LIBRARY_SUITES.items():
        assert sum(name.startswith(f"{suite}.") for name in library_results) >= least, suite


def test_the_attack_paths_are_among_the_tests(library_results: dict[str, str]) -> None:
    for name in [
        "ArbitratedEscrowTest.testReentrantReceiverIsPaidOnce()",
        "DeliveryOracleTest.testOneTamperedOracleCannotConfirmAgainstTheQuorum()",
        "DeliveryOracleTest.testSilentOraclesConfirmNothingAndTheSellerMayAskAgain()",
        "ArbitratedEscrowTest.testALaterCheaperBidCannotReplaceTheChosenOne()",
        "ArbitratedEscrowTest.testSilentPartyLosesItsSayWhenBiddingCloses()",
        "ArbitratedEscrowTest.testArbiterWhoNeverRulesIsReplacedAndEarnsNothing()",
        "ArbitratedEscrowTest.testFuzzEveryOutcomeCreditsExactlyWhatWasPaid(uint96,uint96,uint96,bool)",
        "AuthenticityCertificatesTest.testRevokedCertificateShowsAsSuchAndNoLongerMoves()",
        "TokenSaleTest.testReentrantRefundPaysOnce()",
        "TokenSaleTest.testRoundingReturnsTheDustAndChargesOnlyWholeUnits()",
        "TokenSaleTest.testHardCapFillsThePurchaseInPartAndEndsTheSale()",
        "IdentityGrantsTest.testGrantsExpireByBlockTime()",
        "GroupsTest.testReentrantRefundPaysOnce()",
        "GroupsTest.testATermsChangeAheadOfAPaymentMakesItRevertInsteadOfOvercharging()",
        "GroupsTest.testAnEventThatMissesItsTargetRefundsEveryFunderWithoutTheOrganizer()",
        "GroupsTest.testRoundingGivesTheOwnerTheDust()",
        "LocalPromotionsTest.testReentrantWithdrawPaysOnce()",
        "LocalPromotionsTest.testAnExhaustedBudgetRefusesTheWholePurchase()",
        "LocalPromotionsTest.testTheBusinessCannotTakeTheBudgetBackBeforeTheExpiry()",
        "LocalPromotionsTest.testAnyoneClosesAnExpiredCouponAndTheRestAndTheDustReturn()",
        "LocalPromotionsTest.testABuyerCannotRedeemAtAShopItRegisteredItself()",
        "LoanBookTest.testReentrantWithdrawPaysOnce()",
        "LoanBookTest.testABorrowerWhoNeverPaysIsDeclaredInDefaultByAnyoneAndTheNextMatcherSeesIt()",
        "LoanBookTest.testADefaultAfterTheOfferWasPostedStopsTheMatch()",
        "LoanBookTest.testACancelledOfferReturnsWhatItHeldAndCannotBeMatched()",
        "LoanBookTest.testInstallmentsAddUpToWhatIsOwedWithTheRoundingOnTheLast()",
        "SupplyChainSettlementTest.testReentrantWithdrawPaysOnce()",
        "SupplyChainSettlementTest.testAReceiverWhoNeverAnswersLetsTheSenderWithdrawTheOffer()",
        "SupplyChainSettlementTest.testADebtorWhoNeverRepaysCannotWithdrawWhatItOwesAndTheCreditorCollects()",
        "SupplyChainSettlementTest.testTheSenderCannotSwitchTheOfferOrItsPriceUnderAPendingAcceptance()",
        "SupplyChainSettlementTest.testACycleOfDebtsNetsToTheNetPositions()",
        "LeadsBiddingTest.testReentrantWithdrawPaysOnce()",
        "LeadsBiddingTest.testTheRevealCannotBeCopiedIntoALateCommitment()",
        "LeadsBiddingTest.testAMerchantWhoNeverRevealsCannotKeepTheUsersPay()",
        "LeadsBiddingTest.testAnExhaustedBudgetRefusesTheAcceptanceBeforeTheUserOpensAnything()",
        "LeadsBiddingTest.testRoundingDustAndUnclaimedReservationsReturnAtClosing()",
        "LeadsBiddingTest.testFuzzEveryWeiOfABudgetIsPaidOrReturned(uint96,uint96,uint8)",
        "KeywordAdAuctionTest.testReentrantWithdrawPaysOnce()",
        "KeywordAdAuctionTest.testACopiedSealedBidCannotBeRevealedAndBidsAreSealedUntilTheCommitsClose()",
        "KeywordAdAuctionTest.testABidderWhoNeverRevealsLosesThePenaltyAndGetsTheRestBack()",
        "KeywordAdAuctionTest.testABidAboveItsDepositCannotBeRevealed()",
        "KeywordAdAuctionTest.testASpamAdFlaggedOverTheThresholdIsHiddenAndRefundedLessThePenalty()",
        "KeywordAdAuctionTest.testFuzzEveryWeiIsRefundedPaidOrPenalized(uint96,uint96,uint96,bool,bool)",
        "JuryAppealCourtTest.testReentrantWithdrawPaysOnce()",
        "JuryAppealCourtTest.testAnAppealIsRefusedWithAPreciseErrorAndNothingChanges()",
        "JuryAppealCourtTest.testAJuryThatDecidesAfterTheAppealPeriodLapsesAndTheRulingStands()",
        "JuryAppealCourtTest.testCasesFinalizedDirectlyOnTheJuryAreEachCreditedOnceToTheirAppellant()",
        "JuryAppealCourtTest.testFuzzEveryWeiIsAccountedFor(uint8,uint8,uint8)",
        "CommunityModerationTest.testReentrantWithdrawPaysOnce()",
        "CommunityModerationTest.testMalformedRequestsAreRefusedWithPreciseErrorsAndNothingChanges()",
        "CommunityModerationTest.testAJuryThatNeverDecidesLetsTheRequestLapseAndThePledgeReturn()",
        "CommunityModerationTest.testADrawnJuryCannotBeLapsedAround()",
        "CommunityModerationTest.testFuzzEveryWeiIsPaidCreditedOrForfeited(uint8,uint8,uint8,uint96)",
        "SponsoredMarketplaceTest.testReentrantCashOutPaysOnce()",
        "SponsoredMarketplaceTest.testACouponIsRefusedWhenItIsAnotherBusinessesOrItsBudgetIsExhausted()",
        "SponsoredMarketplaceTest.testAnOrderTheSellerNeverJoinsIsCancelledAndRefundedToTheAccount()",
        "SponsoredMarketplaceTest.testOnlyTheShopperActsOnItsOrderAndOnlyTheMarketplaceMovesItsAccount()",
        "SponsoredMarketplaceTest.testFuzzEveryWeiOfAnOrderEndsWithItsOwner(uint96,uint96,uint16,uint8)",
    ]:
        assert library_results.get(name) == "Success", name


@pytest.mark.parametrize(("amount", "bps"), [(0, 0), (20 * CMT - 1, 0), (20 * CMT, 500), (50 * CMT - 1, 500),
                                             (50 * CMT, 1000), (100 * CMT, 1500), (10**6 * CMT, 1500)])
def test_the_rules_engine_computes_the_promotion_tiers(amount: int, bps: int) -> None:
    """The tiers file compiles and gives the tiers the LocalPromotions tests give their coupons."""
    session = Session(RuleSet.parse(PROMOTION_TIERS.read_text()), GasMeter(1_000_000))
    purchase = session.insert("Purchase", {"amount": amount})
    session.fire_all(max_activations=10)
    assert session.fact(purchase)["discountBps"] == bps
    assert len(session.fired) == (1 if bps else 0)


def test_brand_ambassadors_suite_covers_every_oracle_outcome(library_results: dict[str, str]) -> None:
    """Resolved, conflicting, timed-out and malformed reports, falling counts, budgets and attacks all pass."""
    assert sum(name.startswith("BrandAmbassadorsTest.") for name in library_results) >= 15
    for name in [
        "BrandAmbassadorsTest.testTheRequestAsksTheNamedSetInTheDocumentedFormat()",
        "BrandAmbassadorsTest.testResolvedCountsPayTheGrowthAtTheRatesEachPeriod()",
        "BrandAmbassadorsTest.testConflictingAnswersPayOnlyWhatTheQuorumAgreed()",
        "BrandAmbassadorsTest.testATimedOutRequestPaysNothingAndIsRetriedNextPeriod()",
        "BrandAmbassadorsTest.testAMalformedAnswerIsRejectedAndPaysNothing()",
        "BrandAmbassadorsTest.testCountsThatGoDownPayNothingAndAreNotPaidTwice()",
        "BrandAmbassadorsTest.testAnExhaustedBudgetPaysWhatIsLeftAndTakesNoMoreRequests()",
        "BrandAmbassadorsTest.testCountsTooLargeToMultiplyPayTheBudgetInsteadOfReverting()",
        "BrandAmbassadorsTest.testTheBusinessCannotEndAheadOfAPendingReportToKeepTheBudget()",
        "BrandAmbassadorsTest.testAnAmbassadorWhoNeverSettlesOrWithdrawsLocksNothing()",
        "BrandAmbassadorsTest.testReentrantWithdrawPaysOnce()",
        "BrandAmbassadorsTest.testFuzzEveryWeiIsAccountedFor(uint96,uint64,uint64,uint64,uint64)",
    ]:
        assert library_results.get(name) == "Success", name
