"""The run search language: filter and order-by text in, ``modelyard.domain.search`` records out.

Why hand-written: the language is small, and a tokenizer plus a recursive-descent parser lets
every error name its column and show a caret under it, which a user fixing a filter typed into a
UI or a CLI needs far more than a generic "syntax error". No user text is ever evaluated or
turned into SQL; the parser only builds frozen records, and the store binds their values.

Grammar (keywords are case-insensitive)::

    expr       := or
    or         := and ('OR' and)*
    and        := unary ('AND' unary)*
    unary      := 'NOT' unary | '(' expr ')' | comparison
    comparison := identifier op value
                | identifier ('IN' | 'NOT' 'IN') '(' value (',' value)* ')'
                | identifier 'IS' ['NOT'] 'NULL'
    op         := '=' | '==' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | 'LIKE' | 'ILIKE'
    identifier := prefix '.' key | attribute          (a bare attribute name, as MLflow allows)
    prefix     := metrics | metric | params | param | tags | tag | attributes | attribute | attr | run
    key        := letters, digits and _ - . / :  |  `backtick quoted`  |  "double quoted"
    value      := number | 'single quoted' | "double quoted"
    order_by   := identifier ['ASC' | 'DESC']

In quoted text ``\\\\``, ``\\'``, ``\\"`` and a doubled quote stand for the character; any other
backslash is kept as written, so LIKE escapes such as ``'val\\_%'`` and Windows paths survive.

Type rules: metrics and numeric attributes compare with numbers (``= != < <= > >= IN NOT IN``);
params, tags and string attributes compare with strings (``= != LIKE ILIKE IN NOT IN``); any
identifier takes ``IS NULL`` / ``IS NOT NULL`` (the run lacks / has the key).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from modelyard.domain.search import (
    ATTRIBUTES,
    NUMERIC_ATTRIBUTES,
    And,
    Comparison,
    Entity,
    Expr,
    Not,
    Op,
    Or,
    OrderBy,
    Value,
)
from modelyard.domain.tracking import LifecycleStage, RunStatus
from modelyard.errors import InvalidInput

__all__ = ["MAX_DEPTH", "MAX_FILTER_TERMS", "MAX_FILTER_VALUES", "MAX_ORDER_KEYS", "parse_filter", "parse_order_by"]

MAX_DEPTH = 64
"""How deeply parentheses and NOT may nest: a bound on recursion, far above any real filter."""
MAX_FILTER_TERMS = 100
"""Comparisons in one filter: each is one probe per candidate run, so a bound on a search's cost
(and below SQLite's expression-depth limit of 1,000, which a long AND chain would hit)."""
MAX_FILTER_VALUES = 1000
"""Values in one filter, IN lists included: each is a bound parameter."""
MAX_ORDER_KEYS = 10
"""Order-by clauses in one search: each keyed clause is one more join."""
MAX_TEXT_LENGTH = 100_000

_PREFIXES: dict[str, Entity] = {
    "metrics": Entity.METRIC,
    "metric": Entity.METRIC,
    "params": Entity.PARAM,
    "param": Entity.PARAM,
    "tags": Entity.TAG,
    "tag": Entity.TAG,
    "attributes": Entity.ATTRIBUTE,
    "attribute": Entity.ATTRIBUTE,
    "attr": Entity.ATTRIBUTE,
    "run": Entity.ATTRIBUTE,
}
# MLflow's spellings of run attributes, so filters written for MLflow keep working.
_ATTRIBUTE_ALIASES: dict[str, str] = {
    "name": "run_name",
    "run name": "run_name",
    "user_id": "user",
    "created": "start_time",
}
_ALLOWED_VALUES: dict[str, tuple[str, ...]] = {
    "status": tuple(s.value for s in RunStatus),
    "lifecycle_stage": tuple(s.value for s in LifecycleStage),
}
_OPERATORS: dict[str, Op] = {
    "==": Op.EQ,
    "!=": Op.NE,
    "<>": Op.NE,
    "<=": Op.LE,
    ">=": Op.GE,
    "=": Op.EQ,
    "<": Op.LT,
    ">": Op.GT,
}  # two-character operators first: the tokenizer takes the first that matches
_NUMERIC_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE, Op.IN, Op.NOT_IN, Op.IS_NULL, Op.IS_NOT_NULL})
_STRING_OPS = frozenset({Op.EQ, Op.NE, Op.LIKE, Op.ILIKE, Op.IN, Op.NOT_IN, Op.IS_NULL, Op.IS_NOT_NULL})
_KEY_PUNCTUATION = "_.-/:"
_DIGITS = "0123456789"


