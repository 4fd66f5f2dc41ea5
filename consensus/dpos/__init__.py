"""Delegated proof of stake: staking, election, rewards, slashing, supply and governance."""
