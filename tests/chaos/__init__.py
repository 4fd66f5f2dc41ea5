"""A chaos testnet: validators and a full node under transfer load while a seeded fault schedule strikes."""