def parse_filter(text: str | None) -> Expr | None:
    """Parse a filter string; ``None`` or blank text means "no filter".

    Raises ``InvalidInput`` naming the problem and its column (a 0-based character offset), with
    the text and a caret under the offending spot on the lines below.
    """
    if text is None or not text.strip():
        return None
    _check_text(text, "filter")
    parser = _Parser(text, "filter")
    expr = parser.expr(0)
    token = parser.current
    if token.kind is _Kind.RPAREN:
        parser.fail(token.pos, "unbalanced parentheses: this ')' closes nothing")
    if token.kind is not _Kind.END:
        parser.fail(token.pos, f"expected AND, OR or the end of the filter, got {parser.describe(token)}")
    return expr


def parse_order_by(clauses: Sequence[str] | None) -> tuple[OrderBy, ...]:
    """Parse order-by clauses such as ``"metrics.auc DESC"``; the direction defaults to ASC."""
    if clauses is None:
        return ()
    if isinstance(clauses, str):  # a lone string would otherwise be read one character at a time
        clauses = [clauses]
    if len(clauses) > MAX_ORDER_KEYS:
        raise InvalidInput(f"order_by has {len(clauses)} clauses; a search sorts on at most {MAX_ORDER_KEYS}")
    return tuple(_order_by(clause) for clause in clauses)


