"""Sponsored gas: a contract's deposit pays the fees of zero-price transactions sent to it (``ISponsor.sol``)."""
