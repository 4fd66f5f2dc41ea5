"""Genesis document: JSON round trip, canonical hash, loading, saving and every validation error."""
from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from Crypto.Hash import keccak

from genesis import (
    Allocation,
    ChainParams,
    ConsensusParams,
    GenesisDocument,
    GenesisFileError,
    GenesisJSONError,
    GenesisValidationError,
    Validator,
    VestingSchedule,
    load_genesis,
    parse_genesis,
    save_genesis,
)
from genesis.distribution import CMT, SUPPLY_CAP

# RFC 8032 test vectors 1-3: valid ed25519 public keys
KEY1 = "0xd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
KEY2 = "0x3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"
KEY3 = "0xfc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025"
ADDR0 = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
ADDR1 = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"
ADDR2 = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
ADDR3 = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"


def base_document() -> dict[str, Any]:
    """A small valid genesis document in JSON form, with every optional part present."""
    return {
        "chain_id": 15,
        "chain_name": "cybermiles-test",
        "genesis_time": 1_700_000_000,
        "foundation": ADDR0,
        "consensus": {"timeout_commit_ms": 500, "create_empty_blocks": False},
        "params": {"gas_limit": 20_000_000, "foundation_reserve": str(100 * CMT)},
        "dpos": {"params": {"max_validators": 4, "supply_cap": str(20 * 10**9 * CMT), "slash_enabled": True}},
        "validators": [
            {"name": "v0", "pub_key": KEY1, "power": 10, "owner": ADDR0, "stake": str(7 * CMT)},
            {"name": "v1", "pub_key": KEY2, "power": 5, "owner": ADDR1},
        ],
        "alloc": [
            {"address": ADDR0, "balance": str(1000 * CMT)},
            {"address": ADDR1, "balance": 12345},
            {"address": ADDR2, "balance": "0"},
            {
                "address": ADDR3,
                "balance": "1",
                "code": "0x6001600055",
                "storage": {"0x00": "0x2a", "0x" + "ff" * 32: "0x01"},
            },
        ],
        "vesting": [
            {
                "name": "team_and_partners",
                "beneficiary": ADDR1,
                "amount": str(50 * CMT),
                "start_time": 1_700_000_000,
            }
        ],
    }


def error_of(data: Any) -> str:
    with pytest.raises(GenesisValidationError) as excinfo:
        parse_genesis(data)
    return str(excinfo.value)


# ---------------------------------------------------------------- parsing and round trip


def test_parse_builds_typed_frozen_document() -> None:
    doc = parse_genesis(base_document())
    assert doc.chain_id == 15
    assert doc.foundation == bytes.fromhex(ADDR0[2:])
    assert doc.consensus == ConsensusParams(timeout_commit_ms=500, create_empty_blocks=False)
    assert doc.params == ChainParams(gas_limit=20_000_000, foundation_reserve=100 * CMT)
    assert doc.validators[1] == Validator(
        name="v1", pub_key=bytes.fromhex(KEY2[2:]), power=5, owner=bytes.fromhex(ADDR1[2:])
    )
    assert doc.alloc[1].balance == 12345
    assert doc.alloc[3] == Allocation(
        address=bytes.fromhex(ADDR3[2:]),
        balance=1,
        code=bytes.fromhex("6001600055"),
        storage=((0, 42), (2**256 - 1, 1)),
    )
    assert doc.vesting == (
        VestingSchedule(
            name="team_and_partners",
            beneficiary=bytes.fromhex(ADDR1[2:]),
            amount=50 * CMT,
            start_time=1_700_000_000,
            period_seconds=7_776_000,
            periods=10,
        ),
    )
    assert isinstance(doc.alloc, tuple) and isinstance(doc.validators, tuple)
    with pytest.raises(AttributeError):
        doc.chain_id = 16  # type: ignore[misc]