def _check_text(text: object, what: str) -> None:
    if not isinstance(text, str):
        raise InvalidInput(f"the {what} must be text, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise InvalidInput(f"the {what} is {len(text):,} characters; the limit is {MAX_TEXT_LENGTH:,}")
    nul = text.find("\x00")
    if nul >= 0:
        _fail(text, what, nul, "a NUL byte cannot be stored or compared; remove it")


def _order_by(clause: str) -> OrderBy:
    _check_text(clause, "order_by")
    parser = _Parser(clause, "order_by")
    if parser.current.kind is _Kind.END:
        parser.fail(0, "empty clause: write <prefix>.<key> [ASC|DESC], such as metrics.auc DESC")
    entity, key, _ = parser.identifier()
    ascending = True
    if parser.keyword("asc", "desc"):
        ascending = str(parser.advance().value).lower() == "asc"
    token = parser.current
    if token.kind is not _Kind.END:
        parser.fail(token.pos, f"expected ASC, DESC or the end of the clause, got {parser.describe(token)}")
    return OrderBy(entity=entity, key=key, ascending=ascending)


class _Kind(enum.Enum):
    WORD = "word"  # a keyword, a bare attribute name or prefix.key
    QUOTED_KEY = "quoted key"  # prefix.`key` or prefix."key"; ``prefix`` holds the prefix
    NUMBER = "number"
    STRING = "string"
    OP = "operator"
    LPAREN = "("
    RPAREN = ")"
    COMMA = ","
    END = "end"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    pos: int
    text: str  # exactly as written, for messages
    value: str | float  # decoded: the word, string contents, number, operator or quoted key
    prefix: str = ""


def _fail(source: str, what: str, pos: int, message: str) -> NoReturn:
    shown = "".join(" " if ch in "\t\r\n\f\v" else ch for ch in source)  # keeps the caret aligned
    raise InvalidInput(f"invalid {what} at column {pos}: {message}\n  {shown}\n  {' ' * pos}^", column=pos, text=source)


def _is_key_char(ch: str) -> bool:
    return ch.isalnum() or ch in _KEY_PUNCTUATION


def _tokenize(source: str, what: str) -> list[_Token]:
    tokens: list[_Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            kind = {"(": _Kind.LPAREN, ")": _Kind.RPAREN, ",": _Kind.COMMA}[ch]
            tokens.append(_Token(kind, i, ch, ch))
            i += 1
        elif op := next((o for o in _OPERATORS if source.startswith(o, i)), None):
            tokens.append(_Token(_Kind.OP, i, op, op))
            i += len(op)
        elif ch in "'\"":
            value, end = _read_quoted(source, what, i)
            tokens.append(_Token(_Kind.STRING, i, source[i:end], value))
            i = end
        elif ch in _DIGITS or (ch in "+-." and _starts_number(source, i)):
            number, end = _read_number(source, what, i)
            tokens.append(_Token(_Kind.NUMBER, i, source[i:end], number))
            i = end
        elif ch.isalpha() or ch == "_":
            end = i
            while end < n and _is_key_char(source[end]):
                end += 1
            word = source[i:end]
            if word.endswith(".") and end < n and source[end] in '`"':
                key, end = _read_quoted(source, what, end)
                tokens.append(_Token(_Kind.QUOTED_KEY, i, source[i:end], key, prefix=word[:-1]))
            else:
                tokens.append(_Token(_Kind.WORD, i, word, word))
            i = end
        else:
            _fail(source, what, i, f"unexpected character {ch!r}")
    tokens.append(_Token(_Kind.END, n, "", ""))
    return tokens


def _read_quoted(source: str, what: str, start: int) -> tuple[str, int]:
    """Decode the quoted text opening at ``start``; returns it and the offset after the quote."""
    quote = source[start]
    out: list[str] = []
    i, n = start + 1, len(source)
    while i < n:
        ch = source[i]
        if ch == "\\" and i + 1 < n:
            nxt = source[i + 1]
            out.append(nxt if nxt in "\\'\"`" else ch + nxt)
            i += 2
        elif ch == quote and source.startswith(quote * 2, i):
            out.append(quote)
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    _fail(source, what, start, f"unterminated quoted text: no closing {quote}")


def _starts_number(source: str, i: int) -> bool:
    rest = source[i + 1 : i + 3] if source[i] in "+-" else source[i : i + 2]
    return bool(rest) and (rest[0] in _DIGITS or (rest[0] == "." and rest[1:2] in tuple(_DIGITS)))


def _read_number(source: str, what: str, start: int) -> tuple[float, int]:
    n = len(source)
    i = start + 1 if source[start] in "+-" else start

    def digits(j: int) -> int:
        while j < n and source[j] in _DIGITS:
            j += 1
        return j

    i = digits(i)
    if i < n and source[i] == ".":
        i = digits(i + 1)
    if i < n and source[i] in "eE":
        j = i + 2 if source[i + 1 : i + 2] in ("+", "-") else i + 1
        if source[j : j + 1] in tuple(_DIGITS):
            i = digits(j)  # otherwise the check below reports the whole malformed word
    if i < n and _is_key_char(source[i]):
        end = i
        while end < n and _is_key_char(source[end]):
            end += 1
        _fail(source, what, start, f"malformed number {source[start:end]!r}")
    return float(source[start:i]), i


class _Parser:
    """Recursive descent over the token list; one method per grammar rule."""

    def __init__(self, source: str, what: str) -> None:
        self.source = source
        self.what = what
        self.tokens = _tokenize(source, what)
        self.index = 0
        self.terms = 0
        self.values = 0

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def advance(self) -> _Token:
        token = self.tokens[self.index]
        if token.kind is not _Kind.END:
            self.index += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.current
        return token.kind is _Kind.WORD and str(token.value).lower() in words

    def describe(self, token: _Token) -> str:
        return f"the end of the {self.what}" if token.kind is _Kind.END else repr(token.text)

    def fail(self, pos: int, message: str) -> NoReturn:
        _fail(self.source, self.what, pos, message)

    # -- boolean structure --------------------------------------------------------------------

    def expr(self, depth: int) -> Expr:
        if depth > MAX_DEPTH:
            self.fail(self.current.pos, f"the filter nests parentheses or NOT more than {MAX_DEPTH} deep")
        items = [self._and(depth)]
        while self.keyword("or"):
            self.advance()
            items.append(self._and(depth))
        return items[0] if len(items) == 1 else Or(items=tuple(items))

    def _and(self, depth: int) -> Expr:
        items = [self._unary(depth)]
        while self.keyword("and"):
            self.advance()
            items.append(self._unary(depth))
        return items[0] if len(items) == 1 else And(items=tuple(items))

    def _unary(self, depth: int) -> Expr:
        if self.keyword("not"):
            self.advance()
            if depth + 1 > MAX_DEPTH:
                self.fail(self.current.pos, f"the filter nests parentheses or NOT more than {MAX_DEPTH} deep")
            return Not(item=self._unary(depth + 1))
        if self.current.kind is _Kind.LPAREN:
            opening = self.advance()
            inner = self.expr(depth + 1)
            token = self.current
            if token.kind is _Kind.END:
                self.fail(opening.pos, "unbalanced parentheses: this '(' is never closed")
            if token.kind is not _Kind.RPAREN:
                self.fail(token.pos, f"expected ')', AND or OR, got {self.describe(token)}")
            self.advance()
            return inner
        return self._comparison()

    # -- comparisons ----------------------------------------------------------------------------

    def identifier(self) -> tuple[Entity, str, _Token]:
        """``prefix.key`` or a bare attribute name, resolved to an entity and a canonical key."""
        token = self.current
        if token.kind is _Kind.QUOTED_KEY:
            prefix, key = token.prefix, str(token.value)
        elif token.kind is _Kind.WORD and not self.keyword("and", "or", "not", "in", "is", "like", "ilike"):
            prefix, dot, key = str(token.value).partition(".")
            if not dot:
                if _attribute(prefix) is None:
                    self.fail(
                        token.pos,
                        f"{prefix!r} is not a column: write <prefix>.<key> with a prefix among "
                        f"{_prefix_list()}, or one of the attributes {_attribute_list()}",
                    )
                prefix, key = "attributes", prefix
        else:
            self.fail(token.pos, f"expected a column such as metrics.auc, got {self.describe(token)}")
        self.advance()
        entity = _PREFIXES.get(prefix.lower())
        if entity is None:
            self.fail(token.pos, f"unknown prefix {prefix!r}: use one of {_prefix_list()}")
        if not key:
            self.fail(
                token.pos + len(prefix) + 1,
                f"missing key after {prefix}.: write {prefix}.<key>, quoting a key that has spaces "
                f"with backticks or double quotes",
            )
        if entity is Entity.ATTRIBUTE:
            name = _attribute(key)
            if name is None:
                key_pos = token.pos + len(prefix) + 1 if token.text != key else token.pos
                self.fail(key_pos, f"unknown attribute {key!r}: valid attributes are {_attribute_list()}")
            key = name
        return entity, key, token

    def _comparison(self) -> Comparison:
        start = self.current.pos
        self.terms += 1
        if self.terms > MAX_FILTER_TERMS:
            self.fail(start, f"the filter has more than {MAX_FILTER_TERMS} comparisons; narrow it or split the search")
        entity, key, _ = self.identifier()
        op, op_token = self._operator()
        values: list[_Token] = []
        if op in (Op.IN, Op.NOT_IN):
            values = self._value_list(op)
        elif op not in (Op.IS_NULL, Op.IS_NOT_NULL):
            values = [self._value()]
        self.values += len(values)
        if self.values > MAX_FILTER_VALUES:
            self.fail(start, f"the filter compares with more than {MAX_FILTER_VALUES} values; narrow it")
        return _check(self, entity, key, op, op_token, values)

    def _operator(self) -> tuple[Op, _Token]:
        token = self.current
        if token.kind is _Kind.OP:
            self.advance()
            return _OPERATORS[str(token.value)], token
        word = str(token.value).lower() if token.kind is _Kind.WORD else ""
        if word in ("like", "ilike", "in"):
            self.advance()
            return {"like": Op.LIKE, "ilike": Op.ILIKE, "in": Op.IN}[word], token
        if word == "not":
            self.advance()
            if not self.keyword("in"):
                self.fail(
                    self.current.pos,
                    f"expected IN after NOT, got {self.describe(self.current)}; "
                    "to negate another comparison write NOT (<comparison>)",
                )
            self.advance()
            return Op.NOT_IN, token
        if word == "is":
            self.advance()
            negated = self.keyword("not")
            if negated:
                self.advance()
            if not self.keyword("null"):
                self.fail(self.current.pos, f"expected NULL or NOT NULL after IS, got {self.describe(self.current)}")
            self.advance()
            return (Op.IS_NOT_NULL if negated else Op.IS_NULL), token
        self.fail(
            token.pos,
            f"expected an operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN, IS NULL, IS NOT NULL), "
            f"got {self.describe(token)}",
        )

    def _value(self) -> _Token:
        token = self.current
        if token.kind in (_Kind.NUMBER, _Kind.STRING):
            return self.advance()
        if self.keyword("null"):
            self.fail(token.pos, "compare with NULL using IS NULL or IS NOT NULL")
        hint = f"; quote strings: '{token.text}'" if token.kind in (_Kind.WORD, _Kind.QUOTED_KEY) else ""
        self.fail(token.pos, f"expected a value (a number or a quoted string), got {self.describe(token)}{hint}")

    def _value_list(self, op: Op) -> list[_Token]:
        opening = self.current
        if opening.kind is not _Kind.LPAREN:
            self.fail(opening.pos, f"{op.value} takes a parenthesised list of values, such as ('a', 'b')")
        self.advance()
        if self.current.kind is _Kind.RPAREN:
            self.fail(self.current.pos, f"empty {op.value} list: give at least one value")
        values = [self._value()]
        while self.current.kind is _Kind.COMMA:
            self.advance()
            values.append(self._value())
        token = self.current
        if token.kind is _Kind.END:
            self.fail(opening.pos, "unbalanced parentheses: this '(' is never closed")
        if token.kind is not _Kind.RPAREN:
            self.fail(token.pos, f"expected ',' or ')' in the {op.value} list, got {self.describe(token)}")
        self.advance()
        return values


def _check(parser: _Parser, entity: Entity, key: str, op: Op, op_token: _Token, values: list[_Token]) -> Comparison:
    """Apply the type rules, then build the record with decoded values."""
    numeric = entity is Entity.METRIC or (entity is Entity.ATTRIBUTE and key in NUMERIC_ATTRIBUTES)
    subject = f"attributes.{key} compares" if entity is Entity.ATTRIBUTE else f"{entity.value} compare"
    if numeric and op not in _NUMERIC_OPS:
        parser.fail(op_token.pos, f"{subject} with numbers: {op.value} works only on params, tags and text attributes")
    if not numeric and op not in _STRING_OPS:
        parser.fail(
            op_token.pos,
            f"{subject} as strings: {op.value} is not supported; use =, !=, LIKE, ILIKE, IN or NOT IN",
        )
    for token in values:
        if numeric and token.kind is not _Kind.NUMBER:
            parser.fail(token.pos, f"{subject} with numbers, got string {token.text}")
        if not numeric and token.kind is not _Kind.STRING:
            parser.fail(token.pos, f"{subject} with strings, got number {token.text}; quote it: '{token.text}'")
    allowed = _ALLOWED_VALUES.get(key) if entity is Entity.ATTRIBUTE else None
    if allowed and op in (Op.EQ, Op.NE, Op.IN, Op.NOT_IN):
        for token in values:
            if token.value not in allowed:
                parser.fail(token.pos, f"attributes.{key} is one of {', '.join(allowed)}; got {token.text}")
    if op in (Op.LIKE, Op.ILIKE):
        pattern = str(values[0].value)
        if (len(pattern) - len(pattern.rstrip("\\"))) % 2:
            parser.fail(values[0].pos, "a LIKE pattern cannot end with its escape character '\\'")
    value: Value
    if op in (Op.IS_NULL, Op.IS_NOT_NULL):
        value = None
    elif op in (Op.IN, Op.NOT_IN):
        value = tuple(float(t.value) for t in values) if numeric else tuple(str(t.value) for t in values)
    else:
        value = values[0].value
    return Comparison(entity=entity, key=key, op=op, value=value)


def _attribute(name: str) -> str | None:
    lowered = name.lower()
    lowered = _ATTRIBUTE_ALIASES.get(lowered, lowered)
    return lowered if lowered in ATTRIBUTES else None


def _prefix_list() -> str:
    return "metrics., params., tags., attributes. (or metric., param., tag., attribute., attr., run.)"


def _attribute_list() -> str:
    return ", ".join(sorted(ATTRIBUTES)) + " (aliases: " + ", ".join(sorted(_ATTRIBUTE_ALIASES)) + ")"
