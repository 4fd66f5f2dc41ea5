"""The schema of ``config.toml``, declared by the settings dataclasses themselves.

A section of ``config.toml`` is a frozen dataclass; each field is a setting whose
TOML key is its name, its type the annotation, and its default the field default.
A field's ``metadata`` may refine it (plain keys, so that the packages' own config
types, which must not import the node, can declare them):

* ``"toml"``: the key in ``config.toml`` when it differs from the name; ``None``: not a
  setting (the node fills it from the genesis document or elsewhere);
* ``"range"``: ``(low, high)`` of an integer or number;
* ``"choices"``: the strings allowed;
* ``"flatten"``: a dataclass field whose settings sit in the same table;
* ``"section"``: on the root, the table a field's settings sit in (default: its name);
* ``"omit_default"``: on the root, a section written only when it differs from its default;
* ``"parse"`` / ``"render"``: functions that read (``(value, where) -> field value``)
  and write (``field value -> TOML value``) a setting of a shape of its own.

Types understood: ``bool``, ``int``, ``float``, ``str``, ``tuple[str, ...]``, a class
with ``parse(text, where)`` and ``str()`` (such as a listen address), a nested
dataclass (a sub-table) and ``X | None`` (absent means the default).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from cybermiles_node.errors import ConfigError
from cybermiles_node.mempool.errors import MempoolConfigError
from p2p.errors import P2PConfigError

#: Bounds of an integer setting that declares no ``range``.
DEFAULT_INTEGER_RANGE = (1, 2**31 - 1)
#: Bounds of a number (float) setting that declares no ``range``.
DEFAULT_NUMBER_RANGE = (0.0, 1e9)

TomlTable = dict[str, Any]
#: What the settings types raise when their values do not fit together.
SETTINGS_ERRORS: tuple[type[Exception], ...] = (MempoolConfigError, P2PConfigError)


def toml_key(spec: dataclasses.Field[Any]) -> str | None:
    """The key of a field in ``config.toml`` (None: not a setting)."""
    return spec.metadata.get("toml", spec.name) if not spec.metadata.get("flatten") else spec.name


def settings_of(cls: type) -> Iterator[tuple[dataclasses.Field[Any], Any]]:
    """The fields of the dataclass ``cls`` that are settings (or flattened groups of them), with their types."""
    hints = typing.get_type_hints(cls)
    for spec in dataclasses.fields(cls):
        if spec.metadata.get("flatten") or spec.metadata.get("toml", spec.name) is not None:
            yield spec, hints[spec.name]


def integer_range(spec: dataclasses.Field[Any]) -> tuple[int, int]:
    """The bounds of an integer setting."""
    low, high = spec.metadata.get("range", DEFAULT_INTEGER_RANGE)
    return int(low), int(high)


def parse_table(cls: type, table: Mapping[str, Any], where: str) -> Any:
    """An instance of the dataclass ``cls`` from the TOML ``table``; ``ConfigError`` naming ``where.key``.

    Keys the dataclass does not declare are errors; absent keys keep their defaults.
    """
    remaining = dict(table)
    instance = _parse_fields(cls, remaining, where)
    if remaining:
        raise ConfigError(f"{where}: unknown setting {sorted(remaining)[0]!r}")
    return instance


def _parse_fields(cls: type, remaining: TomlTable, where: str) -> Any:
    values: dict[str, Any] = {}
    for spec, kind in settings_of(cls):
        if spec.metadata.get("flatten"):
            values[spec.name] = _parse_fields(kind, remaining, where)
            continue
        key = toml_key(spec)
        assert key is not None
        if key not in remaining:
            continue
        value = remaining.pop(key)
        parse: Callable[[Any, str], Any] | None = spec.metadata.get("parse")
        values[spec.name] = parse(value, f"{where}.{key}") if parse else _parse_value(spec, kind, value, where, key)
    try:
        return cls(**values)
    except SETTINGS_ERRORS as exc:  # the type's own cross-field checks
        raise ConfigError(f"{where}: {exc}") from None


def _parse_value(spec: dataclasses.Field[Any], kind: Any, value: Any, where: str, key: str) -> Any:
    here = f"{where}.{key}"
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        (kind,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
    if kind is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{here}: must be true or false, got {value!r}")
        return value
    if kind is int:
        low, high = integer_range(spec)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(f"{here}: must be an integer in {low}..{high}, got {value!r}")
        return value
    if kind is float:
        low_f, high_f = spec.metadata.get("range", DEFAULT_NUMBER_RANGE)
        if (isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
                or not low_f <= value <= high_f):
            raise ConfigError(f"{here}: must be a number in {low_f:g}..{high_f:g}, got {value!r}")
        return float(value)
    if kind is str:
        if not isinstance(value, str):
            raise ConfigError(f"{here}: must be a string, got {value!r}")
        choices = spec.metadata.get("choices")
        if choices is not None and value not in choices:
            raise ConfigError(f"{here}: one of {', '.join(choices)}, got {value!r}")
        return value
    if typing.get_origin(kind) is tuple:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{here}: must be a list of strings")
        return tuple(value)
    if dataclasses.is_dataclass(kind) and not hasattr(kind, "parse"):
        if not isinstance(value, dict):
            raise ConfigError(f"{here}: must be a table")
        return parse_table(kind, value, here)
    if not isinstance(value, str):
        raise ConfigError(f"{here}: must be a string, got {value!r}")
    return kind.parse(value, here)


def render_table(instance: Any) -> TomlTable:
    """The TOML table of a settings dataclass: every setting, those that are None left out."""
    table: TomlTable = {}
    for spec, _kind in settings_of(type(instance)):
        value = getattr(instance, spec.name)
        if spec.metadata.get("flatten"):
            table.update(render_table(value))
            continue
        key = toml_key(spec)
        assert key is not None
        render: Callable[[Any], Any] | None = spec.metadata.get("render")
        rendered = render(value) if render else render_value(value)
        if rendered is not None:
            table[key] = rendered
    return table


def render_value(value: Any) -> Any:
    """A setting's value as TOML: tuples as arrays, dataclasses as tables, addresses as their text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple):
        return list(value)
    if dataclasses.is_dataclass(value) and not hasattr(value, "parse"):
        return render_table(value)
    return str(value)


