"""``cmnode rules check FILE`` and :func:`check_file`: OK with counts, or the precise error."""
from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from cybermiles_node.cli.rules import add_rules_commands
from middleware.rules.check import check_file
from middleware.rules.errors import RuleTypeError, SourceFileError

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli() -> click.Group:
    """A command group with the rules commands registered as ``cmnode`` registers them."""

    @click.group()
    def root() -> None:
        """Test root."""

    add_rules_commands(root)
    return root


def test_the_example_rule_file_checks_ok(cli: click.Group) -> None:
    example = REPO / "examples" / "rules" / "discount.rules"
    report = check_file(example)
    assert (report.templates, report.rules) == (3, 3)
    result = CliRunner().invoke(cli, ["rules", "check", str(example)])
    assert result.exit_code == 0
    assert result.output == f"OK {example}: 3 templates, 3 rules (4 alpha nodes, 4 join nodes)\n"
    as_json = json.loads(CliRunner().invoke(cli, ["rules", "check", str(example), "--json"]).output)
    assert as_json == {"file": str(example), "templates": 3, "rules": 3, "alphaNodes": 4, "joinNodes": 4}


def test_an_error_is_reported_with_file_line_and_column(cli: click.Group, tmp_path: Path) -> None:
    bad = tmp_path / "bad.rules"
    bad.write_text('template A { x: int; }\nrule "r" when { $a: A(y > 1); } then { }\n')
    with pytest.raises(RuleTypeError) as caught:
        check_file(bad)
    assert (caught.value.line, caught.value.column) == (2, 23)
    result = CliRunner().invoke(cli, ["rules", "check", str(bad)])
    assert result.exit_code == 1
    assert result.output == f"Error: {bad}: line 2, column 23: A has no field 'y'\n"
    result = CliRunner().invoke(cli, ["rules", "check", str(bad), "--json"])
    assert json.loads(result.output) == {"error": {"message": f"{bad}: line 2, column 23: A has no field 'y'",
                                                   "file": str(bad), "line": 2, "column": 23}}


def test_unreadable_files_are_reported_without_a_traceback(cli: click.Group, tmp_path: Path) -> None:
    binary = tmp_path / "binary.rules"
    binary.write_bytes(b"template \xff")
    with pytest.raises(SourceFileError, match="not UTF-8 text"):
        check_file(binary)
    result = CliRunner().invoke(cli, ["rules", "check", str(tmp_path / "missing.rules")])
    assert result.exit_code == 1
    assert result.output == f"Error: {tmp_path / 'missing.rules'}: cannot read: No such file or directory\n"
