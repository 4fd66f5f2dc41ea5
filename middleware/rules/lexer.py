"""Tokens of the rule language, and a cursor over them for the recursive-descent parsers.

Token kinds: ``ident`` (names and keywords: keywords are recognised by the
parser where the grammar expects them), ``var`` (``$name``), ``int``
(decimal, or ``0x`` hex of other than 40 digits), ``address`` (``0x`` and
exactly 40 hex digits), ``string`` (double-quoted, escapes ``\\" \\\\ \\n \\t``),
``op`` (punctuation) and ``eof``. ``//`` starts a comment to the end of the
line. Lines and columns are 1-based; a tab counts as one column.
"""
from __future__ import annotations

from dataclasses import dataclass

from middleware.rules.errors import RuleLimitError, RuleSyntaxError
from middleware.rules.values import MAX_STRING_BYTES

#: Largest source text accepted (characters).
MAX_SOURCE_CHARS = 64 * 1024
#: Two-character operators first, so ``<=`` is not read as ``<`` then ``=``.
OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "(", ")", "{", "}", ",", ";", ":", ".", "<", ">",
             "+", "-", "*", "/", "%", "=", "!")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}
_HEX = set("0123456789abcdefABCDEF")


@dataclass(frozen=True)
class Token:
    """One token: its kind, its text (a string literal's decoded value) and where it starts."""

    kind: str
    text: str
    line: int
    column: int

    def describe(self) -> str:
        """How an error message shows this token."""
        if self.kind == "eof":
            return "end of input"
        if self.kind == "string":
            return "string literal"
        return f"'{self.text}'"


def tokenize(source: str) -> list[Token]:
    """The tokens of ``source``, ending with an ``eof`` token; raises RuleSyntaxError at the first bad character."""
    if len(source) > MAX_SOURCE_CHARS:
        raise RuleLimitError(f"source of {len(source)} characters exceeds the limit of {MAX_SOURCE_CHARS}")
    tokens: list[Token] = []
    index, line, line_start = 0, 1, 0
    length = len(source)
    while True:
        while index < length:
            char = source[index]
            if char == "\n":
                line, line_start = line + 1, index + 1
                index += 1
            elif char in " \t\r":
                index += 1
            elif source.startswith("//", index):
                while index < length and source[index] != "\n":
                    index += 1
            else:
                break
        column = index - line_start + 1
        if index >= length:
            tokens.append(Token("eof", "", line, column))
            return tokens
        char = source[index]
        start = index
        if char.isascii() and (char.isalpha() or char == "_"):
            while index < length and source[index].isascii() and (source[index].isalnum() or source[index] == "_"):
                index += 1
            tokens.append(Token("ident", source[start:index], line, column))
        elif char == "$":
            index += 1
            while index < length and source[index].isascii() and (source[index].isalnum() or source[index] == "_"):
                index += 1
            if index == start + 1 or source[start + 1].isdigit():
                raise RuleSyntaxError("expected a name after '$'", line, column)
            tokens.append(Token("var", source[start:index], line, column))
        elif char.isascii() and char.isdigit():
            tokens.append(_number(source, start, line, column))
            index = start + len(tokens[-1].text)
        elif char == '"':
            token, index = _string(source, start, line, column)
            tokens.append(token)
        else:
            operator = next((op for op in OPERATORS if source.startswith(op, index)), None)
            if operator is None:
                raise RuleSyntaxError(f"unexpected character {char!r}", line, column)
            index += len(operator)
            tokens.append(Token("op", operator, line, column))


def _number(source: str, start: int, line: int, column: int) -> Token:
    index = start
    if source.startswith(("0x", "0X"), start):
        index += 2
        while index < len(source) and source[index] in _HEX:
            index += 1
        digits = index - start - 2
        if digits == 0:
            raise RuleSyntaxError("expected hex digits after '0x'", line, column)
        kind = "address" if digits == 40 else "int"
    else:
        while index < len(source) and source[index].isascii() and source[index].isdigit():
            index += 1
        kind = "int"
    if index < len(source) and source[index].isascii() and (source[index].isalpha() or source[index] == "_"):
        raise RuleSyntaxError(f"unexpected character {source[index]!r} in number", line, column + index - start)
    return Token(kind, source[start:index], line, column)


def _string(source: str, start: int, line: int, column: int) -> tuple[Token, int]:
    index, chars = start + 1, []
    while True:
        if index >= len(source) or source[index] == "\n":
            raise RuleSyntaxError("unterminated string literal", line, column)
        char = source[index]
        if char == '"':
            break
        if char == "\\":
            escaped = source[index + 1] if index + 1 < len(source) else ""
            if escaped not in _ESCAPES:
                raise RuleSyntaxError(f"unknown escape '\\{escaped}' in string literal", line,
                                      column + index - start)
            chars.append(_ESCAPES[escaped])
            index += 2
        else:
            chars.append(char)
            index += 1
    text = "".join(chars)
    if len(text.encode()) > MAX_STRING_BYTES:
        raise RuleLimitError(f"line {line}, column {column}: string literal longer than {MAX_STRING_BYTES} bytes")
    return Token("string", text, line, column), index + 1


class TokenStream:
    """A cursor over tokens with the expect/accept helpers of a recursive-descent parser."""

    def __init__(self, tokens: list[Token]) -> None:
        """Start at the first of ``tokens`` (which ends with ``eof``)."""
        self._tokens = tokens
        self._index = 0

    @property
    def current(self) -> Token:
        """The next unread token."""
        return self._tokens[self._index]

    def peek(self) -> Token:
        """The token after the current one (``eof`` at the end)."""
        return self._tokens[min(self._index + 1, len(self._tokens) - 1)]

    def advance(self) -> Token:
        """Consume and return the current token."""
        token = self._tokens[self._index]
        if token.kind != "eof":
            self._index += 1
        return token

    def at(self, kind: str, text: str | None = None) -> bool:
        """Whether the current token has ``kind`` (and ``text``, when given)."""
        token = self.current
        return token.kind == kind and (text is None or token.text == text)

    def at_keyword(self, word: str) -> bool:
        """Whether the current token is the keyword ``word``."""
        return self.at("ident", word)

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        """Consume the current token if it matches, else leave it."""
        return self.advance() if self.at(kind, text) else None

    def expect(self, kind: str, text: str | None, context: str) -> Token:
        """Consume a matching token or raise ``expected <what> <context>, found <token>``."""
        if self.at(kind, text):
            return self.advance()
        wanted = f"'{text}'" if text is not None else _KIND_NAMES.get(kind, kind)
        raise self.error(f"expected {wanted} {context}")

    def error(self, message: str, token: Token | None = None) -> RuleSyntaxError:
        """A syntax error at ``token`` (default: the current one) ending in ``, found <token>``."""
        token = token or self.current
        return RuleSyntaxError(f"{message}, found {token.describe()}", token.line, token.column)


_KIND_NAMES = {"ident": "a name", "var": "a binding ($name)", "int": "an integer", "string": "a string",
               "address": "an address", "eof": "end of input"}
