// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {vm} from "cheats/Vm.sol";
import {SupplyChainSettlement} from "../../src/library/SupplyChainSettlement.sol";
import {ReentrantCaller} from "./ReentrantCaller.sol";

contract SupplyChainSettlementTest {
    SupplyChainSettlement ledger;
    address maker = address(0x3A4E);
    address wholesaler = address(0x3501E);
    address retailer = address(0x4E7A);
    uint64 constant NOW = 1_000_000;
    uint64 constant DAY = 1 days;

    function setUp() public {
        vm.warp(NOW);
        ledger = new SupplyChainSettlement();
        vm.deal(maker, 1000 ether);
        vm.deal(wholesaler, 1000 ether);
        vm.deal(retailer, 1000 ether);
    }

    function _deposit(address member, uint256 amount) internal {
        vm.prank(member);
        ledger.deposit{value: amount}();
    }

    function _lot(address holder) internal returns (uint256 lot) {
        vm.prank(holder);
        lot = ledger.registerLot(keccak256(abi.encode("500 pairs of sneakers", holder)));
    }

    function _offer(uint256 lot, address from, address to, uint256 price) internal returns (uint256 id) {
        vm.prank(from);
        id = ledger.offer(lot, to, price, NOW + DAY);
    }

    function _handOver(uint256 lot, address from, address to, uint256 price) internal {
        uint256 id = _offer(lot, from, to, price);
        vm.prank(to);
        ledger.accept(id);
    }

    function testEachHandOverSettlesOnTheLedgerAsTheGoodsMove() public {
        _deposit(wholesaler, 100 ether);
        _deposit(retailer, 120 ether);
        uint256 lot = _lot(maker);
        _handOver(lot, maker, wholesaler, 100 ether);
        require(ledger.balance(maker) == 100 ether && ledger.balance(wholesaler) == 0, "the maker is paid");
        _handOver(lot, wholesaler, retailer, 120 ether);
        require(ledger.balance(wholesaler) == 120 ether && ledger.balance(retailer) == 0, "the wholesaler is paid");
        SupplyChainSettlement.Lot memory goods = ledger.getLot(lot);
        require(goods.holder == retailer && goods.hands == 2 && goods.pendingHandOver == 0, "with the retailer");
        uint256 before = wholesaler.balance;
        vm.prank(wholesaler);
        ledger.withdraw(20 ether);
        require(wholesaler.balance == before + 20 ether, "the margin taken out");
        require(address(ledger).balance == 200 ether, "the ledger adds up");
    }

    function testBalancesNetSoOnlyTheNetMovesInAndOut() public {
        // Three members trade in a circle, 100, 90 and 80 CMT: the maker pays for its purchase out of its sale.
        _deposit(wholesaler, 100 ether);
        _deposit(retailer, 90 ether);
        uint256 a = _lot(maker);
        uint256 b = _lot(wholesaler);
        uint256 c = _lot(retailer);
        _handOver(a, maker, wholesaler, 100 ether);
        _handOver(b, wholesaler, retailer, 90 ether);
        _handOver(c, retailer, maker, 80 ether);
        require(ledger.grossPaid(maker) == 80 ether && ledger.grossReceived(maker) == 100 ether, "gross");
        require(ledger.balance(maker) == 20 ether, "the maker's net gain, never having deposited");
        require(ledger.balance(wholesaler) == 90 ether && ledger.balance(retailer) == 80 ether, "net of 10 each");
        require(address(ledger).balance == 190 ether, "270 CMT of hand-overs on 190 deposited");
        vm.prank(wholesaler);
        ledger.withdraw(90 ether);
        vm.prank(retailer);
        ledger.withdraw(80 ether);
        require(wholesaler.balance == 990 ether && retailer.balance == 990 ether, "each paid in only its net");
    }

    function testAReceiverWithoutTheBalanceCannotAccept() public {
        _deposit(wholesaler, 50 ether);
        uint256 id = _offer(_lot(maker), maker, wholesaler, 100 ether);
        vm.prank(wholesaler);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.InsufficientBalance.selector, 50 ether,
            100 ether));
        ledger.accept(id);
        _deposit(wholesaler, 50 ether);
        vm.prank(wholesaler);
        ledger.accept(id);
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.InsufficientBalance.selector, 100 ether,
            101 ether));
        ledger.withdraw(101 ether);
    }

    function testAReceiverWhoNeverAnswersLetsTheSenderWithdrawTheOffer() public {
        uint256 lot = _lot(maker);
        uint256 id = _offer(lot, maker, wholesaler, 100 ether);
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.WrongState.selector, "after the deadline"));
        ledger.withdrawOffer(id);
        vm.warp(NOW + DAY + 1);
        _deposit(wholesaler, 100 ether);
        vm.prank(wholesaler);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.WrongState.selector, "before the deadline"));
        ledger.accept(id);
        vm.prank(maker);
        ledger.withdrawOffer(id);
        vm.prank(maker); // the lot is free again: a gift (price 0 moves nothing)
        id = ledger.offer(lot, retailer, 0, NOW + 2 * DAY);
        vm.prank(retailer);
        ledger.accept(id);
        require(ledger.getLot(lot).holder == retailer, "moved on");
    }

    function testTheSenderCannotSwitchTheOfferOrItsPriceUnderAPendingAcceptance() public {
        _deposit(wholesaler, 100 ether);
        uint256 lot = _lot(maker);
        uint256 id = _offer(lot, maker, wholesaler, 100 ether);
        vm.prank(maker); // a second offer (another price or receiver) placed ahead of the acceptance
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.WrongState.selector, "no offer pending"));
        ledger.offer(lot, retailer, 150 ether, NOW + DAY);
        vm.prank(retailer);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.NotAllowed.selector));
        ledger.accept(id); // not the named receiver
        vm.prank(wholesaler);
        ledger.accept(id);
        require(ledger.balance(wholesaler) == 0 && ledger.balance(maker) == 100 ether, "the offered price");
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.NotAllowed.selector));
        ledger.offer(lot, retailer, 1, NOW + DAY); // no longer the holder
    }

    function testARejectedHandOverMovesNothing() public {
        _deposit(wholesaler, 100 ether);
        uint256 lot = _lot(maker);
        uint256 id = _offer(lot, maker, wholesaler, 100 ether);
        vm.prank(wholesaler);
        ledger.reject(id, keccak256("wrong sizes"));
        require(ledger.getLot(lot).holder == maker && ledger.balance(wholesaler) == 100 ether, "nothing moved");
        vm.prank(wholesaler);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.WrongState.selector, "offered"));
        ledger.accept(id);
    }

    function _creditLine(address creditor, address debtor, uint256 limit) internal {
        vm.prank(creditor);
        ledger.setCreditLine(debtor, limit);
    }

    function testAPurchaseBackFromAnOwingSellerNetsTheDebtAndMovesNoCMT() public {
        _creditLine(maker, wholesaler, 100 ether);
        uint256 lot = _lot(maker);
        _handOver(lot, maker, wholesaler, 100 ether); // on credit: the wholesaler owes the maker 100
        require(ledger.debt(wholesaler, maker) == 100 ether && ledger.balance(maker) == 0, "a debt, no CMT");
        _handOver(_lot(wholesaler), wholesaler, maker, 90 ether); // the maker buys back: netted against the debt
        require(ledger.debt(wholesaler, maker) == 10 ether && ledger.totalDebt(maker) == 0, "netted to 10");
        _deposit(wholesaler, 10 ether);
        vm.prank(wholesaler);
        ledger.settleDebt(wholesaler, maker, 10 ether);
        require(ledger.balance(maker) == 10 ether && ledger.totalDebt(wholesaler) == 0, "190 CMT traded on 10");
    }

    function testACycleOfDebtsNetsToTheNetPositions() public {
        // Three members trade in a circle on credit, 100, 90 and 80 CMT; netting leaves 20 CMT to settle.
        _creditLine(maker, wholesaler, 100 ether);
        _creditLine(wholesaler, retailer, 100 ether);
        _creditLine(retailer, maker, 100 ether);
        _handOver(_lot(maker), maker, wholesaler, 100 ether);
        _handOver(_lot(wholesaler), wholesaler, retailer, 90 ether);
        _handOver(_lot(retailer), retailer, maker, 80 ether);
        address[] memory cycle = new address[](3);
        (cycle[0], cycle[1], cycle[2]) = (wholesaler, maker, retailer); // each owes the next
        require(ledger.netCycle(cycle) == 80 ether, "by the smallest debt");
        require(ledger.debt(wholesaler, maker) == 20 ether && ledger.debt(retailer, wholesaler) == 10 ether, "left");
        require(ledger.debt(maker, retailer) == 0, "the smallest is gone");
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "members"));
        ledger.netCycle(cycle); // nothing left to net
        _deposit(wholesaler, 10 ether);
        _deposit(retailer, 10 ether);
        vm.prank(retailer);
        ledger.settleDebt(retailer, wholesaler, 10 ether);
        vm.prank(wholesaler);
        ledger.settleDebt(wholesaler, maker, 20 ether);
        require(ledger.balance(maker) == 20 ether && address(ledger).balance == 20 ether, "only the net moved");
    }

    function testADebtorWhoNeverRepaysCannotWithdrawWhatItOwesAndTheCreditorCollects() public {
        _creditLine(maker, wholesaler, 50 ether);
        _deposit(wholesaler, 30 ether);
        uint256 id = _offer(_lot(maker), maker, wholesaler, 70 ether);
        vm.prank(wholesaler);
        ledger.accept(id); // 50 on credit (the line), 20 from the balance
        require(ledger.debt(wholesaler, maker) == 50 ether && ledger.balance(maker) == 20 ether, "split");
        vm.prank(wholesaler);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.InsufficientBalance.selector, 0, 10 ether));
        ledger.withdraw(10 ether); // its 10 left are owed
        vm.prank(retailer);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.NotAllowed.selector));
        ledger.settleDebt(wholesaler, maker, 10 ether);
        vm.prank(maker);
        ledger.settleDebt(wholesaler, maker, 10 ether); // collected without the debtor
        require(ledger.debt(wholesaler, maker) == 40 ether && ledger.balance(maker) == 30 ether, "collected");
        vm.prank(maker);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.InsufficientBalance.selector, 0, 40 ether));
        ledger.settleDebt(wholesaler, maker, 40 ether); // the rest is the risk of the line the maker granted
    }

    function testReentrantWithdrawPaysOnce() public {
        ReentrantCaller attacker = new ReentrantCaller();
        attacker.act{value: 10 ether}(address(ledger), abi.encodeCall(SupplyChainSettlement.deposit, ()));
        _deposit(maker, 5 ether);
        attacker.arm(address(ledger), abi.encodeCall(SupplyChainSettlement.withdraw, (4 ether)));
        attacker.act(address(ledger), abi.encodeCall(SupplyChainSettlement.withdraw, (4 ether)));
        require(attacker.reentries() == 1, "re-entered");
        // The nested withdraw of 4 more is refused by the guard, not by the balance (6 ether was left).
        require(attacker.reentryFailed() && ledger.balance(address(attacker)) == 6 ether, "paid once");
        require(address(ledger).balance == 11 ether, "the ledger adds up");
    }

    function testBadCallsAreRefused() public {
        vm.startPrank(maker);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "goods"));
        ledger.registerLot(bytes32(0));
        uint256 lot = ledger.registerLot(keccak256("crates"));
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "to"));
        ledger.offer(lot, maker, 1, NOW + DAY);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "acceptBy"));
        ledger.offer(lot, retailer, 1, NOW);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "value"));
        ledger.deposit();
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "debtor"));
        ledger.setCreditLine(maker, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(SupplyChainSettlement.BadParameter.selector, "members"));
        ledger.netCycle(new address[](1));
        vm.stopPrank();
    }

    receive() external payable {}
}
