"""Strict types of command-line values: numbers of ASCII digits, ``HOST:PORT`` addresses.

Python's ``int()`` and ``float()`` accept other scripts' digits (``'٣'``), and
``float()`` accepts ``inf`` and ``nan``; the types here accept plain ASCII
decimal text only, so what a command runs with is what its user typed. A value
that does not fit is a usage error naming the option (exit code 2).
"""
from __future__ import annotations

import re

import click

from cybermiles_node.config import Address
from cybermiles_node.errors import ConfigError

#: Digits of the longest integer an option takes (a 256-bit value has 78).
MAX_INTEGER_DIGITS = 78
_INTEGER = re.compile(rf"[+-]?[0-9]{{1,{MAX_INTEGER_DIGITS}}}")
_DECIMAL = re.compile(r"[+-]?[0-9]{1,15}(?:\.[0-9]{1,15})?")


class AsciiIntRange(click.IntRange):
    """An integer written in ASCII decimal digits, within the range given as for ``click.IntRange``."""

    name = "integer"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        """The integer of ``value``; a usage error when it is not ASCII decimal or out of range."""
        if isinstance(value, str) and not _INTEGER.fullmatch(value.strip()):
            self.fail(f"{value!r} is not an integer of ASCII digits 0-9.", param, ctx)
        return super().convert(value, param, ctx)


class AsciiFloatRange(click.FloatRange):
    """A finite decimal number (``12`` or ``0.5``, ASCII digits), within the range given as for ``click.FloatRange``."""

    name = "number"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> object:
        """The number of ``value``; a usage error when it is not plain ASCII decimal or out of range."""
        if isinstance(value, str) and not _DECIMAL.fullmatch(value.strip()):
            self.fail(f"{value!r} is not a decimal number of ASCII digits (like 12 or 0.5).", param, ctx)
        return super().convert(value, param, ctx)


class HostPort(click.ParamType):
    """A listening address ``HOST:PORT`` (an IPv6 host in brackets), as an :class:`Address`."""

    name = "host:port"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> Address:
        """The address of ``value``; a usage error naming what is wrong with it."""
        if isinstance(value, Address):
            return value
        try:
            return Address.parse(value if isinstance(value, str) else repr(value), "address")
        except ConfigError as exc:
            self.fail(str(exc).removeprefix("address: "), param, ctx)


class Host(click.ParamType):
    """A host to listen on: a host name, an IPv4 address or an IPv6 address (brackets optional)."""

    name = "host"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str:
        """The host of ``value``; a usage error when it is none of those."""
        text = value if isinstance(value, str) else repr(value)
        bracketed = f"[{text}]" if ":" in text and not text.startswith("[") else text
        try:
            return Address.parse(f"{bracketed}:1", "host").host
        except ConfigError:
            self.fail(f"expected a host name, an IPv4 address or an IPv6 address, got {text!r}", param, ctx)


#: The ``HOST:PORT`` type of ``--rpc-addr``, ``--p2p-addr`` and the like.
HOST_PORT = HostPort()
#: The host type of ``--rpc-host``.
HOST = Host()
