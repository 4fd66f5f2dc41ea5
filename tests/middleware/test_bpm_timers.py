"""The storage-backed timer heap yields entries in due-time then instance-id order under any interleaving."""
from __future__ import annotations

import heapq
import random

import eth_abi
import pytest
from eth_utils import function_signature_to_4byte_selector

from middleware.bpm.timers import DueTimer, TimerHeap
from vm.execution import CallMessage
from vm.native.framework import CallContext, NativeContract, method

PROBE = bytes.fromhex("00000000000000000000000000000000000c0fb1")
POP = 0


class HeapProbe(NativeContract):
    """Runs a list of heap operations: 0 pops (the popped word is returned), anything else pushes that word."""

    address = PROBE
    name = "HeapProbe"

    @method("run(uint256[])", returns=["uint256[]", "uint256"], gas=1_000)
    def run(self, context: CallContext, operations: list[int]) -> tuple[list[int], int]:
        heap = TimerHeap(context)
        popped = []
        for operation in operations:
            if operation == POP:
                top = heap.peek()
                entry = heap.pop()
                assert top == entry
                popped.append(entry.packed())
            else:
                heap.push(DueTimer.unpack(operation))
        return popped, len(heap)


def run_probe(chain, operations: list[int]) -> tuple[list[int], int]:
    data = function_signature_to_4byte_selector("run(uint256[])") + eth_abi.encode(["uint256[]"], [operations])
    outcome = chain.call(CallMessage(sender=b"\x01" * 20, to=PROBE, data=data, gas=25_000_000))
    assert outcome.success, outcome
    popped, size = eth_abi.decode(["uint256[]", "uint256"], outcome.output)
    return list(popped), size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_heap_pops_in_due_then_id_order(memory_chain, seed: int) -> None:
    chain = memory_chain([], natives=[HeapProbe()])
    rng = random.Random(seed)
    operations: list[int] = []
    model: list[int] = []
    expected: list[int] = []
    for _ in range(150):
        if model and rng.random() < 0.4:
            operations.append(POP)
            expected.append(heapq.heappop(model))
        else:
            entry = DueTimer(rng.randrange(1_000, 1_020), rng.randrange(1, 40)).packed()  # many equal due times
            operations.append(entry)
            heapq.heappush(model, entry)
    operations += [POP] * len(model)
    expected += sorted(model)
    popped, size = run_probe(chain, operations)
    assert popped == expected and size == 0


def test_entries_pack_due_time_above_instance_id() -> None:
    entry = DueTimer(due=1_700_000_000, instance_id=7)
    assert DueTimer.unpack(entry.packed()) == entry
    assert DueTimer(5, 2**64 - 1).packed() < DueTimer(6, 0).packed()
