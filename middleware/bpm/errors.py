"""Errors of the BPM workflow engine; ``BpmError`` is the root."""
from __future__ import annotations


class BpmError(Exception):
    """Root of every error raised by the ``middleware.bpm`` package."""


class DefinitionError(BpmError):
    """A process definition that is malformed or inconsistent.

    ``path`` locates the problem inside the definition document, as keys and
    list indices joined by dots (``states.shipped.transitions[1].guard``); it is
    empty for problems of the document as a whole (a JSON syntax error, which
    carries its line and column in the message instead).
    """

    def __init__(self, path: str, message: str) -> None:
        """Record where (``path``) and what (``message``)."""
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class InstanceError(BpmError):
    """An operation on a process instance that the definition does not allow."""


class RoleError(InstanceError):
    """A caller not bound to the role a task requires, or role bindings that do not fit the definition."""


class DataError(InstanceError):
    """Instance data of the wrong field, type or size."""


class GuardError(InstanceError):
    """A guard that could not be evaluated (a runtime error of the expression, or its gas ran out)."""


class NoTransitionError(InstanceError):
    """A task completion for which no transition's guard holds: the instance stays where it is."""


class RecordError(BpmError):
    """Stored bytes that are not a record of the expected shape (a corrupted state)."""
