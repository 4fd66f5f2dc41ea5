"""The network side of consensus: gossip and sync services over p2p channels (the only place consensus meets p2p)."""
