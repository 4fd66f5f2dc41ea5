"""State sync scheduler and messages: requests across peers, verification by hash, lying, silent and slow peers."""
from __future__ import annotations

import pytest
import rlp
from eth_hash.auto import keccak

from consensus.statesync import (
    MAX_HASHES_PER_REQUEST,
    MAX_VALUE_BYTES,
    NodeDataRequest,
    NodeDataResponse,
    StateSyncDecodeError,
    StateSyncScheduler,
    answer_node_data,
    decode_message,
    encode_message,
)

LEAF, INNER = 1, 2


def make_tree(fanout: int = 4, depth: int = 3) -> tuple[bytes, dict[bytes, bytes], dict[bytes, list[bytes]]]:
    """A content-addressed tree: root hash, records by hash, children of each record."""
    records: dict[bytes, bytes] = {}
    children: dict[bytes, list[bytes]] = {}

    def build(path: str, level: int) -> bytes:
        kids = [build(f"{path}.{i}", level + 1) for i in range(fanout)] if level < depth else []
        value = f"record {path}".encode() + b"".join(kids)
        node_hash = keccak(value)
        records[node_hash] = value
        children[node_hash] = kids
        return node_hash

    return build("root", 0), records, children


def expand(children: dict[bytes, list[bytes]], node_hash: bytes) -> list[tuple[bytes, int]]:
    return [(kid, LEAF if not children[kid] else INNER) for kid in children[node_hash]]


def run(scheduler: StateSyncScheduler, serve: dict[str, object], children: dict[bytes, list[bytes]],
        max_steps: int = 200, step_ms: int = 100) -> tuple[dict[bytes, bytes], list[str]]:
    """Drive the scheduler; ``serve[peer]`` maps a request to its answer values (or ``None``: silence)."""
    stored: dict[bytes, bytes] = {}
    faults: list[str] = []
    for step in range(max_steps):
        if scheduler.done:
            break
        for peer_id, request in scheduler.next_requests(step * step_ms):
            values = serve[peer_id](request)  # type: ignore[operator]
            if values is None:
                continue
            fetched, fault = scheduler.on_response(peer_id, NodeDataResponse(tuple(values)))
            if fault is not None:
                faults.append(fault.peer_id)
            for node in fetched:
                stored[node.hash] = node.value
                scheduler.schedule(expand(children, node.hash))
    return stored, faults


def honest(records: dict[bytes, bytes]):
    return lambda request: [records[h] for h in request.hashes if h in records]


def test_fetches_every_record_across_peers_with_bounded_requests() -> None:
    root, records, children = make_tree()
    scheduler = StateSyncScheduler(root, INNER, max_hashes_per_request=10)
    asked: list[int] = []
    for peer in "abc":
        scheduler.add_peer(peer)

    def counting(request: NodeDataRequest):
        asked.append(len(request.hashes))
        return honest(records)(request)

    stored, faults = run(scheduler, {peer: counting for peer in "abc"}, children)
    assert scheduler.done and faults == []
    assert stored == records
    assert max(asked) == 10
    assert scheduler.fetched_nodes == len(records) == 1 + 4 + 16 + 64


def test_a_peer_sending_data_that_was_not_asked_is_reported_and_its_hashes_asked_of_others() -> None:
    root, records, children = make_tree()
    scheduler = StateSyncScheduler(root, INNER, max_hashes_per_request=8)
    scheduler.add_peer("liar")
    scheduler.add_peer("good")

    def lying(request: NodeDataRequest):
        return [records[h] for h in request.hashes][:-1] + [b"forged node data"]

    stored, faults = run(scheduler, {"liar": lying, "good": honest(records)}, children)
    assert faults == ["liar"]
    assert stored == records


def test_unsolicited_node_data_is_misbehaviour() -> None:
    root, records, _ = make_tree(depth=1)
    scheduler = StateSyncScheduler(root, INNER)
    scheduler.add_peer("a")
    fetched, fault = scheduler.on_response("a", NodeDataResponse((records[root],)))
    assert fetched == [] and fault is not None and fault.peer_id == "a"
    fetched, fault = scheduler.on_response("stranger", NodeDataResponse(()))
    assert fault is not None and "not asked" in fault.reason


