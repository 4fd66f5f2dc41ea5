"""The remote signer: validator keys kept off the node, as CometBFT's tmkms or Horcrux.

The node listens on ``[privval] laddr``; the signer process dials in. Both
sides run the p2p secret handshake (X25519, ChaCha20-Poly1305, Ed25519
identities) and accept only the configured identity of the other side. Over the
connection the node sends strictly decoded, bounded requests (public key, sign,
ping) one at a time, each with a time-out.

* ``protocol``: the messages and their strict decoding;
* ``checks``: what the signer verifies before signing (chain id, sign bytes
  matching the requested height, round and step);
* ``endpoint``: the node's side, a ``ConsensusSigner``;
* ``service``: the signer's side, guarded by its own ``PrivValidator``.
"""
