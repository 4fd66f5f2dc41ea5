"""Calls that can be stopped part-way: checkpoints in the opcode loop of an ``eth_call``.

A call over RPC runs code nobody vetted (``JUMPDEST PUSH1 0 JUMP`` loops until
its gas runs out, which at a 30M gas cap takes seconds of interpreter time).
Inside ``checkpoints(checkpoint)`` every code stream created on this thread
calls ``checkpoint()`` once per ``CHECK_EVERY`` opcodes; the checkpoint may
pause (to let block work go first) or raise ``CallInterrupted`` (a deadline),
which unwinds every frame of the call: py-evm turns only its own ``VMError``
into a failed frame, so any other exception leaves the computation.

Block execution never enters ``checkpoints``: its streams iterate exactly as
py-evm's do, and a block is never cut short.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from eth.vm.opcode_values import STOP

from vm.code_analysis import AnalysedCodeStream
from vm.errors import VMError

CHECK_EVERY = 1024
"""Opcodes between two checkpoints: a few milliseconds of interpretation at most."""

Checkpoint = Callable[[], None]
"""Called in the opcode loop of a guarded call; raises ``CallInterrupted`` to stop it."""


class CallInterrupted(VMError):
    """A call stopped at a checkpoint (its deadline passed); nothing it did is kept."""


_local = threading.local()


@contextmanager
def checkpoints(checkpoint: Checkpoint) -> Iterator[None]:
    """Guard the calls this thread runs inside the block with ``checkpoint``."""
    previous = getattr(_local, "checkpoint", None)
    _local.checkpoint = checkpoint
    try:
        yield
    finally:
        _local.checkpoint = previous


class InterruptibleCodeStream(AnalysedCodeStream):
    """A code stream that calls the thread's checkpoint every ``CHECK_EVERY`` opcodes."""

    __slots__ = ["_checkpoint"]

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        self._checkpoint: Checkpoint | None = getattr(_local, "checkpoint", None)

    def __iter__(self) -> Iterator[int]:
        checkpoint = self._checkpoint
        if checkpoint is None:
            yield from super().__iter__()
            return
        code = self._raw_code_bytes
        length = len(code)
        countdown = CHECK_EVERY
        while True:
            # The opcode that runs may move the counter (PUSH reads its data, JUMP sets it).
            position = self.program_counter
            if position >= length:
                break
            self.program_counter = position + 1
            countdown -= 1
            if not countdown:
                countdown = CHECK_EVERY
                checkpoint()
            yield code[position]
        yield STOP
