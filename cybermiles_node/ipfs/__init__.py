"""Files off chain, content identifiers on chain: IPFS CIDv1 computed and checked by the node.

``cid`` encodes and parses the CIDs the chain accepts, ``unixfs`` computes the CID an
IPFS UnixFS import gives for given bytes, ``client`` adds and fetches files through
an IPFS node's Kubo RPC API and refuses fetched bytes that do not match their CID.
"""
