"""``eth_getProof`` and ``eth_createAccessList``: what a client needs to prove state or to pre-warm a transaction.

``eth_getProof`` answers EIP-1186 proofs that verify against the block's
``stateRoot`` (at most ``rpc.params.MAX_PROOF_KEYS`` storage keys a request).
``eth_createAccessList`` runs the call as ``eth_call`` does (same parameters,
overrides and deadline) and answers geth's ``{accessList, gasUsed, error?}``.
"""
from __future__ import annotations

from typing import Any

from rpc.chain import ChainReader
from rpc.dispatch import Handler
from rpc.errors import ExecutionReverted
from rpc.formatting import data, quantity, storage_word
from rpc.params import Args, parse_address, parse_block_ref, parse_call_args, parse_storage_keys


class StateProofAPI:
    """Handlers of ``eth_getProof`` and ``eth_createAccessList``."""

    def __init__(self, chain: ChainReader) -> None:
        self.chain = chain
        self.backend = chain.backend

    def methods(self) -> dict[str, Handler]:
        """Method name to handler."""
        return {"eth_getProof": self.get_proof, "eth_createAccessList": self.create_access_list}

    async def get_proof(self, params: Any, connection: Any) -> dict[str, Any]:
        """``eth_getProof``: ``[address, storageKeys, block]``; keys are echoed as given."""
        args = Args(params, 3, 3)
        address = args.get(0, parse_address)
        keys = args.get(1, parse_storage_keys)
        height = await self.chain.state_height(args.get(2, parse_block_ref))
        proof = await self.backend.get_proof(address, [slot for _, slot in keys], height)
        return {
            "address": data(address),
            "accountProof": [data(node) for node in proof.proof],
            "balance": quantity(proof.balance),
            "codeHash": data(proof.code_hash),
            "nonce": quantity(proof.nonce),
            "storageHash": data(proof.storage_root),
            "storageProof": [
                {"key": text, "value": quantity(entry.value), "proof": [data(node) for node in entry.proof]}
                for (text, _), entry in zip(keys, proof.storage, strict=True)
            ],
        }

    async def create_access_list(self, params: Any, connection: Any) -> dict[str, Any]:
        """``eth_createAccessList``: ``[call, block?, stateOverrides?, blockOverrides?]``."""
        call = parse_call_args(params)
        height = await self.chain.state_height(call.block)
        found = await self.backend.create_access_list(call.request, height, call.overrides)
        result: dict[str, Any] = {
            "accessList": [
                {"address": data(address), "storageKeys": [storage_word(slot) for slot in slots]}
                for address, slots in found.access_list
            ],
            "gasUsed": quantity(found.outcome.gas_used),
        }
        outcome = found.outcome
        if not outcome.success:
            result["error"] = ExecutionReverted(outcome.output).message if outcome.error == "execution reverted" \
                else outcome.error or "execution failed"
        return result

