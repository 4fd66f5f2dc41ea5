"""Gas of the IRandomness calls: request, valueAt, isAvailable and the other views.

Every call is a transaction in its own block (one second apart) on an in-memory chain
with the randomness beacon installed; the figure is the receipt's gas used, 21,000
intrinsic gas and call data included; views are measured by ``eth_call``. No node,
network or compiler needed.

    python benchmarks/randomness_gas.py
    python benchmarks/randomness_gas.py --json
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from eth_account import Account
from eth_hash.auto import keccak

from benchmarks.middleware_gas import MemoryChain, calldata, gas_command
from middleware.randomness.contract import RandomnessContract
from vm.native.addresses import RANDOMNESS_ADDRESS

CLIENT = Account.from_key(keccak(b"randomness gas benchmark client"))


def measure() -> dict[str, int]:
    """Gas per call: requests of a future height, then reads of kept and recent values."""
    sender = bytes.fromhex(CLIENT.address[2:])
    chain = MemoryChain([RandomnessContract(lambda context, pub_key: False)], [sender])
    chain.send(CLIENT, RANDOMNESS_ADDRESS, calldata("latestHeight()"))  # block 1: the beacon's first value
    figures = {
        "request (a height nobody requested yet)": chain.send(CLIENT, RANDOMNESS_ADDRESS,
                                                              calldata("request(uint64)", 5)),
        "request (a height already requested)": chain.send(CLIENT, RANDOMNESS_ADDRESS,
                                                           calldata("request(uint64)", 5)),
    }
    while chain.number < 6:
        chain.send(CLIENT, RANDOMNESS_ADDRESS, calldata("latestHeight()"))
    figures["valueAt (a recent height, from the ring)"] = chain.view(sender, RANDOMNESS_ADDRESS,
                                                                     calldata("valueAt(uint64)", 4))
    figures["valueAt (a requested height, pinned)"] = chain.view(sender, RANDOMNESS_ADDRESS,
                                                                 calldata("valueAt(uint64)", 5))
    figures["isAvailable (a recent height)"] = chain.view(sender, RANDOMNESS_ADDRESS,
                                                          calldata("isAvailable(uint64)", 4))
    figures["isAvailable (a future height)"] = chain.view(sender, RANDOMNESS_ADDRESS,
                                                          calldata("isAvailable(uint64)", 100))
    figures["latestHeight"] = chain.view(sender, RANDOMNESS_ADDRESS, calldata("latestHeight()"))
    figures["isRequested"] = chain.view(sender, RANDOMNESS_ADDRESS, calldata("isRequested(uint64)", 5))
    figures["validatorOf"] = chain.view(sender, RANDOMNESS_ADDRESS, calldata("validatorOf(bytes32)", b"\x01" * 32))
    return figures


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as a table (or JSON)."""
    return gas_command(argv, __doc__.split("\n\n")[0], "IRandomness gas per call (transaction gas used, intrinsic and "
                       "call data included; views by eth_call)", measure)


if __name__ == "__main__":
    sys.exit(main())
