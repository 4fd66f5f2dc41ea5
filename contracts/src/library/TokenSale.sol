// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

/// @title An application's ERC-20 token, minted only by its sale
contract SaleToken is ERC20 {
    /// @notice The sale that mints this token.
    address public immutable sale;

    /// @notice A call only the sale may make.
    error OnlySale();

    constructor(string memory name_, string memory symbol_) ERC20(name_, symbol_) {
        sale = msg.sender;
    }

    /// @notice The sale mints `amount` to `to` (buyers' claims and vested team allocations).
    function mint(address to, uint256 amount) external {
        if (msg.sender != sale) revert OnlySale();
        _mint(to, amount);
    }
}

/// @title A token sale priced in CMT: hard and soft caps, refunds below the soft cap, team vesting by block time
/// @notice Between `start` and `end` anyone buys the application's token at `tokensPerCMT` base units per CMT, up to
/// the hard cap (the purchase that reaches it is filled in part and the rest returned). Tokens are claimed once the
/// sale has succeeded (the soft cap reached and the sale ended, or the hard cap reached); if the sale ends below the
/// soft cap, every buyer takes back exactly what was paid and no token exists. Team allocations vest linearly from
/// `end` over `vestingDuration` and only if the sale succeeded; the beneficiary withdraws the proceeds.
/// @dev Rounding: a purchase buys floor(paid * tokensPerCMT / 1e18) base units and costs
/// ceil(tokens * 1e18 / tokensPerCMT) wei, at most what was sent; the difference (less than one base unit's price)
/// is returned in the same call. Vesting releases floor(allocation * elapsed / duration) and everything at the end,
/// so no token is lost to rounding. Value leaves the contract only to the caller or the named beneficiary, after
/// its records are updated, behind a reentrancy guard.
contract TokenSale is ReentrancyGuard {
    /// @notice A team member's allocation, vesting from the end of the sale.
    struct Allocation {
        address member;
        uint256 amount;
    }

    /// @notice The token sold.
    SaleToken public immutable token;
    /// @notice The account that withdraws the proceeds of a successful sale.
    address public immutable beneficiary;
    /// @notice Token base units per CMT (1e18 wei).
    uint256 public immutable tokensPerCMT;
    /// @notice Wei the sale must raise to succeed.
    uint256 public immutable softCap;
    /// @notice Wei the sale raises at most.
    uint256 public immutable hardCap;
    /// @notice When purchases open.
    uint64 public immutable start;
    /// @notice When purchases close and team vesting begins.
    uint64 public immutable end;
    /// @notice Seconds over which team allocations vest.
    uint64 public immutable vestingDuration;

    /// @notice Wei raised so far.
    uint256 public raised;
    /// @notice Whether the beneficiary withdrew the proceeds.
    bool public proceedsWithdrawn;
    /// @notice Wei each buyer paid (what a refund returns).
    mapping(address => uint256) public paid;
    /// @notice Token base units each buyer bought and has not yet claimed.
    mapping(address => uint256) public unclaimed;
    /// @notice Each team member's total allocation.
    mapping(address => uint256) public allocation;
    /// @notice Token base units already released to each team member.
    mapping(address => uint256) public released;

    /// @notice `buyer` paid `cost` wei for `tokens` base units.
    event Purchased(address indexed buyer, uint256 cost, uint256 tokens);
    /// @notice `buyer` claimed `tokens` base units.
    event Claimed(address indexed buyer, uint256 tokens);
    /// @notice `buyer` took back `amount` wei from a sale that missed its soft cap.
    event Refunded(address indexed buyer, uint256 amount);
    /// @notice `member` was allocated `amount` base units, vesting from `end`.
    event Allocated(address indexed member, uint256 amount);
    /// @notice `amount` base units vested and were minted to `member`.
    event VestedReleased(address indexed member, uint256 amount);
    /// @notice The beneficiary withdrew the proceeds.
    event ProceedsWithdrawn(address indexed beneficiary, uint256 amount);

    /// @notice The call does not fit the sale's phase (`phase` names what it needs).
    error WrongPhase(string phase);
    /// @notice A parameter is out of range; `what` names it.
    error BadParameter(string what);
    /// @notice Nothing is due to the caller.
    error NothingDue();
    /// @notice A transfer of CMT was refused by its recipient.
    error PaymentFailed();

    /// @param name_ the token's name
    /// @param symbol_ the token's symbol
    /// @param beneficiary_ the account that withdraws the proceeds
    /// @param tokensPerCMT_ token base units per CMT
    /// @param softCap_ wei to raise for success (at most the hard cap)
    /// @param hardCap_ wei raised at most
    /// @param start_ when purchases open
    /// @param end_ when purchases close (after start)
    /// @param vestingDuration_ seconds over which team allocations vest (positive when there are any)
    /// @param team the team's allocations (distinct members, at most 32)
    constructor(
        string memory name_,
        string memory symbol_,
        address beneficiary_,
        uint256 tokensPerCMT_,
        uint256 softCap_,
        uint256 hardCap_,
        uint64 start_,
        uint64 end_,
        uint64 vestingDuration_,
        Allocation[] memory team
    ) {
        if (beneficiary_ == address(0)) revert BadParameter("beneficiary");
        if (tokensPerCMT_ == 0) revert BadParameter("tokensPerCMT");
        if (hardCap_ == 0 || softCap_ > hardCap_) revert BadParameter("caps");
        if (end_ <= start_) revert BadParameter("end");
        if (team.length > 32 || (team.length > 0 && vestingDuration_ == 0)) revert BadParameter("team");
        token = new SaleToken(name_, symbol_);
        beneficiary = beneficiary_;
        tokensPerCMT = tokensPerCMT_;
        softCap = softCap_;
        hardCap = hardCap_;
        start = start_;
        end = end_;
        vestingDuration = vestingDuration_;
        for (uint256 i = 0; i < team.length; ++i) {
            Allocation memory grant = team[i];
            if (grant.member == address(0) || grant.amount == 0 || allocation[grant.member] != 0) {
                revert BadParameter("team");
            }
            allocation[grant.member] = grant.amount;
            emit Allocated(grant.member, grant.amount);
        }
    }

    /// @notice Buys tokens with the CMT sent; what exceeds the hard cap or a whole base unit's price is returned.
    /// @return tokens the base units bought (claimable once the sale succeeds)
    function buy() external payable nonReentrant returns (uint256 tokens) {
        if (block.timestamp < start || block.timestamp >= end || raised >= hardCap) revert WrongPhase("open");
        uint256 room = hardCap - raised;
        uint256 accepted = msg.value < room ? msg.value : room;
        tokens = accepted * tokensPerCMT / 1e18;
        if (tokens == 0) revert BadParameter("value");
        uint256 cost = (tokens * 1e18 + tokensPerCMT - 1) / tokensPerCMT;
        raised += cost;
        paid[msg.sender] += cost;
        unclaimed[msg.sender] += tokens;
        emit Purchased(msg.sender, cost, tokens);
        if (msg.value > cost) _send(msg.sender, msg.value - cost);
    }

    /// @notice Whether the sale succeeded: the soft cap reached and the sale over, or the hard cap reached.
    function succeeded() public view returns (bool) {
        return raised >= softCap && (block.timestamp >= end || raised >= hardCap);
    }

    /// @notice Whether the sale failed: it ended below the soft cap.
    function failed() public view returns (bool) {
        return block.timestamp >= end && raised < softCap;
    }

    /// @notice Mints the caller's purchased tokens once the sale has succeeded.
    function claim() external {
        if (!succeeded()) revert WrongPhase("succeeded");
        uint256 tokens = unclaimed[msg.sender];
        if (tokens == 0) revert NothingDue();
        unclaimed[msg.sender] = 0;
        emit Claimed(msg.sender, tokens);
        token.mint(msg.sender, tokens);
    }

    /// @notice Returns everything the caller paid, once the sale has failed.
    function refund() external nonReentrant {
        if (!failed()) revert WrongPhase("failed");
        uint256 amount = paid[msg.sender];
        if (amount == 0) revert NothingDue();
        paid[msg.sender] = 0;
        unclaimed[msg.sender] = 0;
        emit Refunded(msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice Base units of `member`'s allocation vested by now (nothing unless the sale succeeded).
    function vested(address member) public view returns (uint256) {
        if (!succeeded() || block.timestamp < end) return 0;
        uint256 elapsed = block.timestamp - end;
        if (elapsed >= vestingDuration) return allocation[member];
        return allocation[member] * elapsed / vestingDuration;
    }

    /// @notice Mints to `member` what vested since its last release (anyone may call).
    function releaseVested(address member) external {
        uint256 amount = vested(member) - released[member];
        if (amount == 0) revert NothingDue();
        released[member] += amount;
        emit VestedReleased(member, amount);
        token.mint(member, amount);
    }

    /// @notice Sends the proceeds of a successful sale to the beneficiary (anyone may call, once).
    function withdrawProceeds() external nonReentrant {
        if (!succeeded()) revert WrongPhase("succeeded");
        if (proceedsWithdrawn) revert NothingDue();
        proceedsWithdrawn = true;
        emit ProceedsWithdrawn(beneficiary, raised);
        _send(beneficiary, raised);
    }

    function _send(address to, uint256 amount) private {
        (bool ok,) = payable(to).call{value: amount}("");
        if (!ok) revert PaymentFailed();
    }
}
