"""Request JSON: parsed once, then checked for what no route can store or compute
with, so that every route refuses it with a 400 naming the field.

The rules (docs/decisions.md, "Hostile input"):
- nesting at most MAX_DEPTH levels (deeper input ran the recursive code
  downstream out of stack, and orjson refuses to write more than 254 levels);
- numbers are finite (no NaN / Infinity, no 1e400) and integers fit in a signed
  64-bit integer (what orjson writes, and PostgreSQL's BIGINT);
- strings and object keys hold no NUL (PostgreSQL cannot store one) and no lone
  UTF-16 surrogate (not encodable as UTF-8).
"""
from __future__ import annotations

import json
import math
import re

from ..errors import InvalidInput
from .fields import INT64_MAX, INT64_MIN

MAX_DEPTH = 64

# A NUL or a lone surrogate can only reach a parsed string through a `\u`
# escape (raw ones are invalid UTF-8 or unescaped control characters), so
# bodies without such an escape skip the per-string scan.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHAR = re.compile("[\x00\ud800-\udfff]")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{},:]', re.DOTALL)


def field_name(path) -> str:
    return ".".join(str(p) for p in path) if path else "body"


def _refuse(path, rule: str) -> InvalidInput:
    name = field_name(path)
    return InvalidInput(f"Invalid request: {name}: {rule}", field=name)


def string_problem(value: str) -> str | None:
    """Why a string cannot be accepted, or None."""
    bad = _BAD_CHAR.search(value)
    if bad is None:
        return None
    if bad.group() == "\x00":
        return "NUL characters (\\u0000) are not allowed."
    return f"lone surrogate \\u{ord(bad.group()):04x} is not a character."


def _number_problem(value) -> str | None:
    if type(value) is int:
        if INT64_MIN <= value <= INT64_MAX:
            return None
        return "integers must fit in 64 bits (-9223372036854775808 to 9223372036854775807)."
    if math.isfinite(value):
        return None
    return "numbers must be finite (NaN, Infinity and overflowing values are not JSON numbers)."


def _acceptable(value, scan_strings: bool) -> bool:
    """Whether the whole document keeps the rules: the fast pass, without paths
    (about 60 ms for 4,096 comments, beside 40 ms to parse them)."""
    stack = [(value, 1)]
    pop, push, isfinite, bad_char = stack.pop, stack.append, math.isfinite, _BAD_CHAR.search
    while stack:
        node, depth = pop()
        if depth > MAX_DEPTH:
            return False
        if type(node) is dict:
            if scan_strings and any(bad_char(key) for key in node):
                return False
            children = node.values()
        else:
            children = node
        for child in children:
            kind = type(child)
            if kind is str:
                if scan_strings and bad_char(child):
                    return False
            elif kind is dict or kind is list:
                push((child, depth + 1))
            elif kind is int:
                if not INT64_MIN <= child <= INT64_MAX:
                    return False
            elif kind is float and not isfinite(child):
                return False
    return True


def check(value, scan_strings: bool = True) -> None:
    """Raise InvalidInput naming the first value that breaks a rule."""
    if type(value) is not dict and type(value) is not list:
        _check_leaf(value, (), scan_strings)
        return
    if _acceptable(value, scan_strings):
        return
    _locate(value, scan_strings)


def _locate(value, scan_strings: bool) -> None:
    """The slow pass, building paths, for a document `_acceptable` refused."""
    stack = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) >= MAX_DEPTH:
            raise _refuse(path, f"nested deeper than {MAX_DEPTH} levels.")
        if type(node) is dict:
            items = node.items()
            if scan_strings:
                for key in node:
                    problem = string_problem(key)
                    if problem:
                        raise _refuse(path + (key.encode("utf-8", "backslashreplace").decode(),),
                                      "key: " + problem)
        else:
            items = enumerate(node)
        for key, child in items:
            kind = type(child)
            if kind is dict or kind is list:
                stack.append((child, path + (key,)))
            elif kind is str:
                if scan_strings:
                    problem = string_problem(child)
                    if problem:
                        raise _refuse(path + (key,), problem)
            elif kind is int or kind is float:
                problem = _number_problem(child)
                if problem:
                    raise _refuse(path + (key,), problem)


def _check_leaf(value, path, scan_strings):
    if type(value) is str and scan_strings:
        problem = string_problem(value)
        if problem:
            raise _refuse(path, problem)
    elif type(value) in (int, float):
        problem = _number_problem(value)
        if problem:
            raise _refuse(path, problem)


def _deep_path(text: str) -> tuple:
    """The path to the first container nested deeper than MAX_DEPTH, found by
    scanning tokens (the body was too deep for the recursive parser)."""
    stack: list[list] = []  # [kind, position, expecting_key]
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in "[{":
            if len(stack) >= MAX_DEPTH:
                return tuple(frame[1] for frame in stack)
            stack.append([token, None if token == "{" else 0, token == "{"])
        elif token in "]}":
            if stack:
                stack.pop()
        elif token == ",":
            if stack:
                if stack[-1][0] == "[":
                    stack[-1][1] += 1
                else:
                    stack[-1][2] = True
        elif token == ":":
            if stack:
                stack[-1][2] = False
        elif stack and stack[-1][0] == "{" and stack[-1][2]:
            try:
                stack[-1][1] = json.loads(token)
            except ValueError:
                stack[-1][1] = token[1:-1]
    return ()


def loads(data: bytes):
    """The JSON document in `data`, checked by `check`. Raises InvalidInput."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidInput(
            f"Invalid request: the body is not valid UTF-8 (byte {error.start})."
        ) from None
    try:
        value = json.loads(text)
    except RecursionError:
        raise _refuse(_deep_path(text), f"nested deeper than {MAX_DEPTH} levels.") from None
    except json.JSONDecodeError as error:
        raise InvalidInput(
            f"Invalid request: the body is not valid JSON (line {error.lineno}, column {error.colno})."
        ) from None
    except ValueError as error:  # an integer beyond Python's digit limit
        raise InvalidInput(f"Invalid request: the body is not valid JSON: {error}.") from None
    check(value, scan_strings=_SUSPECT_ESCAPE.search(data) is not None)
    return value
