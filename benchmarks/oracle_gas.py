"""Gas of every IOracle call: sets, a request answered 3 of 4, conflicting and timed-out requests.

Every call is a transaction in its own block (one second apart) on an in-memory chain
with the oracle contract installed (the elected validators are four fixed accounts);
the figure is the receipt's gas used, 21,000 intrinsic gas and call data included; views
are measured by ``eth_call``. No node, network or compiler needed.

    python benchmarks/oracle_gas.py
    python benchmarks/oracle_gas.py --json
"""
from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import the project from the repository root
    sys.path[0] = str(Path(__file__).resolve().parent.parent)

from eth_account import Account
from eth_hash.auto import keccak

from benchmarks.middleware_gas import GENESIS_TIME, MemoryChain, calldata, gas_command
from middleware.oracle.contract import OracleContract
from vm.native.addresses import ORACLE_ADDRESS

ORACLES = [Account.from_key(keccak(b"oracle gas benchmark %d" % i)) for i in range(4)]
CLIENT = Account.from_key(keccak(b"oracle gas benchmark client"))
ANSWER = b"CMT/USD=0.0123"  # 14 bytes
REQUEST = "request(uint256,string,bytes,uint64,uint32)"


def measure() -> dict[str, int]:
    """Gas per call, in the order a contract and its oracles make them."""
    addresses = [bytes.fromhex(a.address[2:]) for a in [*ORACLES, CLIENT]]
    chain = MemoryChain([OracleContract(lambda ctx: addresses[:4])], addresses)
    members = [a.address for a in ORACLES]
    figures = {
        "defineSet (4 members, first set)": chain.send(CLIENT, ORACLE_ADDRESS,
                                                       calldata("defineSet(address[],uint256)", members, 3)),
        "defineValidatorSet (2/3)": chain.send(CLIENT, ORACLE_ADDRESS,
                                               calldata("defineValidatorSet(uint256,uint256)", 2, 3)),
        "request (explicit set, first request, 32 B payload)": chain.send(
            CLIENT, ORACLE_ADDRESS, calldata(REQUEST, 1, "price.cmt-usd", b"p" * 32, GENESIS_TIME + 3_600, 64)),
        "request (validator set of 4, later request)": chain.send(
            CLIENT, ORACLE_ADDRESS, calldata(REQUEST, 2, "price.cmt-usd", b"p" * 32, GENESIS_TIME + 3_600, 64)),
    }
    attest = "attest(uint256,bytes)"
    figures["attest (first member, 14 B)"] = chain.send(ORACLES[0], ORACLE_ADDRESS, calldata(attest, 1, ANSWER))
    figures["attest (conflicting value)"] = chain.send(ORACLES[1], ORACLE_ADDRESS, calldata(attest, 1, b"other"))
    figures["attest (second agreeing)"] = chain.send(ORACLES[2], ORACLE_ADDRESS, calldata(attest, 1, ANSWER))
    figures["attest (third agreeing: resolves)"] = chain.send(ORACLES[3], ORACLE_ADDRESS, calldata(attest, 1, ANSWER))
    figures["attest (1 KiB answer, resolves a 1-of-1 set)"] = _large_answer(chain)
    sender = bytes.fromhex(CLIENT.address[2:])
    figures["result (eth_call)"] = chain.view(sender, ORACLE_ADDRESS, calldata("result(uint256)", 1))
    figures["getRequest (eth_call, 4 attestations)"] = chain.view(sender, ORACLE_ADDRESS,
                                                                  calldata("getRequest(uint256)", 1))
    figures["getSet (eth_call, 4 members)"] = chain.view(sender, ORACLE_ADDRESS, calldata("getSet(uint256)", 1))
    chain.send(CLIENT, ORACLE_ADDRESS, calldata(REQUEST, 1, "price.cmt-usd", b"", chain.env().timestamp + 1, 64))
    chain.send(CLIENT, ORACLE_ADDRESS, calldata("setCount()"))  # a block later: past the deadline
    figures["expire (timed-out request)"] = chain.send(CLIENT, ORACLE_ADDRESS, calldata("expire(uint256)", 4))
    return figures


def _large_answer(chain: MemoryChain) -> int:
    chain.send(CLIENT, ORACLE_ADDRESS, calldata("defineSet(address[],uint256)", [ORACLES[0].address], 1))
    chain.send(CLIENT, ORACLE_ADDRESS, calldata(REQUEST, 3, "price.cmt-usd", b"", GENESIS_TIME + 3_600, 1_024))
    return chain.send(ORACLES[0], ORACLE_ADDRESS, calldata("attest(uint256,bytes)", 3, b"a" * 1_024))


def main(argv: list[str] | None = None) -> int:
    """Measure and print the figures as a table (or JSON)."""
    return gas_command(argv, __doc__.split("\n\n")[0], "IOracle gas per call (transaction gas used, intrinsic and "
                       "call data included; views by eth_call)", measure)


if __name__ == "__main__":
    sys.exit(main())