def test_optional_sections_take_defaults() -> None:
    data = base_document()
    del data["consensus"], data["params"], data["vesting"], data["dpos"], data["validators"][0]["stake"]
    doc = parse_genesis(data)
    assert doc.dpos.overrides() == {}
    assert doc.validators[0].stake == 0
    assert doc.consensus.timeout_commit_ms == 1000
    assert doc.consensus.create_empty_blocks is True
    assert doc.consensus.max_block_bytes == 4 * 1024 * 1024
    assert doc.consensus.max_tx_bytes == 128 * 1024
    assert doc.params.initial_base_fee == doc.params.min_gas_price == 10**9
    assert doc.params.elasticity_multiplier == 2
    assert doc.params.base_fee_max_change_denominator == 8
    assert doc.vesting == ()


def test_round_trip_through_json() -> None:
    doc = parse_genesis(base_document())
    encoded = json.loads(json.dumps(doc.to_json()))
    assert parse_genesis(encoded) == doc
    assert encoded["alloc"][1]["balance"] == "12345"  # amounts are written as decimal strings
    assert "code" not in encoded["alloc"][0] and "storage" not in encoded["alloc"][0]


def test_storage_is_written_as_32_byte_words_in_slot_order() -> None:
    storage = parse_genesis(base_document()).to_json()["alloc"][3]["storage"]
    assert list(storage.items()) == [
        ("0x" + "00" * 32, "0x" + "00" * 31 + "2a"),
        ("0x" + "ff" * 32, "0x" + "00" * 31 + "01"),
    ]


def test_addresses_accepted_in_any_case_and_written_checksummed() -> None:
    data = base_document()
    data["foundation"] = ADDR0.lower()
    data["alloc"][0]["address"] = "0x" + ADDR0[2:].upper()
    doc = parse_genesis(data)
    assert doc.foundation == doc.alloc[0].address == bytes.fromhex(ADDR0[2:].lower())
    assert doc.to_json()["foundation"] == ADDR0


def test_total_supply_counts_alloc_vesting_reserve_and_stakes() -> None:
    doc = parse_genesis(base_document())
    assert doc.total_staked() == 7 * CMT
    assert doc.total_supply() == 1000 * CMT + 12345 + 0 + 1 + 50 * CMT + 100 * CMT + 7 * CMT


def test_dpos_overrides_and_stakes_are_kept_as_written() -> None:
    doc = parse_genesis(base_document())
    assert doc.dpos.overrides() == {"max_validators": 4, "slash_enabled": True, "supply_cap": str(20 * 10**9 * CMT)}
    assert list(doc.dpos.overrides()) == sorted(doc.dpos.overrides())
    encoded = doc.to_json()
    assert encoded["dpos"] == {"params": doc.dpos.overrides()}
    assert encoded["validators"][0]["stake"] == str(7 * CMT)


# ---------------------------------------------------------------- hash


def test_hash_is_keccak_of_canonical_json_and_stable() -> None:
    doc = parse_genesis(base_document())
    canonical = doc.canonical_json()
    assert b" " not in canonical
    assert canonical.startswith(b'{"alloc":[{"address":"0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"')
    independent = json.dumps(doc.to_json(), sort_keys=True, separators=(",", ":")).encode()
    assert canonical == independent
    assert doc.hash() == keccak.new(digest_bits=256, data=independent).digest()
    # pinned: a change here means nodes built from the same file would disagree on the genesis
    assert doc.hash().hex() == "b5976dd87de386bda956f885f3cf20095087490a38c9693ddcad1f2b41f667a6"


def test_hash_ignores_presentation_but_not_content() -> None:
    data = base_document()
    reordered = dict(reversed(list(copy.deepcopy(data).items())))
    reordered["foundation"] = ADDR0.lower()
    reordered["alloc"][1]["balance"] = "12345"  # same amount, given as a string
    assert parse_genesis(reordered).hash() == parse_genesis(data).hash()
    data["alloc"][1]["balance"] = 12346
    assert parse_genesis(data).hash() != parse_genesis(reordered).hash()


# ---------------------------------------------------------------- validation errors

