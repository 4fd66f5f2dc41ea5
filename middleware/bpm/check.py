"""Offline checking of a definition file (``cmnode bpm check FILE``)."""
from __future__ import annotations

from pathlib import Path

from middleware.bpm.definition import MAX_DEFINITION_BYTES, Definition, parse_definition
from middleware.bpm.errors import DefinitionError


def check_file(path: Path) -> Definition:
    """Read and validate the definition in ``path``; raise ``DefinitionError`` naming the problem (not the file)."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_DEFINITION_BYTES + 1)
    except OSError as exc:
        raise DefinitionError("", f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_DEFINITION_BYTES:
        raise DefinitionError("", f"the file is larger than {MAX_DEFINITION_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError("", f"not UTF-8 text (byte {exc.start})") from None
    return parse_definition(text)


def summary(definition: Definition) -> dict[str, object]:
    """What a checked definition declares, for people and scripts."""
    states = definition.states
    return {
        "name": definition.name,
        "version": definition.version,
        "roles": list(definition.roles),
        "fields": {f.name: f.type.value for f in definition.fields},
        "start": definition.start,
        "states": len(states),
        "endStates": [s.name for s in states if s.end],
        "tasks": sum(len(s.tasks) for s in states),
        "transitions": sum(len(s.transitions) for s in states),
        "timers": sum(len(s.timers) for s in states),
    }
