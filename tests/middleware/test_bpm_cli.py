"""``cmnode bpm check FILE``: a valid definition is summarised; a broken one gets one precise line and exit 1."""
from __future__ import annotations

import json
from pathlib import Path

import click
from click.testing import CliRunner

from cybermiles_node.cli.bpm import add_bpm_commands

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bpm" / "order-escrow.json"


def cli() -> click.Group:
    @click.group()
    def root() -> None:
        """The command line, as the node registers it."""

    add_bpm_commands(root)
    return root


def test_check_summarises_a_valid_definition() -> None:
    result = CliRunner().invoke(cli(), ["bpm", "check", str(EXAMPLE)])
    assert result.exit_code == 0
    assert "valid process 'order-escrow' version 1" in result.output
    assert "7 (start 'created', end: completed, refunded)" in result.output
    as_json = CliRunner().invoke(cli(), ["bpm", "check", str(EXAMPLE), "--json"])
    facts = json.loads(as_json.output)
    assert facts["valid"] is True and facts["timers"] == 2 and facts["roles"] == ["buyer", "seller", "arbiter", "escrow"]


def test_check_reports_the_place_of_the_first_problem(tmp_path: Path) -> None:
    document = json.loads(EXAMPLE.read_text())
    document["states"]["paid"]["tasks"]["ship"]["role"] = "courier"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    result = CliRunner().invoke(cli(), ["bpm", "check", str(broken)])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {broken}: states.paid.tasks.ship.role: unknown role 'courier'"
    as_json = CliRunner().invoke(cli(), ["bpm", "check", str(broken), "--json"])
    error = json.loads(as_json.output)["error"]
    assert as_json.exit_code == 1 and error["path"] == "states.paid.tasks.ship.role"


def test_check_reports_json_syntax_errors_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "syntax.json"
    broken.write_text('{\n  "name": "x"\n  "version": 1\n}')
    result = CliRunner().invoke(cli(), ["bpm", "check", str(broken)])
    assert result.exit_code == 1 and "line 3, column 3: Expecting ',' delimiter" in result.output
    missing = CliRunner().invoke(cli(), ["bpm", "check", str(tmp_path / "none.json")])
    assert missing.exit_code == 1 and "cannot read the file" in missing.output