Mutation = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(data: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = data
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        del target[last]

    return mutate


BAD_CHECKSUM = "0xF39Fd6e51aad88F6F4ce6aB8827279cffFb92266"

CASES: list[tuple[str, Mutation, str]] = [
    ("missing field", _delete("chain_id"), "chain_id: missing"),
    ("missing nested field", _delete("alloc.1.balance"), "alloc[1].balance: missing"),
    ("unknown field", _set("extra", 1), "extra: unknown field"),
    ("unknown nested field", _set("alloc.0.balanse", "1"), "alloc[0].balanse: unknown field"),
    ("unknown consensus field", _set("consensus.timeout_x", 1), "consensus.timeout_x: unknown field"),
    ("odd key shown quoted", _set("a b", 1), '"a b": unknown field'),
    ("balance not a number", _set("alloc.3.balance", "abc"), "alloc[3].balance: not a number"),
    ("balance hex string", _set("alloc.3.balance", "0x10"), "alloc[3].balance: not a number"),
    ("balance boolean", _set("alloc.3.balance", True), "alloc[3].balance: not a number"),
    ("balance list", _set("alloc.3.balance", [1]), "alloc[3].balance: not a number"),
    (
        "balance float",
        _set("alloc.3.balance", 1e18),
        "alloc[3].balance: not an integer (write large amounts as decimal strings)",
    ),
    ("negative balance string", _set("alloc.3.balance", "-5"), "alloc[3].balance: must not be negative"),
    ("negative balance int", _set("alloc.2.balance", -1), "alloc[2].balance: must not be negative"),
    ("balance above uint256", _set("alloc.0.balance", str(2**256)), "alloc[0].balance: must be at most 2**256 - 1"),
    ("negative vesting amount", _set("vesting.0.amount", "-1"), "vesting[0].amount: must not be negative"),
    ("negative reserve", _set("params.foundation_reserve", -3), "params.foundation_reserve: must not be negative"),
    ("chain id zero", _set("chain_id", 0), "chain_id: must be a positive integer below 2**53"),
    ("chain id negative", _set("chain_id", -1), "chain_id: must be a positive integer below 2**53"),
    ("chain id too large", _set("chain_id", 2**53), "chain_id: must be a positive integer below 2**53"),
    ("chain id string", _set("chain_id", "15"), "chain_id: must be a positive integer below 2**53"),
    ("chain id boolean", _set("chain_id", True), "chain_id: must be a positive integer below 2**53"),
    (
        "chain name with space",
        _set("chain_name", "my chain"),
        "chain_name: must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_', '-'",
    ),
    ("genesis time negative", _set("genesis_time", -1), "genesis_time: must not be negative"),
    ("genesis time float", _set("genesis_time", 1.5), "genesis_time: not an integer"),
    ("genesis time too large", _set("genesis_time", 2**53), "genesis_time: must be below 2**53"),
    ("no validators", _set("validators", []), "validators: at least one validator is required"),
    ("validators not a list", _set("validators", {}), "validators: not a list"),
    ("validator not an object", _set("validators.0", "v0"), "validators[0]: not an object"),
    ("validator name empty", _set("validators.1.name", ""), "validators[1].name: must be 1 to 64 printable ASCII characters"),
    ("validator name not string", _set("validators.1.name", 7), "validators[1].name: not a string"),
    ("duplicate validator name", _set("validators.1.name", "v0"), "validators[1].name: duplicate validator name (also validators[0])"),
    ("pub key not hex", _set("validators.0.pub_key", "0xzz"), "validators[0].pub_key: not a 0x-prefixed hex string"),
    ("pub key without 0x", _set("validators.0.pub_key", KEY1[2:]), "validators[0].pub_key: not a 0x-prefixed hex string"),
    ("pub key not a string", _set("validators.0.pub_key", 5), "validators[0].pub_key: not a string"),
    ("pub key odd length", _set("validators.0.pub_key", "0xabc"), "validators[0].pub_key: odd number of hex digits"),
    ("pub key short", _set("validators.0.pub_key", KEY1[:-2]), "validators[0].pub_key: must be 32 bytes, got 31"),
    ("pub key off curve", _set("validators.0.pub_key", "0x" + "ff" * 32), "validators[0].pub_key: not a valid ed25519 public key"),
    ("duplicate validator key", _set("validators.1.pub_key", KEY1), "validators[1].pub_key: duplicate validator key (also validators[0])"),
    ("zero power", _set("validators.0.power", 0), "validators[0].power: must be positive"),
    ("negative power", _set("validators.1.power", -10), "validators[1].power: must be positive"),
    ("owner short", _set("validators.0.owner", ADDR0[:-2]), "validators[0].owner: must be 20 bytes, got 19"),
    ("bad checksum", _set("validators.0.owner", BAD_CHECKSUM), "validators[0].owner: invalid EIP-55 checksum"),
    ("foundation bad checksum", _set("foundation", BAD_CHECKSUM), "foundation: invalid EIP-55 checksum"),
    ("duplicate alloc", _set("alloc.2.address", ADDR0.lower()), "alloc[2].address: duplicate address (also alloc[0])"),
    ("alloc not a list", _set("alloc", {"a": 1}), "alloc: not a list"),
    ("code not hex", _set("alloc.3.code", "6001"), "alloc[3].code: not a 0x-prefixed hex string"),
    ("code too long", _set("alloc.3.code", "0x" + "00" * 24_577), "alloc[3].code: must be at most 24576 bytes (EIP-170), got 24577"),
    ("storage not an object", _set("alloc.3.storage", []), "alloc[3].storage: not an object"),
    ("storage key bad hex", _set("alloc.3.storage", {"0xgg": "0x01"}), "alloc[3].storage.0xgg: not a 0x-prefixed hex string"),
    ("storage value too long", _set("alloc.3.storage", {"0x01": "0x" + "11" * 33}), "alloc[3].storage.0x01: must be at most 32 bytes, got 33"),
    ("storage key odd length", _set("alloc.3.storage", {"0x1": "0x01"}), "alloc[3].storage.0x1: odd number of hex digits"),
    ("duplicate storage slot", _set("alloc.3.storage", {"0x01": "0x01", "0x0001": "0x02"}), "alloc[3].storage.0x0001: duplicate slot (also 0x01)"),
    ("vesting periods zero", _set("vesting.0.periods", 0), "vesting[0].periods: must be positive"),
    ("vesting periods negative", _set("vesting.0.periods", -4), "vesting[0].periods: must be positive"),
    ("vesting period zero", _set("vesting.0.period_seconds", 0), "vesting[0].period_seconds: must be positive"),
    ("vesting beneficiary missing", _delete("vesting.0.beneficiary"), "vesting[0].beneficiary: missing"),
    ("consensus not an object", _set("consensus", 3), "consensus: not an object"),
    ("empty blocks flag not bool", _set("consensus.create_empty_blocks", "yes"), "consensus.create_empty_blocks: not a boolean"),
    ("zero propose timeout", _set("consensus.timeout_propose_ms", 0), "consensus.timeout_propose_ms: must be 10 to 600000 ms, got 0"),
    ("negative commit timeout", _set("consensus.timeout_commit_ms", -1), "consensus.timeout_commit_ms: must be 50 to 600000 ms, got -1"),
    ("zero commit timeout", _set("consensus.timeout_commit_ms", 0), "consensus.timeout_commit_ms: must be 50 to 600000 ms, got 0"),
    ("commit timeout of an hour", _set("consensus.timeout_commit_ms", 3_600_000), "consensus.timeout_commit_ms: must be 50 to 600000 ms, got 3600000"),
    ("round delta of an hour", _set("consensus.timeout_prevote_delta_ms", 3_600_000), "consensus.timeout_prevote_delta_ms: must be 0 to 60000 ms, got 3600000"),
    ("tiny blocks", _set("consensus.max_block_bytes", 100), "consensus.max_block_bytes: must be 4096 to 104857600 bytes, got 100"),
    ("huge blocks", _set("consensus.max_block_bytes", 2**40), "consensus.max_block_bytes: must be 4096 to 104857600 bytes, got 1099511627776"),
    ("tiny transactions", _set("consensus.max_tx_bytes", 10), "consensus.max_tx_bytes: must be 1024 to 104857600 bytes, got 10"),
    ("tx larger than block", _set("consensus.max_tx_bytes", 5 * 1024 * 1024), "consensus.max_tx_bytes: must not exceed consensus.max_block_bytes (4194304)"),
    ("zero gas limit", _set("params.gas_limit", 0), "params.gas_limit: must be positive"),
    ("tx gas above block gas", _set("params.max_gas_per_tx", 20_000_001), "params.max_gas_per_tx: must not exceed params.gas_limit (20000000)"),
    ("base fee below minimum", _set("params.initial_base_fee", "999"), "params.initial_base_fee: must be at least params.min_gas_price (1000000000)"),
    ("zero denominator", _set("params.base_fee_max_change_denominator", 0), "params.base_fee_max_change_denominator: must be positive"),
    ("negative stake", _set("validators.1.stake", "-1"), "validators[1].stake: must not be negative"),
    ("stake not a number", _set("validators.1.stake", "1.5"), "validators[1].stake: not a number"),
    ("dpos not an object", _set("dpos", []), "dpos: not an object"),
    ("unknown dpos field", _set("dpos.overrides", {}), "dpos.overrides: unknown field"),
    ("dpos params not an object", _set("dpos.params", [1]), "dpos.params: not an object"),
    (
        "dpos parameter name",
        _set("dpos.params", {"Max Validators": 4}),
        "dpos.params: parameter name 'Max Validators' must be 1 to 64 characters of a-z, 0-9, '_'",
    ),
    (
        "dpos ratio as a fraction",
        _set("dpos.params.slash_ratio_bp", 0.01),
        "dpos.params.slash_ratio_bp: not an integer (write ratios in basis points or percent, as the name says)",
    ),
    ("dpos value a list", _set("dpos.params.max_validators", [4]), "dpos.params.max_validators: must be an integer, a boolean or a string"),
    ("dpos value too long", _set("dpos.params.supply_cap", "9" * 101), "dpos.params.supply_cap: longer than 100 characters"),
    (
        "too many dpos params",
        _set("dpos.params", {f"p{i}": i for i in range(65)}),
        "dpos.params: at most 64 entries are allowed, got 65",
    ),
    (
        "stakes count towards the hard cap",
        _set("validators.1.stake", str(SUPPLY_CAP)),
        f"total_supply: {SUPPLY_CAP + 1000 * CMT + 12346 + 157 * CMT} wei exceeds the hard cap of 10,000,000,000 CMT ({SUPPLY_CAP} wei)",
    ),
    (
        "supply above hard cap",
        _set("alloc.0.balance", str(SUPPLY_CAP)),
        f"total_supply: {SUPPLY_CAP + 12346 + 157 * CMT} wei exceeds the hard cap of 10,000,000,000 CMT ({SUPPLY_CAP} wei)",
    ),
]


@pytest.mark.parametrize("mutate, expected", [(m, e) for _, m, e in CASES], ids=[name for name, _, _ in CASES])
def test_validation_error_names_exact_path(mutate: Mutation, expected: str) -> None:
    data = base_document()
    mutate(data)
    assert error_of(data) == f"genesis.json: {expected}"


def test_document_that_is_not_an_object() -> None:
    assert error_of([1, 2]) == "genesis.json: document: not an object"


def test_source_name_appears_in_errors() -> None:
    data = base_document()
    data["validators"] = []
    with pytest.raises(GenesisValidationError) as excinfo:
        parse_genesis(data, source="testnet/genesis.json")
    assert str(excinfo.value) == "testnet/genesis.json: validators: at least one validator is required"
    assert excinfo.value.path == "validators"


def test_supply_exactly_at_hard_cap_is_accepted() -> None:
    data = base_document()
    others = 12345 + 1 + 50 * CMT + 100 * CMT + 7 * CMT
    data["alloc"][0]["balance"] = str(SUPPLY_CAP - others)
    assert parse_genesis(data).total_supply() == SUPPLY_CAP


def test_amounts_beyond_json_integer_precision_survive() -> None:
    data = base_document()
    data["alloc"][0]["balance"] = "123456789012345678901234567"
    assert parse_genesis(data).alloc[0].balance == 123456789012345678901234567


# ---------------------------------------------------------------- files


def test_save_then_load_gives_the_same_document(tmp_path: Path) -> None:
    doc = parse_genesis(base_document())
    path = tmp_path / "genesis.json"
    save_genesis(doc, path)
    text = path.read_text()
    assert text.endswith("\n") and '\n  "chain_id": 15,' in text  # indented for people to read
    loaded = load_genesis(path)
    assert loaded == doc
    assert loaded.hash() == doc.hash()
    assert [p.name for p in tmp_path.iterdir()] == ["genesis.json"]


def test_save_refuses_an_invalid_document(tmp_path: Path) -> None:
    doc = parse_genesis(base_document())
    bad = GenesisDocument(
        chain_id=doc.chain_id,
        chain_name=doc.chain_name,
        genesis_time=doc.genesis_time,
        validators=(),
        alloc=doc.alloc,
        foundation=doc.foundation,
    )
    path = tmp_path / "genesis.json"
    with pytest.raises(GenesisValidationError) as excinfo:
        save_genesis(bad, path)
    assert str(excinfo.value) == f"{path}: validators: at least one validator is required"
    assert not path.exists()


def test_load_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.json"
    with pytest.raises(GenesisFileError) as excinfo:
        load_genesis(path)
    assert str(excinfo.value) == f"{path}: file not found"


def test_load_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(GenesisFileError) as excinfo:
        load_genesis(tmp_path)
    assert str(excinfo.value).startswith(f"{tmp_path}: cannot read: ")


def test_load_bad_json_reports_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text('{\n  "chain_id": 15,\n  "chain_name" "x"\n}\n')
    with pytest.raises(GenesisJSONError) as excinfo:
        load_genesis(path)
    assert (excinfo.value.line, excinfo.value.column) == (3, 16)
    assert str(excinfo.value) == f"{path}:3:16: invalid JSON: Expecting ':' delimiter"


def test_load_rejects_duplicate_keys(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text('{"chain_id": 15, "chain_id": 16}')
    with pytest.raises(GenesisValidationError) as excinfo:
        load_genesis(path)
    assert str(excinfo.value) == f'{path}: document: duplicate key "chain_id" in an object'


def test_load_rejects_non_utf8(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_bytes(b'{"chain_name": "\xff"}')
    with pytest.raises(GenesisFileError) as excinfo:
        load_genesis(path)
    assert str(excinfo.value) == f"{path}: not UTF-8 text (at byte offset 16)"


def test_load_reports_validation_errors_with_file_name(tmp_path: Path) -> None:
    data = base_document()
    data["alloc"][3]["balance"] = "lots"
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GenesisValidationError) as excinfo:
        load_genesis(path)
    assert str(excinfo.value) == f"{path}: alloc[3].balance: not a number"


def test_load_deeply_nested_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "genesis.json"
    path.write_text('{"x": "[[[[", "y": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(GenesisValidationError) as excinfo:
        load_genesis(path)
    assert str(excinfo.value) == f"{path}: document: nested deeper than 32 levels"


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path: Path) -> None:
    data = base_document()
    data["chain_name"] = 'x\\"' + "[{" * 50
    path = tmp_path / "genesis.json"
    path.write_text(json.dumps(data))
    with pytest.raises(GenesisValidationError) as excinfo:
        load_genesis(path)
    assert excinfo.value.path == "chain_name"
