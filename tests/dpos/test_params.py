"""Chain parameters: the table, type and bounds checks, text and genesis forms, storage in governance."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from eth_utils import function_signature_to_4byte_selector
from hypothesis import given
from hypothesis import strategies as st

from consensus.dpos.errors import InvalidParameter
from consensus.dpos.params import (
    MIN_BLOCK_GAS_LIMIT,
    PARAMETERS,
    PARAMS_KEY,
    DposParams,
    decode_params,
    encode_params,
    format_value,
    load_params,
    params_from_mapping,
    parse_value,
    store_params,
)
from vm.execution import CallMessage, GenesisAccount
from vm.native.addresses import GOVERNANCE_ADDRESS, STAKING_ADDRESS
from vm.native.framework import CallContext, NativeContract, blob_slot, method

CMT = 10**18
DOCS = Path(__file__).resolve().parents[2] / "docs" / "governance.md"


def test_table_covers_every_field_in_order_and_defaults_are_the_white_paper_and_travis_values() -> None:
    assert [spec.name for spec in PARAMETERS] == [field.name for field in dataclasses.fields(DposParams)]
    params = DposParams()
    assert (params.max_validators, params.backup_validators) == (19, 5)
    assert (params.self_staking_ratio_bp, params.validator_size_threshold_bp) == (1_000, 1_200)
    assert (params.inflation_rate_bp, params.inflation_years, params.post_inflation_rate_bp) == (800, 10, 0)
    assert params.supply_cap == 10_000_000_000 * CMT
    assert params.validators_block_award_ratio == 90
    assert params.slash_enabled is False


def test_every_default_lies_within_its_bounds_and_every_parameter_is_documented() -> None:
    params = DposParams()
    for spec in PARAMETERS:
        value = getattr(params, spec.name)
        if spec.kind == "int":
            assert spec.minimum <= value <= spec.maximum, spec.name
        assert spec.doc.endswith(")."), spec.name
        assert re.search(r"default", spec.doc), spec.name


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("max_validators", 0, "max_validators: 0 is outside [1, 100]"),
        ("max_validators", 101, "max_validators: 101 is outside [1, 100]"),
        ("max_validators", True, "max_validators: expected an integer, got True"),
        ("slash_ratio_bp", 10_001, "slash_ratio_bp: 10001 is outside [0, 10000]"),
        ("slash_enabled", 1, "slash_enabled: expected a boolean, got 1"),
        ("foundation_address", "0x" + "11" * 20, "foundation_address: expected a 20-byte address"),
        ("foundation_address", b"\x11" * 19, "foundation_address: expected a 20-byte address"),
        ("no_such_thing", 1, "unknown parameter 'no_such_thing'; known: backup_validators, "),
    ],
)
def test_with_value_rejects_wrong_kinds_and_values_out_of_bounds(name: str, value: object, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        DposParams().with_value(name, value)  # type: ignore[arg-type]
    assert str(caught.value).startswith(message)


def test_with_value_returns_a_changed_copy_and_checks_the_commission_range() -> None:
    params = DposParams()
    changed = params.with_value("max_validators", 7).with_value("slash_enabled", True)
    assert (changed.max_validators, changed.slash_enabled) == (7, True)
    assert params.max_validators == 19
    with pytest.raises(InvalidParameter, match=r"min_commission_bp \(6000\) is above max_commission_bp \(5000\)"):
        params.with_value("min_commission_bp", 6_000)


def test_a_block_gas_limit_is_the_genesis_value_or_at_least_a_million() -> None:
    assert DposParams().with_value("block_gas_limit", 150_000_000).block_gas_limit == 150_000_000
    with pytest.raises(InvalidParameter,
                       match=r"block_gas_limit \(21000\) must be 0 \(the genesis value\) or at least 1000000"):
        DposParams().with_value("block_gas_limit", 21_000)


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("max_validators", "21", 21),
        ("supply_cap", str(20_000_000_000 * CMT), 20_000_000_000 * CMT),
        ("slash_enabled", "true", True),
        ("slash_enabled", "false", False),
        ("foundation_address", "0x" + "Ab" * 20, b"\xab" * 20),
    ],
)
def test_parse_value_reads_the_text_form(name: str, text: str, value: object) -> None:
    assert parse_value(name, text) == value
    assert parse_value(name, format_value(value)) == value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("max_validators", "-1", "max_validators: expected decimal digits, got '-1'"),
        ("max_validators", "1e3", "max_validators: expected decimal digits, got '1e3'"),
        ("max_validators", "", "max_validators: expected decimal digits, got ''"),
        ("max_validators", "٣", "max_validators: expected decimal digits"),
        ("max_validators", "1" * 101, "max_validators: value longer than 100 characters"),
        ("max_validators", "500", "max_validators: 500 is outside [1, 100]"),
        ("slash_enabled", "True", "slash_enabled: expected true or false, got 'True'"),
        ("foundation_address", "0x1234", "foundation_address: expected 0x and 40 hex digits, got '0x1234'"),
        ("foundation_address", "0x" + "zz" * 20, "foundation_address: expected 0x and 40 hex digits"),
    ],
)
def test_parse_value_rejects_bad_text_precisely(name: str, text: str, message: str) -> None:
    with pytest.raises(InvalidParameter) as caught:
        parse_value(name, text)
    assert str(caught.value).startswith(message)


def test_genesis_overrides_accept_json_values_and_reject_unknown_names_and_bad_values() -> None:
    params = params_from_mapping({
        "max_validators": 4,
        "supply_cap": str(12 * CMT),
        "slash_enabled": True,
        "foundation_address": "0x" + "01" * 20,
    })
    assert params == DposParams(max_validators=4, supply_cap=12 * CMT, slash_enabled=True,
                                foundation_address=b"\x01" * 20)
    assert params_from_mapping({}) == DposParams()
    for raw, message in [
        ({"max_validator": 4}, "unknown parameter 'max_validator'"),
        ({1: 4, "max_validators": 4}, "parameter names must be strings, got 1"),
        ({"max_validators": 4.0}, "max_validators: expected an integer, got 4.0"),
        ({"slash_enabled": "true"}, "slash_enabled: expected a boolean, got 'true'"),
        ({"foundation_address": 1}, "foundation_address: expected an address string, got 1"),
        ({"election_interval": 0}, "election_interval: 0 is outside [1, 1000000]"),
        ({"min_commission_bp": 9_000}, "min_commission_bp (9000) is above max_commission_bp (5000)"),
    ]:
        with pytest.raises(InvalidParameter) as caught:
            params_from_mapping(raw)
        assert str(caught.value).startswith(message)


_VALUES = {
    "int": lambda spec: st.integers(spec.minimum, spec.maximum),
    "bool": lambda spec: st.booleans(),
    "address": lambda spec: st.binary(min_size=20, max_size=20),
}


@st.composite
def any_params(draw: st.DrawFn) -> DposParams:
    values = {spec.name: draw(_VALUES[spec.kind](spec)) for spec in PARAMETERS}
    values["max_commission_bp"] = max(values["max_commission_bp"], values["min_commission_bp"])
    if values["block_gas_limit"] < MIN_BLOCK_GAS_LIMIT:
        values["block_gas_limit"] = 0
    return DposParams(**values)


@given(any_params())
def test_stored_form_round_trips(params: DposParams) -> None:
    assert decode_params(encode_params(params)) == params


def test_stored_form_rejects_garbage_and_fills_missing_parameters_with_defaults() -> None:
    for data in (b"\xff\xff", b"\xc3\x82ab"):
        with pytest.raises(InvalidParameter, match="stored parameters"):
            decode_params(data)
    assert decode_params(b"\xc0") == DposParams()


class Reader(NativeContract):
    """Stands where staking stands: reads and writes the parameters through its own context."""

    address = STAKING_ADDRESS
    name = "Reader"

    @method("maxValidators()", returns=["uint256"], gas=100, view=True)
    def max_validators(self, context: CallContext) -> int:
        return load_params(context).max_validators

    def init_chain(self, context: CallContext) -> None:
        store_params(context, DposParams(max_validators=3))


def test_parameters_live_in_governance_storage_and_any_native_contract_reads_them(memory_chain) -> None:
    chain = memory_chain([GenesisAccount(b"\x01" * 20, balance=CMT)], natives=[Reader()])
    assert chain.state.get_storage(GOVERNANCE_ADDRESS, blob_slot(PARAMS_KEY)) > 0
    assert chain.state.get_storage(STAKING_ADDRESS, blob_slot(PARAMS_KEY)) == 0
    outcome = chain.call(CallMessage(sender=b"\x01" * 20, to=STAKING_ADDRESS, data=function_signature_to_4byte_selector("maxValidators()")))
    assert outcome.success and int.from_bytes(outcome.output, "big") == 3


def test_governance_doc_lists_every_parameter_with_its_default_and_bounds() -> None:
    text = DOCS.read_text()
    params = DposParams()
    for spec in PARAMETERS:
        row = next((line for line in text.splitlines() if line.startswith(f"| `{spec.name}` ")), None)
        assert row is not None, f"{spec.name} missing from docs/governance.md"
        assert f"`{format_value(getattr(params, spec.name))}`" in row, spec.name
        if spec.kind == "int":
            assert f"| {spec.minimum} .. {spec.maximum} |" in row, spec.name
