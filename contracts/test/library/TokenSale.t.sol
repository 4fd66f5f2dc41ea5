// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {TokenSale, SaleToken} from "../../src/library/TokenSale.sol";

/// @notice A buyer that re-enters refund() (and buy()) from its receive function.
contract ReentrantBuyer {
    TokenSale private immutable sale;
    uint256 public reentries;
    bool public reentryFailed;

    constructor(TokenSale sale_) {
        sale = sale_;
    }

    function buy() external payable {
        sale.buy{value: msg.value}();
    }

    function refund() external {
        sale.refund();
    }

    receive() external payable {
        if (reentries++ == 0) {
            try sale.refund() {} catch {
                reentryFailed = true;
            }
        }
    }
}

contract TokenSaleTest {
    TokenSale sale;
    SaleToken token;
    address app = address(0xA99);
    address alice = address(0xA11CE);
    address bob = address(0xB0B);
    address founder = address(0xF0);
    uint64 constant START = 1_000_000;
    uint64 constant END = START + 7 days;
    uint64 constant VESTING = 365 days;

    function setUp() public {
        vm.warp(START);
        sale = _sale(1000e18, 10 ether, 30 ether);
        token = sale.token();
        vm.deal(alice, 100 ether);
        vm.deal(bob, 100 ether);
    }

    function _sale(uint256 rate, uint256 softCap, uint256 hardCap) internal returns (TokenSale) {
        TokenSale.Allocation[] memory team = new TokenSale.Allocation[](1);
        team[0] = TokenSale.Allocation(founder, 1_000_001);
        return new TokenSale("Shop Points", "SHOP", app, rate, softCap, hardCap, START, END, VESTING, team);
    }

    function _expect(bytes4 selector, string memory what) internal {
        vm.expectRevert(abi.encodeWithSelector(selector, what));
    }

    function testSuccessfulSaleLetsBuyersClaimAndPaysTheBeneficiary() public {
        vm.prank(alice);
        sale.buy{value: 4 ether}();
        vm.prank(bob);
        sale.buy{value: 8 ether}();
        vm.prank(alice);
        _expect(TokenSale.WrongPhase.selector, "succeeded");
        sale.claim(); // not before the end
        vm.warp(END);
        _expect(TokenSale.WrongPhase.selector, "open");
        sale.buy{value: 1 ether}();
        vm.prank(alice);
        sale.claim();
        vm.prank(bob);
        sale.claim();
        require(token.balanceOf(alice) == 4000e18 && token.balanceOf(bob) == 8000e18, "tokens at the price");
        sale.withdrawProceeds();
        require(app.balance == 12 ether, "proceeds paid");
        vm.expectRevert(abi.encodeWithSelector(TokenSale.NothingDue.selector));
        sale.withdrawProceeds();
    }

    function testHardCapFillsThePurchaseInPartAndEndsTheSale() public {
        vm.prank(alice);
        sale.buy{value: 25 ether}();
        vm.prank(bob);
        sale.buy{value: 10 ether}();
        require(sale.paid(bob) == 5 ether && bob.balance == 95 ether, "only the room left is taken");
        require(sale.raised() == 30 ether && sale.succeeded(), "the hard cap ends the sale");
        vm.prank(bob);
        _expect(TokenSale.WrongPhase.selector, "open");
        sale.buy{value: 1 ether}();
        vm.prank(bob);
        sale.claim(); // before `end`: the cap made it a success
        require(token.balanceOf(bob) == 5000e18, "bob's part");
    }

    function testMissedSoftCapRefundsEveryBuyerExactly() public {
        vm.prank(alice);
        sale.buy{value: 3 ether}();
        vm.prank(bob);
        sale.buy{value: 2 ether}();
        vm.prank(alice);
        _expect(TokenSale.WrongPhase.selector, "failed");
        sale.refund();
        vm.warp(END);
        require(sale.failed() && !sale.succeeded(), "failed");
        vm.prank(alice);
        sale.refund();
        vm.prank(bob);
        sale.refund();
        require(alice.balance == 100 ether && bob.balance == 100 ether, "everything back");
        require(address(sale).balance == 0 && token.totalSupply() == 0, "nothing left, no token");
        vm.prank(alice);
        _expect(TokenSale.WrongPhase.selector, "succeeded");
        sale.claim();
        _expect(TokenSale.WrongPhase.selector, "succeeded");
        sale.withdrawProceeds();
        vm.expectRevert(abi.encodeWithSelector(TokenSale.NothingDue.selector));
        sale.releaseVested(founder); // the team gets nothing from a failed sale
    }

    function testRoundingReturnsTheDustAndChargesOnlyWholeUnits() public {
        sale = _sale(7, 0, 30 ether); // 7 base units per CMT: one unit costs 142857142857142857.14 wei
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(TokenSale.BadParameter.selector, "value"));
        sale.buy{value: 0.1 ether}(); // less than one unit
        vm.prank(alice);
        uint256 tokens = sale.buy{value: 1 ether + 5}();
        require(tokens == 7 && sale.paid(alice) == 1 ether, "7 units for exactly 1 CMT");
        vm.prank(bob);
        tokens = sale.buy{value: 0.3 ether}();
        uint256 cost = sale.paid(bob);
        require(tokens == 2 && cost == 285714285714285715, "2 units at the rounded-up price");
        require(bob.balance == 100 ether - cost, "the rest returned");
        require(address(sale).balance == sale.raised(), "no dust kept");
    }

    function testTeamVestsLinearlyAndReceivesEverythingAtTheEnd() public {
        vm.prank(alice);
        sale.buy{value: 10 ether}();
        require(sale.vested(founder) == 0, "nothing before the end");
        vm.warp(END + VESTING / 3);
        sale.releaseVested(founder);
        require(token.balanceOf(founder) == 333_333, "a third, rounded down");
        vm.expectRevert(abi.encodeWithSelector(TokenSale.NothingDue.selector));
        sale.releaseVested(founder);
        vm.warp(END + VESTING);
        sale.releaseVested(founder);
        require(token.balanceOf(founder) == 1_000_001, "the whole allocation, no dust lost");
        vm.expectRevert(abi.encodeWithSelector(TokenSale.NothingDue.selector));
        sale.releaseVested(alice);
    }

    function testOnlyTheSaleMints() public {
        vm.expectRevert(abi.encodeWithSelector(SaleToken.OnlySale.selector));
        token.mint(address(this), 1);
    }

    function testReentrantRefundPaysOnce() public {
        ReentrantBuyer attacker = new ReentrantBuyer(sale);
        attacker.buy{value: 2 ether}();
        vm.prank(alice);
        sale.buy{value: 3 ether}();
        vm.warp(END);
        attacker.refund();
        require(attacker.reentries() == 1 && attacker.reentryFailed(), "the nested refund was refused");
        require(address(attacker).balance == 2 ether && address(sale).balance == 3 ether, "paid once");
    }

    function testBadParametersAreRejected() public {
        TokenSale.Allocation[] memory none = new TokenSale.Allocation[](0);
        vm.expectRevert(abi.encodeWithSelector(TokenSale.BadParameter.selector, "caps"));
        new TokenSale("T", "T", app, 1, 2 ether, 1 ether, START, END, 0, none);
        vm.expectRevert(abi.encodeWithSelector(TokenSale.BadParameter.selector, "end"));
        new TokenSale("T", "T", app, 1, 0, 1 ether, END, START, 0, none);
        TokenSale.Allocation[] memory twice = new TokenSale.Allocation[](2);
        (twice[0], twice[1]) = (TokenSale.Allocation(founder, 1), TokenSale.Allocation(founder, 1));
        vm.expectRevert(abi.encodeWithSelector(TokenSale.BadParameter.selector, "team"));
        new TokenSale("T", "T", app, 1, 0, 1 ether, START, END, 1, twice);
    }

    receive() external payable {}
}
