"""A deterministic simulator of a Tendermint validator network in one process.

Every validator runs the real ``consensus.tendermint.TendermintMachine`` with
real Ed25519 keys, a small deterministic application and a last-signed guard
with the ``PrivValidator`` rule; the network and the clock are simulated and
driven by a seeded ``random.Random``, so a seed reproduces a run exactly.
"""
