// SPDX-License-Identifier: Apache-2.0
pragma solidity >=0.8.0;

/// @title Sponsored gas (native contract at 0x0000000000000000000000000000000000000C16)
/// @notice A contract (or its manager) deposits CMT here so that calls to it cost their senders nothing: a
///         transaction whose `to` is a configured target with enough deposit, whose gas price is 0 (legacy
///         gasPrice 0, or EIP-1559 maxFeePerGas and maxPriorityFeePerGas 0) and whose value is 0, is admitted from
///         an account holding 0 CMT, and its fee (gas used x the block's base fee) is paid from the target's
///         deposit and burned like every base fee. The sponsor bounds it: gas per transaction, transactions per
///         sender per window of block time, and sponsored gas (by gas limit) per block. Every bound is checked
///         when the mempool admits the transaction and again when a block executes it. Each sponsored
///         transaction's receipt ends with a GasSponsored log of this contract (also when the call reverted).
///         Errors revert with "Sponsor: ...".
interface ISponsor {
    /// @notice `target`'s sponsorship was configured (first time or changed) by the target or its manager.
    event SponsorshipConfigured(address indexed target, address indexed manager, uint64 maxGasPerTx,
        uint32 maxTxsPerSenderPerWindow, uint64 windowSeconds, uint64 maxGasPerBlock);
    /// @notice `from` added `amount` wei to `target`'s deposit, which is now `balance`.
    event SponsorDeposit(address indexed target, address indexed from, uint256 amount, uint256 balance);
    /// @notice `amount` wei of `target`'s deposit was paid to `to`; `balance` is left.
    event SponsorWithdrawal(address indexed target, address indexed to, uint256 amount, uint256 balance);
    /// @notice The deposit of `target` paid `fee` wei (gasUsed x base fee) for `sender`'s transaction. Emitted by
    ///         the chain as the last log of every sponsored transaction's receipt, whether or not the call reverted.
    event GasSponsored(address indexed target, address indexed sender, uint256 gasUsed, uint256 fee);

    /// @notice Set the sponsorship of `target`. The first call must come from `target` itself (from its
    ///         constructor or an owner-only function); later calls from `target` or from the current manager.
    /// @param manager who may reconfigure and withdraw besides the target (the zero address: only the target)
    /// @param maxGasPerTx the largest gas limit a sponsored transaction may have (at least 21,000)
    /// @param maxTxsPerSenderPerWindow sponsored transactions one sender may send in a window (at least 1)
    /// @param windowSeconds the window's length in block time (1 second to 366 days); a sender's window starts
    ///        with its first sponsored transaction after the previous window ended
    /// @param maxGasPerBlock sponsored gas (sum of gas limits) per block for this target (at least maxGasPerTx)
    function configure(address target, address manager, uint64 maxGasPerTx, uint32 maxTxsPerSenderPerWindow,
        uint64 windowSeconds, uint64 maxGasPerBlock) external;

    /// @notice Add msg.value to the deposit of a configured `target`. Anyone may top it up.
    function deposit(address target) external payable;

    /// @notice Pay `amount` wei of `target`'s unspent deposit to msg.sender (the manager or the target).
    function withdraw(address target, uint256 amount) external;

    /// @notice The sponsorship of `target`; all zero when it was never configured.
    function sponsorshipOf(address target) external view returns (address manager, uint256 balance,
        uint64 maxGasPerTx, uint32 maxTxsPerSenderPerWindow, uint64 windowSeconds, uint64 maxGasPerBlock);

    /// @notice Sponsored transactions `sender` sent to `target` in the window that started at `windowStart`
    ///         (block time). A window that ended is reported as it was recorded; the next sponsored
    ///         transaction starts a new one.
    function sponsoredTxsOf(address target, address sender) external view returns (uint32 used, uint64 windowStart);
}
