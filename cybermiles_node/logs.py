"""Log configuration of the node: levels per module, text or JSON lines, an optional rotated file.

``log_level`` is a default level and optional per-module levels, ``"info,consensus=debug,p2p=warning"``;
a module is a logger name (``consensus``, ``p2p``, ``rpc``, ``vm``, ``middleware``, ``cybermiles_node``,
``cmnode``) and covers the loggers under it. JSON lines carry ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message`` and, for a failure, ``exception``.
"""
from __future__ import annotations

import logging
import logging.handlers
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import orjson

from cybermiles_node.errors import ConfigError

LOG_LEVELS = ("debug", "info", "warning", "error")
TEXT_FORMAT = "%(asctime)s %(levelname)-5s %(name)s: %(message)s"
_MODULE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_MODULE_LEVELS = 64


@dataclass(frozen=True)
class LogLevels:
    """A default level and levels of named modules (``logging`` level numbers)."""

    default: int
    modules: tuple[tuple[str, int], ...] = ()


def _level(name: str, where: str) -> int:
    if name not in LOG_LEVELS:
        raise ConfigError(f"{where}: one of {', '.join(LOG_LEVELS)}, got {name!r}")
    return int(logging.getLevelName(name.upper()))


def parse_log_levels(spec: str, where: str = "log_level") -> LogLevels:
    """Parse ``"LEVEL[,MODULE=LEVEL]..."``; ``ConfigError`` naming ``where`` and the bad part."""
    default_part, *module_parts = spec.split(",")
    default = _level(default_part.strip(), where)
    if len(module_parts) > MAX_MODULE_LEVELS:
        raise ConfigError(f"{where}: at most {MAX_MODULE_LEVELS} module levels")
    modules: list[tuple[str, int]] = []
    for part in module_parts:
        module, equals, level = part.strip().partition("=")
        if not equals or not _MODULE.fullmatch(module):
            raise ConfigError(f"{where}: expected MODULE=LEVEL after the default level, got {part.strip()!r}")
        modules.append((module, _level(level.strip(), f"{where} ({module})")))
    return LogLevels(default, tuple(modules))


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (and exception)."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a JSON line."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, str] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def _formatter(log_format: str) -> logging.Formatter:
    return JsonLineFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(levels: LogLevels, log_format: str = "text", log_file: Path | None = None,
                      file_max_bytes: int = 100 * 1024 * 1024, file_backups: int = 5,
                      stream: TextIO | None = None) -> None:
    """Send the node's logs to ``stream`` (stderr) and, if given, to ``log_file`` rotated at ``file_max_bytes``
    keeping ``file_backups`` old files; replaces handlers set before."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.handlers.RotatingFileHandler(
            log_file, maxBytes=file_max_bytes, backupCount=file_backups, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(_formatter(log_format))
        root.addHandler(handler)
    root.setLevel(levels.default)
    for module, level in levels.modules:
        logging.getLogger(module).setLevel(level)