def parse_root(cls: type, data: Mapping[str, Any], source: str) -> Any:
    """The root settings dataclass ``cls`` (a field per section) from a parsed ``config.toml``."""
    remaining = dict(data)
    tables: dict[str, TomlTable] = {}
    for spec, _kind in settings_of(cls):
        section = spec.metadata.get("section", spec.name)
        if section not in tables:
            value = remaining.pop(section, {})
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{section}] must be a table")
            tables[section] = dict(value)
    if remaining:
        raise ConfigError(f"{source}: unknown setting {sorted(remaining)[0]!r}")
    values: dict[str, Any] = {}
    for spec, kind in settings_of(cls):
        section = spec.metadata.get("section", spec.name)
        where = f"{source}: {section}"
        table = tables[section]
        parse: Callable[[Any, str], Any] | None = spec.metadata.get("parse")
        if "section" not in spec.metadata:  # a section of its own: the parser takes what it reads
            values[spec.name] = parse(table, where) if parse else _parse_fields(kind, table, where)
        elif spec.metadata.get("flatten"):
            values[spec.name] = _parse_fields(kind, table, where)
        elif spec.name in table:
            value = table.pop(spec.name)
            here = f"{where}.{spec.name}"
            values[spec.name] = parse(value, here) if parse else _parse_value(spec, kind, value, where, spec.name)
    for section, table in tables.items():
        if table:
            raise ConfigError(f"{source}: {section}: unknown setting {sorted(table)[0]!r}")
    return cls(**values)


def render_root(instance: Any, *, every_section: bool = False) -> TomlTable:
    """The ``config.toml`` document of the root settings ``instance``; sections marked ``omit_default``
    are left out while they hold their default, unless ``every_section``."""
    document: TomlTable = {}
    for spec, kind in settings_of(type(instance)):
        value = getattr(instance, spec.name)
        section = spec.metadata.get("section", spec.name)
        table = document.setdefault(section, {})
        if "section" not in spec.metadata:
            if spec.metadata.get("omit_default") and not every_section and value == kind():
                del document[section]
                continue
            render: Callable[[Any], Any] | None = spec.metadata.get("render")
            table.update(render(value) if render else render_table(value))
        elif spec.metadata.get("flatten"):
            table.update(render_table(value))
        elif value is not None:
            table[spec.name] = render_value(value)
    return document
