"""The CyberMiles node: composition root of the packages below it.

Keccak-256 is the hottest hash of the node (trie nodes, addresses, transaction
hashes). eth-hash picks its backend on first use; the node prefers the pysha3
backend (a C extension, several times faster per call than pycryptodome's)
unless the operator chose one with ``ETH_HASH_BACKEND``.
"""
import os

os.environ.setdefault("ETH_HASH_BACKEND", "pysha3")
