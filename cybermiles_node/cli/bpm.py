"""``cmnode bpm check FILE``: validate a BPM process definition offline.

Prints what the definition declares, or the exact place of its first problem
(``states.shipped.transitions[1].guard: unknown field 'amout'``) and exits 1.
"""
from __future__ import annotations

from pathlib import Path

import click

from cybermiles_node.cli.output import CommandError, emit, json_option, reporting_errors
from middleware.bpm.check import check_file, summary
from middleware.bpm.errors import DefinitionError


@click.group("bpm")
def bpm() -> None:
    """Work with BPM process definitions (workflows)."""


@bpm.command("check")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def bpm_check(file: Path, json_output: bool) -> None:
    """Validate the process definition in FILE (JSON)."""
    with reporting_errors(json_output, ()):
        try:
            definition = check_file(file)
        except DefinitionError as exc:
            raise CommandError(f"{file}: {exc}", details={"path": exc.path}) from exc
    facts = summary(definition)
    ends = [state.name for state in definition.states if state.end]
    emit(
        json_output,
        {"file": str(file), "valid": True, **facts},
        [
            f"{file}: valid process '{definition.name}' version {definition.version}",
            f"  roles        {', '.join(definition.roles)}",
            f"  data fields  {', '.join(f'{f.name}:{f.type.value}' for f in definition.fields) or 'none'}",
            f"  states       {facts['states']} (start '{definition.start}', end: {', '.join(ends)})",
            f"  transitions  {facts['transitions']} ({facts['timers']} timers)",
        ],
    )


def add_bpm_commands(cli: click.Group) -> None:
    """Register ``cmnode bpm`` on the top-level command group."""
    cli.add_command(bpm)
