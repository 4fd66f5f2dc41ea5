// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// The two calls of the beacon this contract uses (the full interface: middleware/randomness/IRandomness.sol).
interface IRandomness {
    function request(uint64 height) external;
    function valueAt(uint64 height) external view returns (bytes32);
}

/// @title A draw among entrants decided by the chain's randomness beacon
/// @notice Entrants join; close() fixes the entrants and asks the beacon to keep the value of the next block
/// (nobody, the closing caller or the next proposer included, can choose it); once that block is committed,
/// draw() picks the winner from the value. The value stays readable for ever because close() requested it.
contract RandomDraw {
    IRandomness internal constant BEACON = IRandomness(0x0000000000000000000000000000000000000C14);

    address public immutable organiser;
    address[] public entrants;
    uint64 public drawHeight;
    address public winner;

    event Closed(uint64 drawHeight, uint256 entrants);
    event Drawn(address winner, bytes32 value);

    constructor() {
        organiser = msg.sender;
    }

    /// @notice Join the draw (before it is closed).
    function enter() external {
        require(drawHeight == 0, "RandomDraw: closed");
        entrants.push(msg.sender);
    }

    /// @notice Close the draw: the winner comes from the beacon value of the next block.
    function close() external {
        require(msg.sender == organiser, "RandomDraw: only the organiser closes");
        require(drawHeight == 0 && entrants.length > 0, "RandomDraw: nothing to close");
        drawHeight = uint64(block.number + 1);
        BEACON.request(drawHeight);
        emit Closed(drawHeight, entrants.length);
    }

    /// @notice Anyone, once the draw height is committed: picks the winner.
    function draw() external returns (address) {
        require(drawHeight != 0 && winner == address(0), "RandomDraw: not closed, or drawn already");
        bytes32 value = BEACON.valueAt(drawHeight); // reverts until the height is committed
        winner = entrants[uint256(value) % entrants.length];
        emit Drawn(winner, value);
        return winner;
    }
}
