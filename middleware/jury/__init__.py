"""Juror registry and sortition: stake-weighted random juries as a native contract (``IJury.sol``, ``0x…0C15``)."""
