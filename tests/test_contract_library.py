"""The smart business contract library's forge tests (contracts/test/library/), run offline with the pinned solc-js.

Each library contract has a forge test suite covering its rules and the attacks it must resist (a reentrant
receiver, a bid placed ahead of a choice, a party who never answers, rounding, exhausted caps); this runs them
and checks that every suite ran and passed.
"""
from __future__ import annotations

import pytest

from tests.e2e.test_foundry_e2e import FORGE, passed_tests, run_tool

LIBRARY_SUITES = {"ArbitratedEscrowTest": 20, "AuthenticityCertificatesTest": 6, "TokenSaleTest": 8,
                  "IdentityGrantsTest": 6}


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
        "ArbitratedEscrowTest.testALaterCheaperBidCannotReplaceTheChosenOne()",
        "ArbitratedEscrowTest.testSilentPartyLosesItsSayWhenBiddingCloses()",
        "ArbitratedEscrowTest.testArbiterWhoNeverRulesIsReplacedAndEarnsNothing()",
        "ArbitratedEscrowTest.testFuzzEveryOutcomeCreditsExactlyWhatWasPaid(uint96,uint96,uint96,bool)",
        "AuthenticityCertificatesTest.testRevokedCertificateShowsAsSuchAndNoLongerMoves()",
        "TokenSaleTest.testReentrantRefundPaysOnce()",
        "TokenSaleTest.testRoundingReturnsTheDustAndChargesOnlyWholeUnits()",
        "TokenSaleTest.testHardCapFillsThePurchaseInPartAndEndsTheSale()",
        "IdentityGrantsTest.testGrantsExpireByBlockTime()",
    ]:
        assert library_results.get(name) == "Success", name
