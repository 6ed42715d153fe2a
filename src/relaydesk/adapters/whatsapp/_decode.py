"""Decoding a webhook body into JSON values that storage and every later step can take.

`json.loads` lets through what storage refuses or a later step trips on: lone surrogates
(a cut emoji, "\\ud83d", as an escape or as raw bytes) that no database can encode, NUL
that PostgreSQL refuses in text, NaN/Infinity and floats that overflow to infinity that
PostgreSQL refuses in JSON, integers too long for `int()`, and nesting deep enough to
exhaust the recursion limit when the payload is serialised again. `load` gives the document
with lone surrogates replaced by U+FFFD, NUL removed, those numbers as null and containers
nested deeper than `MAX_DEPTH` as null, and a warning saying what it changed.

A normal UTF-8 body costs a strict decode, one regex search and two byte counts beyond the
JSON parse itself; the repair walk runs only when they find something.
"""

from __future__ import annotations

import json
import math
import re
import threading
from typing import Any

#: containers nested deeper than this become null (WhatsApp's own payloads nest about 8 deep)
MAX_DEPTH = 64

#: the JSON escape of a surrogate or of NUL
_ESCAPES = re.compile(r"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_POISON = re.compile("[\x00\ud800-\udfff]")
#: bodies with fewer brackets than this cannot nest deeper than MAX_DEPTH
_DEPTH_CHECK_FROM = MAX_DEPTH


class _Counts(threading.local):
    numbers = 0


_counts = _Counts()


def _finite_float(text: str) -> float | None:
    value = float(text)
    if math.isfinite(value):
        return value
    _counts.numbers += 1
    return None


def _bounded_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:  # more digits than sys.get_int_max_str_digits()
        _counts.numbers += 1
        return None


def _no_constant(name: str) -> None:
    _counts.numbers += 1


_DECODER = json.JSONDecoder(
    parse_float=_finite_float, parse_int=_bounded_int, parse_constant=_no_constant
)


def load(body: bytes) -> tuple[Any, str | None]:
    """The JSON document in `body`, repaired as the module docstring says, and a warning
    naming what was repaired (None when nothing was).

    Raises ValueError (not JSON, not decodable) or RecursionError like `json.loads`.
    """
    text, maybe_raw_surrogates = _text(body)
    _counts.numbers = 0
    doc = _DECODER.decode(text)
    numbers = _counts.numbers
    strings = deep = 0
    if (
        maybe_raw_surrogates
        or _ESCAPES.search(text) is not None
        or body.count(b"{") + body.count(b"[") > _DEPTH_CHECK_FROM
    ):
        doc, strings, deep = _repair(doc)
    if not (numbers or strings or deep):
        return doc, None
    done = []
    if strings:
        done.append(
            f"{strings} string(s) held a lone surrogate or NUL: "
            "lone surrogates became U+FFFD, NUL was removed"
        )
    if numbers:
        done.append(f"{numbers} number(s) were NaN, Infinity or too large to hold and became null")
    if deep:
        done.append(f"{deep} value(s) nested deeper than {MAX_DEPTH} levels became null")
    return doc, "body: " + "; ".join(done)


def _text(body: bytes) -> tuple[str, bool]:
    """(the body as text, True when it may hold raw surrogates). Strict UTF-8 first, as WhatsApp
    sends; else what `json.loads` would do: detect UTF-16/32 and let surrogates through."""
    if b"\x00" not in body[:4]:
        try:
            return body.decode("utf-8").removeprefix("\ufeff"), False
        except UnicodeDecodeError:
            pass
    return body.decode(json.detect_encoding(body), "surrogatepass"), True


def _repair(doc: Any) -> tuple[Any, int, int]:
    """(doc with poison strings and over-deep containers fixed, strings fixed, containers cut);
    iterative, so no depth of nesting can exhaust the stack."""
    root: list[Any] = [doc]
    stack: list[tuple[list[Any] | dict[Any, Any], int]] = [(root, 0)]
    strings = deep = 0
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            if any(_POISON.search(key) for key in node):
                items = [(_clean(key), value) for key, value in node.items()]
                strings += sum(1 for key in node if _POISON.search(key))
                node.clear()
                node.update(items)
            slots: Any = list(node.items())
        else:
            slots = list(enumerate(node))
        for slot, value in slots:
            if isinstance(value, str):
                if _POISON.search(value):
                    node[slot] = _clean(value)
                    strings += 1
            elif isinstance(value, dict | list):
                if depth >= MAX_DEPTH:
                    node[slot] = None
                    deep += 1
                else:
                    stack.append((value, depth + 1))
    return root[0], strings, deep


def _clean(text: str) -> str:
    """NUL removed; surrogate pairs joined into their character and lone ones as U+FFFD."""
    text = text.replace("\x00", "")
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
