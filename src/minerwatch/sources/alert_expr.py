"""The expression language of alert rules: a small, safe parser (no Python ``eval``).

Grammar (lowest precedence first)::

    expr    := or
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := sum (("<" | "<=" | ">" | ">=" | "==" | "!=") sum)?
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/") unary)*
    unary   := "-" unary | atom
    atom    := NUMBER | STRING | "true" | "false" | NAME | NAME "(" args ")" | "(" expr ")"

A NAME is a figure's key, dotted for nested objects (``hash_ribbons.state``,
``next_adjustment.change_pct_high``; a segment may contain ``-`` after its first
character, as ``production_cost_models.drm-fit-2015``). Functions and their arity are
fixed (:data:`FUNCTIONS`); whole-number day counts are literals. Every error is a
:class:`SyntaxProblem` with the column (1-based) of the token that failed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: name -> (arguments, which of them must be a whole number of days (literal))
FUNCTIONS: dict[str, tuple[int, tuple[int, ...]]] = {
    "pct_change": (2, (1,)),  # 100 * (x / x days ago - 1)
    "change": (2, (1,)),  # x - x days ago
    "min_over": (2, (1,)),  # least value over the last n days (today included)
    "max_over": (2, (1,)),
    "mean_over": (2, (1,)),
    "crossed_below": (2, ()),  # a < b today, a >= b the day before
    "crossed_above": (2, ()),
    "abs": (1, ()),
    "age_seconds": (1, ()),  # seconds since a time (tip): the data's staleness
}
COMPARISONS = ("<=", ">=", "==", "!=", "<", ">")

_TOKEN = re.compile(
    r"\s*(?:"
    r"(?P<number>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)"
    r"|(?P<string>\"[^\"]*\"|'[^']*')"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_][A-Za-z0-9_\-]*)*)"
    r"|(?P<op><=|>=|==|!=|<|>|\+|-|\*|/|\(|\)|,)"
    r")"
)


class SyntaxProblem(ValueError):
    """A rule expression that does not parse: ``column`` (1-based) of the failing token,
    ``token`` its text and ``reason``."""

    def __init__(self, reason: str, column: int, token: str) -> None:
        super().__init__(f"column {column}, at {token!r}: {reason}")
        self.reason, self.column, self.token = reason, column, token


@dataclass(frozen=True)
class Number:
    value: float


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Name:
    name: str
    column: int


@dataclass(frozen=True)
class Call:
    function: str
    args: tuple[Node, ...]
    column: int


@dataclass(frozen=True)
class Unary:
    op: str  # "-" or "not"
    operand: Node


@dataclass(frozen=True)
class Binary:
    op: str  # arithmetic, comparison, "and", "or"
    left: Node
    right: Node


Node = Number | Text | Name | Call | Unary | Binary


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    column: int


def _tokens(text: str) -> list[_Token]:
    out, i = [], 0
    while i < len(text):
        if text[i:].strip() == "":
            break
        m = _TOKEN.match(text, i)
        if not m or m.end() == i:
            start = len(text) - len(text[i:].lstrip())
            raise SyntaxProblem("unexpected character", start + 1, text[start])
        kind = m.lastgroup or ""
        value = m.group(kind)
        column = m.start(kind) + 1
        if kind == "name" and value in ("and", "or", "not", "true", "false"):
            kind = "word"
        out.append(_Token(kind, value, column))
        i = m.end()
    out.append(_Token("end", "end of the expression", len(text) + 1))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def accept(self, *texts: str) -> _Token | None:
        token = self.peek()
        if token.kind in ("op", "word") and token.text in texts:
            self.i += 1
            return token
        return None

    def expect(self, text: str) -> _Token:
        token = self.take()
        if token.text != text or token.kind not in ("op", "word"):
            raise SyntaxProblem(f"expected {text!r}", token.column, token.text)
        return token

    def parse(self) -> Node:
        node = self.or_()
        token = self.peek()
        if token.kind != "end":
            raise SyntaxProblem("expected an operator or the end", token.column, token.text)
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.accept("or"):
            node = Binary("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.accept("and"):
            node = Binary("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.accept("not"):
            return Unary("not", self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.sum()
        token = self.accept(*COMPARISONS)
        if token:
            node = Binary(token.text, node, self.sum())
            again = self.peek()
            if again.kind == "op" and again.text in COMPARISONS:
                raise SyntaxProblem(
                    "comparisons do not chain; join them with and", again.column, again.text
                )
        return node

    def sum(self) -> Node:
        node = self.product()
        while True:
            token = self.accept("+", "-")
            if not token:
                return node
            node = Binary(token.text, node, self.product())

    def product(self) -> Node:
        node = self.unary()
        while True:
            token = self.accept("*", "/")
            if not token:
                return node
            node = Binary(token.text, node, self.unary())

    def unary(self) -> Node:
        if self.accept("-"):
            return Unary("-", self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.take()
        if token.kind == "number":
            return Number(float(token.text))
        if token.kind == "string":
            return Text(token.text[1:-1])
        if token.kind == "word" and token.text in ("true", "false"):
            return Number(1.0 if token.text == "true" else 0.0)
        if token.kind == "op" and token.text == "(":
            node = self.or_()
            self.expect(")")
            return node
        if token.kind == "name":
            if self.accept("("):
                return self.call(token)
            return Name(token.text, token.column)
        raise SyntaxProblem("expected a number, a string, a name or (", token.column, token.text)

    def call(self, name: _Token) -> Node:
        if name.text not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise SyntaxProblem(
                f"unknown function; expected one of {known}", name.column, name.text
            )
        arity, whole = FUNCTIONS[name.text]
        args: list[Node] = []
        if not self.accept(")"):
            args.append(self.or_())
            while self.accept(","):
                args.append(self.or_())
            self.expect(")")
        if len(args) != arity:
            raise SyntaxProblem(
                f"{name.text} takes {arity} argument{'s' if arity > 1 else ''}, got {len(args)}",
                name.column,
                name.text,
            )
        for k in whole:
            arg = args[k]
            if not (isinstance(arg, Number) and arg.value == int(arg.value) and arg.value >= 1):
                raise SyntaxProblem(
                    f"argument {k + 1} of {name.text} must be a whole number of days >= 1",
                    name.column,
                    name.text,
                )
        return Call(name.text, tuple(args), name.column)


def parse_expression(text: str) -> Node:
    """The syntax tree of an expression; :class:`SyntaxProblem` naming the column and the
    token where it fails."""
    if not text.strip():
        raise SyntaxProblem("empty expression", 1, "")
    return _Parser(text).parse()


def names_in(node: Node) -> list[tuple[str, int]]:
    """Every figure name the expression reads, with its column."""
    if isinstance(node, Name):
        return [(node.name, node.column)]
    if isinstance(node, Call):
        return [n for a in node.args for n in names_in(a)]
    if isinstance(node, Unary):
        return names_in(node.operand)
    if isinstance(node, Binary):
        return names_in(node.left) + names_in(node.right)
    return []


DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_duration_s(text: str) -> float | None:
    """Seconds of a duration ``30m``, ``12h``, ``2d``, ``1w`` (``0`` allowed); None when
    it is not one."""
    text = str(text).strip()
    if text == "0":
        return 0.0
    m = DURATION.match(text)
    return float(m.group(1)) * _UNIT_S[m.group(2)] if m else None
