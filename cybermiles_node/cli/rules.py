"""``cmnode rules check FILE``: validate a rule file offline, with the position of the first error."""

from __future__ import annotations

from pathlib import Path

import click

from cybermiles_node.cli.output import CommandError, emit, json_option
from middleware.rules.check import check_file
from middleware.rules.errors import PositionedError, RulesError, SourceFileError


@click.group("rules")
def rules() -> None:
    """Work with rule sets of the native rules engine."""


@rules.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def rules_check(file: Path, json_output: bool) -> None:
    """Parse and type-check the rule file FILE; print OK with counts or the first error."""
    try:
        report = check_file(file)
    except RulesError as exc:
        details: dict[str, object] = {"file": str(file)}
        if isinstance(exc, PositionedError):
            details.update(line=exc.line, column=exc.column)
        message = str(exc) if isinstance(exc, SourceFileError) else f"{file}: {exc}"
        raise CommandError(message, as_json=json_output, details=details) from exc
    emit(
        json_output,
        {"file": report.path, "templates": report.templates, "rules": report.rules,
         "alphaNodes": report.alpha_nodes, "joinNodes": report.join_nodes},
        [report.summary()],
    )


def add_rules_commands(group: click.Group) -> None:
    """Register ``rules`` (and its ``check`` command) on the ``cmnode`` command group."""
    group.add_command(rules)
