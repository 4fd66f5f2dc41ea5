"""A client of a node's JSON-RPC: the HTTP client, ABI values and signed transactions.

The ``cmnode`` commands and the off-chain services (``cmnode oracle run``) use it; it
knows nothing of the command line.
"""