def test_records_a_peer_lacks_are_asked_of_another_peer() -> None:
    root, records, children = make_tree()
    scheduler = StateSyncScheduler(root, INNER, max_hashes_per_request=16)
    first_level = set(children[root])
    partial = {h: v for h, v in records.items() if h not in first_level}
    scheduler.add_peer("partial")
    scheduler.add_peer("full")
    stored, faults = run(scheduler, {"partial": honest(partial), "full": honest(records)}, children)
    assert faults == [] and stored == records


def test_a_silent_peer_times_out_and_its_late_answer_is_still_taken() -> None:
    root, records, children = make_tree(depth=1)
    scheduler = StateSyncScheduler(root, INNER, request_timeout_ms=1_000)
    scheduler.add_peer("slow")
    [(_, request)] = scheduler.next_requests(0)
    assert scheduler.next_requests(500) == []  # still in flight
    scheduler.add_peer("fast")
    [(other, again)] = scheduler.next_requests(1_000)  # expired: asked of the other peer
    assert (other, again.hashes) == ("fast", request.hashes)
    late, fault = scheduler.on_response("slow", NodeDataResponse((records[root],)))
    assert fault is None and [node.hash for node in late] == [root]
    _, fault = scheduler.on_response("fast", NodeDataResponse((records[root],)))
    assert fault is None
    scheduler.schedule(expand(children, root))
    scheduler.schedule(expand(children, root))  # scheduled twice, asked once
    stored, faults = run(scheduler, {"slow": honest(records), "fast": honest(records)}, children)
    assert faults == [] and set(stored) == set(records) - {root}


def test_without_peers_nothing_is_asked_and_removing_a_peer_requeues_its_request() -> None:
    root, records, children = make_tree(depth=1)
    scheduler = StateSyncScheduler(root, INNER)
    assert scheduler.next_requests(0) == [] and not scheduler.done
    scheduler.add_peer("a")
    assert [peer for peer, _ in scheduler.next_requests(0)] == ["a"]
    scheduler.remove_peer("a")
    assert scheduler.queued == 1 and not scheduler.done
    scheduler.add_peer("b")
    stored, _ = run(scheduler, {"b": honest(records)}, children)
    assert stored == records


# -- messages -------------------------------------------------------------------------


def test_messages_round_trip() -> None:
    for message in (NodeDataRequest((keccak(b"a"), keccak(b"b"))), NodeDataResponse((b"x", b"", b"y" * 100))):
        assert decode_message(encode_message(message)) == message


@pytest.mark.parametrize("data, problem", [
    (b"", "not a state-sync message"),
    (b"\x05\xc0", "not a state-sync message"),
    (b"\x06\xc3\x82\x01\x02", "not 32 bytes"),
    (b"\x06\xc1", "malformed"),
    (encode_message(NodeDataRequest((keccak(b"a"),))) + b"\x00", "malformed"),
    (encode_message(NodeDataResponse((b"\x00" * (MAX_VALUE_BYTES + 1),))), "over"),
    (b"\x06" + rlp.encode([keccak(b"a")] * (MAX_HASHES_PER_REQUEST + 1)), "malformed"),
])
def test_malformed_messages_are_rejected(data: bytes, problem: str) -> None:
    with pytest.raises(StateSyncDecodeError, match=problem):
        decode_message(data)


def test_answers_skip_missing_records_and_stop_at_the_size_bound() -> None:
    values = [bytes([i]) * 100 for i in range(5)]
    stored = {keccak(v): v for v in values}
    request = NodeDataRequest((keccak(values[0]), keccak(b"missing"), *(keccak(v) for v in values[1:])))
    assert answer_node_data(request, stored.get).values == tuple(values)
    assert answer_node_data(request, stored.get, max_bytes=250).values == tuple(values[:2])
