"""Output of the developer commands: readable lines for people, ``--json`` for scripts.

A command builds one result mapping and a few readable lines; :func:`emit`
prints one or the other. Expected failures are raised as the project's typed
exceptions and turned by :func:`reporting_errors` into a one-line message (or
a JSON ``{"error": ...}`` object on stdout in JSON mode) and exit code 1, never
a traceback.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import click

#: Option shared by every developer command.
json_option = click.option(
    "--json", "json_output", is_flag=True, help="Print one JSON object for scripts instead of text."
)


class CommandError(click.ClickException):
    """A failed command: shown as ``Error: <message>`` or as a JSON error object."""

    exit_code = 1

    def __init__(self, message: str, *, as_json: bool = False, details: Mapping[str, Any] | None = None) -> None:
        """``details`` (e.g. a revert reason) are added to the JSON error object."""
        super().__init__(message)
        self.as_json = as_json
        self.details = dict(details or {})

    def show(self, file: IO[Any] | None = None) -> None:
        """Print the error to stderr, or as JSON to stdout in JSON mode."""
        if self.as_json:
            click.echo(json.dumps({"error": {"message": self.message, **jsonable(self.details)}}))
        else:
            super().show(file)


def emit(json_output: bool, result: Mapping[str, Any], lines: Iterable[str]) -> None:
    """Print ``result`` as one JSON object when ``json_output``, else the readable ``lines``."""
    if json_output:
        click.echo(json.dumps(jsonable(result)))
    else:
        for line in lines:
            click.echo(line)


def note(json_output: bool, message: str) -> None:
    """Print a progress message to stderr in readable mode; nothing in JSON mode."""
    if not json_output:
        click.echo(message, err=True)


def progress_note(json_output: bool) -> Callable[[str], None]:
    """A progress callback that prints with :func:`note` (nothing in JSON mode)."""
    return functools.partial(note, json_output)


def jsonable(value: Any) -> Any:
    """Convert ``value`` for JSON: bytes to 0x hex, tuples to lists, integers kept exact."""
    if isinstance(value, (bytes, bytearray)):
        return "0x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return value


@contextmanager
def reporting_errors(
    json_output: bool, expected: tuple[type[Exception], ...]
) -> Iterator[None]:
    """Turn ``expected`` exceptions raised inside into a :class:`CommandError`.

    An exception with a ``revert_reason`` attribute carries it into the JSON
    error object.
    """
    try:
        yield
    except CommandError as exc:
        exc.as_json = json_output
        raise
    except expected as exc:
        details: dict[str, Any] = {}
        reason = getattr(exc, "revert_reason", None)
        if reason is not None:
            details["revertReason"] = reason
        raise CommandError(str(exc), as_json=json_output, details=details) from exc
